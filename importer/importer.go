// Package importer takes in a plan's open work at go-live (`starter import`): it reads the plan's
// export (CloudEvents, or a CSV per starting event type), and starts and signals each item's
// journeys as the listener would, with the go-live date in each journey started, so that what fell
// due before go-live is recorded as skipped and not sent again (workflows.State.GoLive).
//
// An import is idempotent (a journey that exists is not started again, and a journey applies an
// event id once), resumable from a checkpoint, paced so that the live listener keeps its share of
// Temporal, and never stopped by a bad row: each is refused with its reason, in a file the plan can
// correct and feed again.
package importer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/time/rate"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/listener"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// Defaults of the Importer's settings.
const (
	// DefaultRate leaves the listener most of what Temporal on PostgreSQL starts in a second
	// (about 120 journeys: docs/performance.md).
	DefaultRate        = 50
	DefaultConcurrency = 16
	// DefaultMaxBacklog is the worker's queued workflow tasks above which the import waits. A
	// journey's timer that fires while the import runs is a task in the same queue: on
	// PostgreSQL, 100,000 items imported at 60 a second left 52,000 tasks queued and 30 minutes
	// behind (docs/performance.md). 1,000 tasks is about 12 s of this machine's worker.
	DefaultMaxBacklog = 1000
	// DefaultRetryFor is how long an item Temporal does not take (down, timing out) is tried
	// before the import stops, to be resumed.
	DefaultRetryFor = 2 * time.Minute
)

// Importer applies a plan's open items. Its fields are its dependencies and settings.
type Importer struct {
	// Deliver applies an event's route: the listener's (listener.Listener.Deliver).
	Deliver func(ctx context.Context, ev events.Event, r workflows.Route) (string, error)
	Keyer   privacy.Keyer
	// Book is the dated policy; each journey takes the block in force on its starting fact's date.
	Book rules.Book
	// GoLive is the go-live date: every journey started carries it (workflows.State.GoLive).
	GoLive rules.Date
	// Rate bounds the items applied per second (0: DefaultRate; negative: no bound).
	Rate float64
	// Concurrency is how many items are applied at once (0: DefaultConcurrency). Items of one
	// journey, or of one member's journeys, are applied one at a time, in their order in the
	// input, as the listener applies them.
	Concurrency int
	// Backlog reports the worker's queued workflow tasks (nil: not watched). While it is over
	// MaxBacklog (0: DefaultMaxBacklog), the import applies nothing new, so that the journeys
	// already running, whose notices fall due meanwhile, are not kept waiting behind it. Temporal
	// serves the count from a cache of up to 5 s, so the queue may pass the bound by what the
	// import adds in that time.
	Backlog    func(context.Context) (int64, error)
	MaxBacklog int64
	// RetryFor bounds how long an item is tried again when Temporal does not take it for a
	// reason of its own (0: DefaultRetryFor); then the import stops, and a rerun resumes it.
	RetryFor time.Duration
	// Refuse records a refused item with its reason (nil: not recorded).
	Refuse func(it Item, reason string) error
	// Checkpoint records that the first done items are settled (nil: not recorded).
	Checkpoint func(done int) error
	// Progress is told how far the import is, about every ProgressEvery (default 1 s).
	Progress      func(Progress)
	ProgressEvery time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// backlogEvery is how often the backlog is read (0: every second; tests shorten it).
	backlogEvery time.Duration
	// notFoundWait is the first wait before an item for a journey not found is asked again
	// (0: half a second; tests shorten it).
	notFoundWait time.Duration
}

// Progress is how far an import is.
type Progress struct {
	Done, Total int
	// From is the items a resumed import found settled already, counted in Done.
	From    int
	Elapsed time.Duration
	// Backlog is the worker's queued workflow tasks while the import waits for it to take them
	// (Importer.MaxBacklog); 0 while it does not wait.
	Backlog int64
}

// Rate is the items settled per second in this run.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Done-p.From) / p.Elapsed.Seconds()
}

// ETA is the time left at the current rate (0 when unknown).
func (p Progress) ETA() time.Duration {
	r := p.Rate()
	if r <= 0 {
		return 0
	}
	return time.Duration(float64(p.Total-p.Done) / r * float64(time.Second)).Round(time.Second)
}

// Summary is what an import did, item by item.
type Summary struct {
	Total int
	// Resumed is the items a resumed import found settled by the run before.
	Resumed int
	// Started counts items that started at least one journey; AlreadyThere those whose every
	// journey existed already, running or ended since (a rerun); Signalled those applied to
	// journeys that existed; NoEffect valid items that concern no journey (a member enrolled who
	// is not CCS-eligible).
	Started, AlreadyThere, Signalled, NoEffect int
	// Refused counts refused items, and Reasons each reason's count.
	Refused int
	Reasons map[string]int
}

