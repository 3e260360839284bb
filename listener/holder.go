package listener

import (
	"hash/fnv"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// holder keeps the messages the listener has taken and not yet settled: one FIFO queue per
// shard, each drained by its own goroutine, so that events for one journey are applied in stream
// order and a slow shard delays only its own events. add never blocks; the consumer's
// MaxAckPending bounds how many messages are held in all. keepAlive tells JetStream that the
// messages held longest are still being worked on, so none is redelivered while queued or
// applied.
type holder struct {
	ackWait time.Duration
	shards  []*shard
	wg      sync.WaitGroup

	mu   sync.Mutex
	held map[*heldJob]struct{}
}

// heldJob is a job and the last time JetStream heard about its message.
type heldJob struct {
	job
	mu      sync.Mutex
	settled bool
	touched time.Time
}

type shard struct {
	mu     sync.Mutex
	queue  []*heldJob
	closed bool
	wake   chan struct{}
}

func newHolder(ackWait time.Duration, shards int, execute func(job)) *holder {
	h := &holder{ackWait: ackWait, held: map[*heldJob]struct{}{}}
	for range shards {
		s := &shard{wake: make(chan struct{}, 1)}
		h.shards = append(h.shards, s)
		h.wg.Go(func() {
			for {
				hj, ok := s.next()
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

// add queues a job on its shard.
func (h *holder) add(j job) {
	hj := &heldJob{job: j, touched: time.Now()}
	h.mu.Lock()
	h.held[hj] = struct{}{}
	h.mu.Unlock()
	f := fnv.New32a()
	f.Write([]byte(j.shardKey))
	s := h.shards[f.Sum32()%uint32(len(h.shards))]
	s.mu.Lock()
	s.queue = append(s.queue, hj)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// next waits for the shard's next job; false once the shard is closed and empty.
func (s *shard) next() (*heldJob, bool) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			hj := s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return hj, true
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return nil, false
		}
		<-s.wake
	}
}

// release forgets a job once its message is settled.
func (h *holder) release(hj *heldJob) {
	hj.mu.Lock()
	hj.settled = true
	hj.mu.Unlock()
	h.mu.Lock()
	delete(h.held, hj)
	h.mu.Unlock()
}

// close lets every shard finish its queue, then returns.
func (h *holder) close() {
	for _, s := range h.shards {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
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
		hj.mu.Lock()
		if !hj.settled {
			if err := hj.msg.InProgress(); err != nil {
				log.Warn().Err(err).Msg("in progress not sent; the event may come again and be recognised")
			}
			hj.touched = now
		}
		hj.mu.Unlock()
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
	if b, ok := o.by[key]; !ok || seq < b.seq {
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
