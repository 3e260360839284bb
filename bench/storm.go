package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// careclockStorm starts b.storm claims whose 15-days-before reminder is due today at one notice
// time, a minute boundary at least lead ahead, with the policy's notices spread over spread
// minutes (0: none). It reports journey events on NATS per second after the notice time and how
// late each event was stored on the JOURNEYS stream after the instant it was due (its
// data.scheduledAt; its time is when careclock published it).
func (b *bench) careclockStorm(ctx context.Context, name string, spread int, lead time.Duration) error {
	policy := rules.DefaultPolicy()
	t := time.Now().Add(lead).In(policy.Zone()).Truncate(time.Minute).Add(time.Minute)
	policy.NoticeHour, policy.NoticeMinute, policy.NoticeSpreadMinutes = t.Hour(), t.Minute(), spread
	if err := policy.Validate(); err != nil {
		return fmt.Errorf("storm policy at %s: %w", t.Format(time.TimeOnly), err)
	}
	today := policy.Today(t)
	if err := b.s.StopListener(); err != nil {
		return err
	}
	l := b.s.NewListener()
	l.Policies = rules.BookOf(policy, rules.Date{})
	b.s.StartListener(l)
	seq0, err := b.streamSeq(ctx)
	if err != nil {
		return err
	}
	journeys, err := b.streamState(ctx, events.JourneyStream)
	if err != nil {
		return err
	}
	started := time.Now().Add(-time.Second) // the storm's journeys start after this
	submitted := today.AddDays(-(policy.Reimbursement.DueDays - 15))
	b.stormsRun++
	// The storm's journeys, by workflow id: a journey event's subject. Other journeys (the scale
	// scenario's, open by the hundred thousand) may publish during the storm; their events are
	// not the storm's.
	waiting := make(map[string]bool, b.storm)
	for i := range b.storm {
		id := fmt.Sprintf("storm-%d-%d", b.stormsRun, i)
		st, err := b.claimStart(id, submitted)
		if err != nil {
			return err
		}
		waiting[st.WorkflowID] = true
		if err := b.publishClaim(ctx, id, submitted); err != nil {
			return err
		}
	}
	if err := b.waitAcked(ctx, seq0+uint64(b.storm), 10*time.Minute); err != nil {
		return err
	}
	if time.Now().After(t) {
		return fmt.Errorf("journeys were still starting at T (%s); lower -storm", t.Format(time.TimeOnly))
	}
	// The journeys and their members' directories started in the last minutes leave workflow
	// tasks queued; a storm that began with them would measure their starts too.
	before, err := b.queuedAt(ctx, t)
	if err != nil {
		return err
	}
	b.log.Info().Str("storm", name).Msg(before)
	profiled := b.profileServer(ctx, name, t)
	ids := slices.Collect(maps.Keys(waiting)) // stormEvents empties waiting
	late, lastAt, err := b.stormEvents(ctx, journeys.LastSeq+1, waiting, t.Add(b.drainWithin()))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	took := lastAt.Sub(t)
	// A journey's step is done when it waits for its next event again, as operators see it: its
	// CareclockNextAt in visibility has moved past T.
	stepped := fmt.Sprintf("%s > '%s' AND StartTime >= '%s' AND ExecutionStatus = 'Running'",
		workflows.AttrNextAt.GetName(), t.UTC().Format(time.RFC3339), started.UTC().Format(time.RFC3339))
	steps, err := waitFor(t, b.drainWithin(), func() (bool, error) {
		r, err := b.s.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: stepped})
		return r.GetCount() >= int64(b.storm), err
	})
	if err != nil {
		return fmt.Errorf("%s: steps: %w", name, err)
	}
	q := func(f float64) float64 { return late[int(f*float64(len(late)-1))].Seconds() }
	if spread == 0 {
		b.add(Result{Scenario: name, N: b.storm, Value: float64(b.storm) / took.Seconds(), Unit: "journey events on NATS/s after T",
			Note: fmt.Sprintf("last on NATS %.1f s after T; %s", took.Seconds(), before)})
		b.add(Result{Scenario: name + ": steps", N: b.storm, Value: float64(b.storm) / steps.Seconds(), Unit: "journey steps done/s after T",
			Note: fmt.Sprintf("last waiting for its next event %.1f s after T (visibility)", steps.Seconds())})
	}
	b.add(Result{Scenario: name + ": lateness p99", N: b.storm, Value: q(0.99), Unit: "s after it was due",
		Note: fmt.Sprintf("median %.1f s, max %.1f s; notices spread over %d min; %s", q(0.5), q(1), spread, before)})
	return errors.Join(profiled(), b.addStickyTimeouts(ctx, name, ids))
}

