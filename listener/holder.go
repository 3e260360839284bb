package listener

import (
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// holder keeps the messages the listener has taken and not yet settled, in one queue in
// arrival order, applied by a fixed number of workers. A worker takes the first queued event
// whose journey (its shard key) no other worker is applying, so that events for one journey are
// applied one at a time in stream order, a slow or hung journey holds up only its own events,
// and every worker is busy while any journey has work. (Hashing journeys onto one queue per
// worker left some workers idle while others had a backlog: with PostgreSQL's slower starts,
// 0.6 of the starts' rate.) add never blocks; the consumer's MaxAckPending bounds how many
// messages are held in all. keepAlive tells JetStream that the messages held longest are still
// being worked on, so none is redelivered while queued or applied.
type holder struct {
	ackWait time.Duration
	wg      sync.WaitGroup

	mu     sync.Mutex
	ready  *sync.Cond
	queue  []*heldJob            // waiting, in arrival order
	busy   map[string]bool       // shard keys being applied
	held   map[*heldJob]struct{} // queued or being applied
	closed bool
}

// heldJob is a job and the last time JetStream heard about its message. Its job's guard says
// whether the message is settled (acked or nakked), under the guard's lock, so that no
// InProgress is sent after the ack.
type heldJob struct {
	job
	touched time.Time
}

func newHolder(ackWait time.Duration, workers int, execute func(job)) *holder {
	h := &holder{ackWait: ackWait, busy: map[string]bool{}, held: map[*heldJob]struct{}{}}
	h.ready = sync.NewCond(&h.mu)
	for range workers {
		h.wg.Go(func() {
			for {
				hj, ok := h.next()
				if !ok {
					return
				}
				execute(hj.job)
				h.release(hj)
			}
		})
	}
	return h
}

// add queues a job.
func (h *holder) add(j job) {
	if j.guard == nil {
		j.guard = &settleGuard{}
	}
	hj := &heldJob{job: j, touched: time.Now()}
	h.mu.Lock()
	h.held[hj] = struct{}{}
	h.queue = append(h.queue, hj)
	h.mu.Unlock()
	h.ready.Signal()
}

// next waits for the first queued job whose journey is not being applied, and marks its journey
// busy; false once the holder is closed and empty.
func (h *holder) next() (*heldJob, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		for i, hj := range h.queue {
			if !h.busy[hj.shardKey] {
				h.queue = slices.Delete(h.queue, i, i+1)
				h.busy[hj.shardKey] = true
				return hj, true
			}
		}
		if h.closed && len(h.queue) == 0 {
			return nil, false
		}
		h.ready.Wait()
	}
}

// release forgets a job once its message is settled, and frees its journey for the next one.
func (h *holder) release(hj *heldJob) {
	hj.guard.mu.Lock()
	hj.guard.settled = true
	hj.guard.mu.Unlock()
	h.mu.Lock()
	delete(h.held, hj)
	delete(h.busy, hj.shardKey)
	h.mu.Unlock()
	h.ready.Broadcast()
}

// close lets the workers finish the queue, then returns.
func (h *holder) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.ready.Broadcast()
	h.wg.Wait()
}

// keepAlive, until stop, sends InProgress for every message held for more than a third of the
// ack wait since JetStream last heard of it, which restarts its ack wait.
func (h *holder) keepAlive(stop <-chan struct{}, log zerolog.Logger) {
	t := time.NewTicker(h.ackWait / 6)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			h.touch(now, log)
		}
	}
}

func (h *holder) touch(now time.Time, log zerolog.Logger) {
	h.mu.Lock()
	var due []*heldJob
	for hj := range h.held {
		if now.Sub(hj.touched) >= h.ackWait/3 {
			due = append(due, hj)
		}
	}
	h.mu.Unlock()
	for _, hj := range due {
		hj.guard.mu.Lock()
		if !hj.guard.settled {
			if err := hj.msg.InProgress(); err != nil {
				log.Warn().Err(err).Msg("in progress not sent; the event may come again and be recognised")
			}
			hj.touched = now
		}
		hj.guard.mu.Unlock()
	}
}

// attempts counts, per stream sequence, the times an event found no journey to signal. It lives
// in memory: a restarted listener counts again from zero, so an event gets more tries, never
// fewer.
type attempts struct {
	mu sync.Mutex
	n  map[uint64]attempt
}

type attempt struct {
	count int
	last  time.Time
}

// add counts one more attempt of seq and returns the count.
func (a *attempts) add(seq uint64) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = map[uint64]attempt{}
	}
	now := time.Now()
	// An entry untouched for an hour belongs to an event settled elsewhere: forget it.
	for s, e := range a.n {
		if now.Sub(e.last) > time.Hour {
			delete(a.n, s)
		}
	}
	e := a.n[seq]
	e.count++
	e.last = now
	a.n[seq] = e
	return e.count
}

func (a *attempts) forget(seq uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.n, seq)
}

// order holds back the later events of a journey while an earlier one waits to be retried: per
// shard key, the stream sequence of the earliest event that failed and is to come again. An
// entry is dropped once that event is applied or dead-lettered, or after an hour, in case it was
// settled by another listener.
type order struct {
	mu sync.Mutex
	by map[string]blocker
}

type blocker struct {
	seq   uint64
	since time.Time
}

func (o *order) blocker(key string) (uint64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, ok := o.by[key]
	if ok && time.Since(b.since) > time.Hour {
		delete(o.by, key)
		return 0, false
	}
	return b.seq, ok
}

func (o *order) block(key string, seq uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.by == nil {
		o.by = map[string]blocker{}
	}
	// The same event failing again renews its hold: an event still being retried (Temporal
	// down for hours) holds back its journey's later events however long it takes; only one
	// left alone for an hour (settled by another listener) is forgotten.
	if b, ok := o.by[key]; !ok || seq <= b.seq {
		o.by[key] = blocker{seq: seq, since: time.Now()}
	}
}

func (o *order) unblock(key string, seq uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if b, ok := o.by[key]; ok && b.seq == seq {
		delete(o.by, key)
	}
}