// result is how one item was settled.
type result struct {
	index   int
	outcome string // a listener outcome, or "refused"
	reason  string
	err     error // not settled: the import stops
}

const outcomeRefused = "refused"

// job is an item ready to apply.
type job struct {
	index int
	ev    events.Event
	route workflows.Route
}

// Run applies items[from:], in order per journey, and returns what it did. It returns early, with
// an error and what was done so far, when ctx ends or Temporal does not take an item within
// RetryFor; the checkpoint then says where a rerun resumes.
func (im *Importer) Run(ctx context.Context, items []Item, from int) (Summary, error) {
	now := im.Now
	if now == nil {
		now = time.Now
	}
	sum := Summary{Total: len(items), Resumed: from, Reasons: map[string]int{}}
	workers := cmp.Or(im.Concurrency, DefaultConcurrency)
	limit := rate.Inf
	if im.Rate >= 0 {
		limit = rate.Limit(cmp.Or(im.Rate, DefaultRate))
	}
	limiter := rate.NewLimiter(limit, workers)
	waiting := new(atomic.Int64) // the backlog the import waits on; 0 while it does not
	results := make(chan result, workers)
	// Dispatch stops when ctx ends or an item cannot be applied.
	dispatch, stopDispatch := context.WithCancel(ctx)
	defer stopDispatch()
	shards := make([]chan job, workers)
	var wg sync.WaitGroup
	// Items in hand are finished when ctx ends, not abandoned half-applied: a stopped import
	// has applied each item wholly or not at all as far as its checkpoint says.
	applyCtx, stopApplying := context.WithCancel(context.WithoutCancel(ctx))
	defer stopApplying()
	for i := range shards {
		shards[i] = make(chan job, 1)
		wg.Go(func() {
			for j := range shards[i] {
				results <- im.apply(applyCtx, j)
			}
		})
	}
	go func() {
		defer func() {
			for _, s := range shards {
				close(s)
			}
			wg.Wait()
			close(results)
		}()
		today := im.book().Latest().Today(now())
		var checked time.Time
		for i := from; i < len(items); i++ {
			j, reason := im.prepare(items[i], i, today)
			if reason != "" {
				results <- result{index: i, outcome: outcomeRefused, reason: reason}
				continue
			}
			if err := limiter.Wait(dispatch); err != nil {
				return // stopped
			}
			if im.Backlog != nil && time.Since(checked) >= cmp.Or(im.backlogEvery, time.Second) {
				if err := im.waitForWorker(dispatch, waiting); err != nil {
					if dispatch.Err() == nil {
						results <- result{index: i, err: err}
					}
					return
				}
				checked = time.Now()
			}
			h := fnv.New32a()
			_, _ = h.Write([]byte(cmp.Or(j.route.OrderKey(), fmt.Sprint(i))))
			select {
			case shards[h.Sum32()%uint32(workers)] <- j:
			case <-dispatch.Done():
				return
			}
		}
	}()
	return im.collect(ctx, items, from, results, sum, now, stopDispatch, waiting)
}

// WorkflowBacklog reads the workflow tasks queued on the journeys' task queue: an Importer's
// Backlog.
func WorkflowBacklog(c client.Client, namespace, queue string) func(context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		return TaskQueueBacklog(ctx, c, namespace, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	}
}

// TaskQueueBacklog is the tasks of a type queued on a task queue: Temporal's approximate count,
// from the task queue's statistics.
func TaskQueueBacklog(ctx context.Context, c client.Client, namespace, queue string, t enumspb.TaskQueueType) (int64, error) {
	resp, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace: namespace, TaskQueue: &taskqueuepb.TaskQueue{Name: queue}, TaskQueueType: t, ReportStats: true})
	if err != nil {
		return 0, fmt.Errorf("describe task queue %s: %w", queue, err)
	}
	return resp.GetStats().GetApproximateBacklogCount(), nil
}