// stormEvents reads the JOURNEYS stream from seq until it has read one event of each journey
// waiting, deleting each from waiting as its event is read and skipping every other event, and
// returns, in order, how long after the instant it was due
// (data.scheduledAt) each was stored, and when the last was stored. (Before the event contract's
// change, an event's time was that instant; since, it is when careclock published it, which
// would read about 0.)
func (b *bench) stormEvents(ctx context.Context, seq uint64, waiting map[string]bool, deadline time.Time) ([]time.Duration, time.Time, error) {
	c, err := b.s.JS.OrderedConsumer(ctx, events.JourneyStream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: seq,
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	late := make([]time.Duration, 0, len(waiting))
	var last time.Time
	for len(waiting) > 0 {
		if time.Now().After(deadline) {
			return nil, time.Time{}, fmt.Errorf("%d of the storm's %d journey events on NATS by %s", len(late), len(late)+len(waiting), deadline.Format(time.TimeOnly))
		}
		batch, err := c.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if transientFetch(err) {
			// A 3-replica stream's leader busy or moving under the storm's load: the run of
			// 2026-12-04 lost its careclock storm to one "no responders". The ordered
			// consumer goes on after the last event it delivered.
			b.log.Warn().Err(err).Msg("reading the storm's events again")
			time.Sleep(time.Second)
			continue
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		for msg := range batch.Messages() {
			meta, err := msg.Metadata()
			if err != nil {
				return nil, time.Time{}, err
			}
			var ev struct {
				Subject string `json:"subject"`
				Data    struct {
					ScheduledAt time.Time `json:"scheduledAt"`
				} `json:"data"`
			}
			if err := json.Unmarshal(msg.Data(), &ev); err != nil {
				return nil, time.Time{}, fmt.Errorf("journey event %d: %w", meta.Sequence.Stream, err)
			}
			if !waiting[ev.Subject] {
				continue // another journey's, or a second event of one already read
			}
			if ev.Data.ScheduledAt.IsZero() {
				return nil, time.Time{}, fmt.Errorf("journey event %d has no data.scheduledAt", meta.Sequence.Stream)
			}
			delete(waiting, ev.Subject)
			late = append(late, meta.Timestamp.Sub(ev.Data.ScheduledAt))
			last = meta.Timestamp
		}
		if err := batch.Error(); err != nil && !transientFetch(err) {
			return nil, time.Time{}, err
		}
	}
	slices.Sort(late)
	return late, last, nil
}

// transientFetch tells a fetch that failed for a moment from one that cannot go on.
func transientFetch(err error) bool {
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoHeartbeat) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}

// storms: the bare storm, then careclock's, for each sticky timeout of -sticky in turn within
// each round, so that the timeouts' storms are paired in time. Each instant is far enough ahead
// for every workflow to be started and waiting before it.
func (b *bench) storms(ctx context.Context) error {
	lead := 20*time.Second + time.Duration(b.storm)*30*time.Millisecond
	// careclock's storm starts twice the workflows (each claim's journey, and its member's
	// directory) before its instant, and on PostgreSQL with the scale scenario's journeys open
	// 10,000 claims took over 3 minutes to start.
	ccLead := 20*time.Second + time.Duration(b.storm)*60*time.Millisecond
	rounds := b.rounds
	if b.suffix == stockSuffix {
		rounds = 1 // the stock server only gives the order of magnitude of the tuning
	}
	sticky := b.sticky
	if b.suffix == stockSuffix || len(sticky) == 0 {
		sticky = []time.Duration{0} // the stock worker's, or careclock's own
	}
	if err := b.setSticky(sticky[0]); err != nil {
		return err
	}
	if rounds == 0 { // -rounds 0: the spread storm alone
		return b.careclockStorm(ctx, "spread storm", b.spread, ccLead)
	}
	// A warm-up storm first: on PostgreSQL the first timer storm after the server starts ran at
	// a fifth of the later ones, which made the first pair meaningless.
	if _, err := b.rawStormOf(ctx, max(b.storm/5, 20), lead); err != nil {
		return fmt.Errorf("warm-up storm: %w", err)
	}
	raw, cc, steps := make([][]float64, len(sticky)), make([][]float64, len(sticky)), make([][]float64, len(sticky))
	for r := range rounds {
		for i, d := range sticky {
			if err := b.setSticky(d); err != nil {
				return err
			}
			sfx := b.suffix + stickySuffix(sticky, d)
			x, err := b.rawStorm(ctx, "raw storm"+sfx+fmt.Sprintf(" #%d", r+1), lead)
			if err != nil {
				return err
			}
			name := fmt.Sprintf("careclock storm%s #%d", sfx, r+1)
			if err := b.careclockStorm(ctx, name, 0, ccLead); err != nil {
				return err
			}
			raw[i] = append(raw[i], x)
			cc[i] = append(cc[i], b.value(name))
			steps[i] = append(steps[i], b.value(name+": steps"))
		}
	}
	for i, d := range sticky {
		sfx := b.suffix + stickySuffix(sticky, d)
		b.add(Result{Scenario: "raw storm" + sfx, N: b.storm, Value: median(raw[i]), Unit: "completions/s after T",
			Note: "median of " + list(raw[i], "%.0f")})
		b.add(Result{Scenario: "careclock storm" + sfx, N: b.storm, Value: median(cc[i]), Unit: "journey events on NATS/s after T",
			Note: "median of " + list(cc[i], "%.0f")})
		b.add(Result{Scenario: "careclock storm" + sfx + ": steps", N: b.storm, Value: median(steps[i]), Unit: "journey steps done/s after T",
			Note: "median of " + list(steps[i], "%.0f")})
		b.paired("careclock ÷ raw storm"+sfx, cc[i], raw[i])
		b.paired("careclock steps ÷ raw storm"+sfx, steps[i], raw[i])
		if i > 0 {
			base := stickySuffix(sticky, sticky[0])
			b.paired("careclock storm"+sfx+" ÷ careclock storm"+base, cc[i], cc[0])
			b.paired("raw storm"+sfx+" ÷ raw storm"+base, raw[i], raw[0])
		}
	}
	if err := b.setSticky(sticky[0]); err != nil {
		return err
	}
	if b.spread > 0 && b.suffix == "" {
		return b.careclockStorm(ctx, "spread storm", b.spread, ccLead)
	}
	return nil
}

// stickySuffix names a storm's sticky timeout d when the run compares more than one.
func stickySuffix(all []time.Duration, d time.Duration) string {
	if len(all) < 2 {
		return ""
	}
	return fmt.Sprintf(" (sticky %s)", d)
}

// setSticky restarts careclock's worker and the bare workflows' with a sticky schedule-to-start
// timeout of d (0: careclock's own), when it is not the one they run with.
func (b *bench) setSticky(d time.Duration) error {
	if d == b.stickyNow {
		return nil
	}
	b.s.StopWorker()
	b.s.SetStickyTimeout(d)
	b.stickyNow = d
	if err := b.s.StartWorker(); err != nil {
		return err
	}
	return b.startRawWorker()
}

// stickyTimeouts reads the histories of up to 300 of ids and says how many of their workflow
// tasks timed out waiting on a worker's sticky queue (schedule-to-start), per 100 workflows.
func (b *bench) stickyTimeouts(ctx context.Context, ids []string) (per100 float64, read int, err error) {
	slices.Sort(ids)
	if len(ids) > 300 {
		ids = ids[:300]
	}
	timedOut := 0
	for _, id := range ids {
		it := b.s.Client.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return 0, 0, fmt.Errorf("history of %s: %w", id, err)
			}
			if a := ev.GetWorkflowTaskTimedOutEventAttributes(); a != nil && a.GetTimeoutType() == enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
				timedOut++
			}
		}
	}
	if len(ids) == 0 {
		return 0, 0, nil
	}
	return 100 * float64(timedOut) / float64(len(ids)), len(ids), nil
}

// rawStorm starts b.storm bare workflows that each wait for one instant, then run one activity,
// and returns completions per second after that instant.
func (b *bench) rawStorm(ctx context.Context, name string, lead time.Duration) (float64, error) {
	x, err := b.rawStormOf(ctx, b.storm, lead)
	if err != nil {
		return 0, err
	}
	ids := make([]string, b.storm)
	for i := range ids {
		ids[i] = rawID(rawStormPrefix(b.rawStorms), i)
	}
	b.add(Result{Scenario: name, N: b.storm, Value: x, Unit: "completions/s after T"})
	return x, b.addStickyTimeouts(ctx, name, ids)
}

// addStickyTimeouts adds the storm's sticky schedule-to-start timeouts per 100 workflows, read
// from a sample of their histories: the server's cost of a worker not served within its sticky
// timeout (docs/performance.md, Tuning).
func (b *bench) addStickyTimeouts(ctx context.Context, name string, ids []string) error {
	per100, read, err := b.stickyTimeouts(ctx, ids)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	b.add(Result{Scenario: name + ": sticky timeouts", N: read, Value: per100, Unit: "per 100 workflows",
		Note: fmt.Sprintf("workflow tasks timed out schedule-to-start, in the histories of %d of the storm's workflows", read)})
	return nil
}