// waitForWorker returns once the worker's backlog is at most MaxBacklog. A backlog that cannot
// be read for RetryFor stops the import, as an item Temporal does not take does.
func (im *Importer) waitForWorker(ctx context.Context, waiting *atomic.Int64) error {
	defer waiting.Store(0)
	every := cmp.Or(im.backlogEvery, time.Second)
	var failing time.Time
	for {
		n, err := im.Backlog(ctx)
		switch {
		case err == nil && n <= cmp.Or(im.MaxBacklog, DefaultMaxBacklog):
			return nil
		case err == nil:
			waiting.Store(n)
			failing = time.Time{}
		case failing.IsZero():
			failing = time.Now()
		case time.Since(failing) > cmp.Or(im.RetryFor, DefaultRetryFor):
			return fmt.Errorf("the worker's backlog: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// collect settles each result: counts it, records a refusal, moves the checkpoint past every
// item settled in order, and reports progress.
func (im *Importer) collect(ctx context.Context, items []Item, from int, results <-chan result, sum Summary, now func() time.Time, stop func(), waiting *atomic.Int64) (Summary, error) {
	settled := make([]bool, len(items))
	done, count := from, from
	began := now()
	every := cmp.Or(im.ProgressEvery, time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	report := func() {
		if im.Progress != nil {
			im.Progress(Progress{Done: count, Total: len(items), From: from, Elapsed: now().Sub(began), Backlog: waiting.Load()})
		}
	}
	checkpoint := func() error {
		if im.Checkpoint == nil {
			return nil
		}
		return im.Checkpoint(done)
	}
	var failed error
	for {
		select {
		case r, ok := <-results:
			if !ok {
				report()
				if err := checkpoint(); err != nil && failed == nil {
					failed = err
				}
				if failed == nil && done < len(items) {
					failed = cmp.Or(ctx.Err(), errors.New("import stopped before its end"))
				}
				return sum, failed
			}
			if r.err != nil {
				if failed == nil {
					failed = r.err
					stop()
				}
				continue // not settled: the checkpoint stays before it
			}
			switch r.outcome {
			case listener.OutcomeStarted:
				sum.Started++
			case listener.OutcomeDuplicate:
				sum.AlreadyThere++
			case listener.OutcomeSignalled:
				sum.Signalled++
			case listener.OutcomeNoEffect:
				sum.NoEffect++
			case outcomeRefused:
				sum.Refused++
				sum.Reasons[r.reason]++
				if im.Refuse != nil {
					if err := im.Refuse(items[r.index], r.reason); err != nil {
						if failed == nil {
							failed = fmt.Errorf("record a refusal: %w", err)
							stop()
						}
						continue
					}
				}
			}
			settled[r.index] = true
			count++
			for done < len(items) && settled[done] {
				done++
			}
		case <-tick.C:
			report()
			if err := checkpoint(); err != nil && failed == nil {
				failed = err
			}
		}
	}
}

func (im *Importer) book() rules.Book {
	if len(im.Book) == 0 {
		return rules.DefaultBook()
	}
	return im.Book
}

// prepare reads and routes an item as the listener does, or says why it is refused.
func (im *Importer) prepare(it Item, index int, today rules.Date) (job, string) {
	if it.Bad != "" {
		return job{}, it.Bad
	}
	ev, payload, err := events.Decode(it.Event, today)
	switch {
	case err != nil:
		return job{}, err.Error()
	case len(ev.ID) > listener.DefaultMaxIDLength:
		return job{}, fmt.Sprintf("id of %d bytes; the limit is %d", len(ev.ID), listener.DefaultMaxIDLength)
	case len(ev.Source) > listener.DefaultMaxIDLength:
		return job{}, fmt.Sprintf("source of %d bytes; the limit is %d", len(ev.Source), listener.DefaultMaxIDLength)
	}
	route, err := workflows.RouteEvent(ev, payload, im.Keyer, im.book())
	switch {
	case errors.Is(err, workflows.ErrNoJourney):
		return job{}, "no journey handles type " + ev.Type
	case err != nil:
		return job{}, err.Error()
	}
	for i := range route.Starts {
		route.Starts[i] = route.Starts[i].WithGoLive(im.GoLive)
	}
	return job{index: index, ev: ev, route: route}, ""
}

// notFoundAttempts is how many times an item for a journey that does not exist is asked again
// before it is refused: 7.5 s in all.
const notFoundAttempts = 5

// apply delivers one item, trying again while Temporal does not take it for a reason of its own.
func (im *Importer) apply(ctx context.Context, j job) result {
	retryFor := cmp.Or(im.RetryFor, DefaultRetryFor)
	deadline := time.Now().Add(retryFor)
	wait := time.Second
	notFound := 0
	for {
		callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		outcome, err := im.Deliver(callCtx, j.ev, j.route)
		cancel()
		switch {
		case err == nil:
			return result{index: j.index, outcome: outcome}
		case errors.Is(err, listener.ErrNotFoundYet) && notFound < notFoundAttempts:
			// Its start may be earlier in the import but applied under another order key (a
			// member's journey is ordered by its member): asked again, as the listener does.
			notFound++
			select {
			case <-time.After(time.Duration(notFound) * cmp.Or(im.notFoundWait, 500*time.Millisecond)):
			case <-ctx.Done():
			}
			continue
		case errors.Is(err, listener.ErrNotFoundYet):
			return result{index: j.index, outcome: outcomeRefused,
				reason: "no open journey for this event: its start is neither running nor earlier in the import"}
		case listener.Permanent(err):
			return result{index: j.index, outcome: outcomeRefused, reason: "refused by Temporal as invalid: " + listener.Refusal(err)}
		case time.Now().Add(wait).After(deadline) || ctx.Err() != nil:
			return result{index: j.index, err: fmt.Errorf("item %d not taken by Temporal for %s: %w", j.index+1, retryFor, err)}
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, 15*time.Second)
	}
}