func (b *bench) rawStormOf(ctx context.Context, n int, lead time.Duration) (float64, error) {
	at := time.Now().Add(lead)
	counted.Store(0)
	b.rawStorms++
	if _, err := b.startAll(ctx, n, rawStormPrefix(b.rawStorms), "timerNoop", at); err != nil {
		return 0, err
	}
	name := fmt.Sprintf("raw storm %d", b.rawStorms)
	before, err := b.queuedAt(ctx, at)
	if err != nil {
		return 0, err
	}
	b.log.Info().Str("storm", name).Msg(before)
	profiled := func() error { return nil }
	if n == b.storm { // not the warm-up's
		profiled = b.profileServer(ctx, name, at)
	}
	took, err := waitFor(at, b.drainWithin(), func() (bool, error) { return counted.Load() >= int64(n), nil })
	if err != nil {
		return 0, fmt.Errorf("raw storm: %d of %d done: %w", counted.Load(), n, err)
	}
	return float64(n) / took.Seconds(), profiled()
}

// rawStormPrefix is the prefix of the k-th raw storm's workflow ids (startAll, rawID).
func rawStormPrefix(k int) string { return fmt.Sprintf("storm-%d", k) }

// queuedAt waits until the worker has no task queued, or until the storm's instant at, and says
// which it was.
func (b *bench) queuedAt(ctx context.Context, at time.Time) (string, error) {
	left, err := b.quietBy(ctx, at)
	switch {
	case err != nil:
		return "", err
	case left > 0:
		return fmt.Sprintf("%d tasks still queued at T", left), nil
	}
	return fmt.Sprintf("worker caught up %.0f s before T", time.Until(at).Seconds()), nil
}

// drainWithin is how long a storm may take to drain after its instant before the run gives up:
// 15 minutes, or 150 ms a workflow for a larger storm (10,000 on PostgreSQL drained at 17 a
// second on these two cores, about 10 minutes).
func (b *bench) drainWithin() time.Duration {
	return max(15*time.Minute, time.Duration(b.storm)*150*time.Millisecond)
}

// waitFor waits until done, and returns how long after at that was.
func waitFor(at time.Time, within time.Duration, done func() (bool, error)) (time.Duration, error) {
	for deadline := at.Add(within); ; time.Sleep(20 * time.Millisecond) {
		ok, err := done()
		if err != nil {
			return 0, err
		}
		if ok {
			return time.Since(at), nil
		}
		if time.Now().After(deadline) {
			return 0, errors.New("not done in time")
		}
	}
}
