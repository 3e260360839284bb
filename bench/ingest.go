package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/importer"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

func (b *bench) starts(ctx context.Context) error {
	took, err := b.startAll(ctx, b.n, "noop", "noop")
	if err != nil {
		return err
	}
	b.add(Result{Scenario: "starts", N: b.n, Value: float64(b.n) / took.Seconds(), Unit: "starts/s",
		Note: fmt.Sprintf("%d in flight", b.c)})
	return nil
}

// ingest compares the listener's ingest with bare starts, measured alternately after a warm-up
// so that a drift over the run (a warming server, a growing database, a noisy neighbour) falls on
// both: each round runs N bare starts, N bare starts with a journey's search attributes and
// summary, N claims' journeys started through the SDK as the listener starts them (the same
// options and input, no NATS), then N claims ingested, and the ratios are taken pair by pair.
// Each measure begins once the worker has caught up with the one before (quiet), so that none
// pays for the workflow tasks its predecessor left queued. The listener's own start, which a
// running listener pays once, is measured apart.
func (b *bench) ingest(ctx context.Context) error {
	if err := b.listenerStart(ctx); err != nil {
		return err
	}
	warm := max(b.n/5, 20)
	if _, err := b.startRate(ctx, "warm", warm, false); err != nil {
		return err
	}
	if _, err := b.ingestRate(ctx, "warm", warm, false); err != nil {
		return err
	}
	var bare, attrs, journeys, in []float64
	for r := range b.rounds {
		round := fmt.Sprintf("r%d", r+1)
		// In turn, each once the worker has caught up with the one before.
		var got [4]float64
		for i, measure := range []func() (float64, error){
			func() (float64, error) { return b.startRate(ctx, round, b.n, false) },
			func() (float64, error) { return b.startRate(ctx, round, b.n, true) },
			func() (float64, error) { return b.journeyStartRate(ctx, round, b.n) },
			func() (float64, error) { return b.ingestRate(ctx, round, b.n, r == 0) },
		} {
			if err := b.quiet(ctx); err != nil {
				return err
			}
			rate, err := measure()
			if err != nil {
				return err
			}
			got[i] = rate
		}
		x, y, j, z := got[0], got[1], got[2], got[3]
		bare, attrs, journeys, in = append(bare, x), append(attrs, y), append(journeys, j), append(in, z)
		b.log.Info().Int("round", r+1).Float64("starts", x).Float64("starts_with_attributes", y).Float64("journey_starts", j).Float64("ingest", z).Msg("ingest round")
	}
	b.add(Result{Scenario: "starts (paired)" + b.suffix, N: b.n, Value: median(bare), Unit: "starts/s",
		Note: fmt.Sprintf("median of %d rounds: %s; %d in flight", b.rounds, list(bare, "%.0f"), b.c)})
	b.add(Result{Scenario: "starts with journey attributes" + b.suffix, N: b.n, Value: median(attrs), Unit: "starts/s",
		Note: fmt.Sprintf("median of %s; a journey's search attributes and summary, no listener", list(attrs, "%.0f"))})
	b.add(Result{Scenario: "ingest" + b.suffix, N: b.n, Value: median(in), Unit: "journeys started/s",
		Note: fmt.Sprintf("median of %s; events published while the running listener's consumer was paused, then taken in", list(in, "%.0f"))})
	b.paired("ingest ÷ starts"+b.suffix, in, bare)
	b.add(Result{Scenario: "journey starts" + b.suffix, N: b.n, Value: median(journeys), Unit: "journeys started/s",
		Note: fmt.Sprintf("median of %s; claims' journeys started through the SDK as the listener starts them, no NATS", list(journeys, "%.0f"))})
	b.paired("ingest ÷ starts with journey attributes"+b.suffix, in, attrs)
	b.paired("ingest ÷ journey starts"+b.suffix, in, journeys)
	b.paired("journey starts ÷ starts", journeys, bare)
	return nil
}

// startRate starts n bare workflows (with attrs, each with the search attributes and summary a
// claim's journey starts with) and returns starts per second.
func (b *bench) startRate(ctx context.Context, round string, n int, attrs bool) (float64, error) {
	if !attrs {
		took, err := b.startAll(ctx, n, "noop-"+round, "noop")
		return float64(n) / took.Seconds(), err
	}
	today := rules.DefaultPolicy().Today(time.Now())
	took, err := b.inFlight(n, func(i int) error {
		st, err := b.claimStart(fmt.Sprintf("attrs-%s-%d", round, i), today)
		if err != nil {
			return err
		}
		o := workflows.StartOptions(st, rawQueue, time.Now())
		o.ID = fmt.Sprintf("attrs-%s-%d", round, i)
		_, err = b.s.Client.ExecuteWorkflow(ctx, o, "noop")
		return err
	})
	return float64(n) / took.Seconds(), err
}

// claimStart is the journey start the listener makes of a claim submitted today with id.
func (b *bench) claimStart(id string, today rules.Date) (workflows.Start, error) {
	body, err := claimEvent(id, today)
	if err != nil {
		return workflows.Start{}, err
	}
	ev, payload, err := events.Decode(body, today)
	if err != nil {
		return workflows.Start{}, err
	}
	route, err := workflows.RouteEvent(ev, payload, b.s.Keyer, rules.DefaultBook())
	if err != nil {
		return workflows.Start{}, err
	}
	return route.Starts[0], nil
}

// journeyStartRate starts n claims' journeys through the SDK, each as the listener would start
// it (its options, input and change versions), c in flight, and returns starts per second.
func (b *bench) journeyStartRate(ctx context.Context, round string, n int) (float64, error) {
	today := rules.DefaultPolicy().Today(time.Now())
	took, err := b.inFlight(n, func(i int) error {
		st, err := b.claimStart(fmt.Sprintf("sdk-%s-%d", round, i), today)
		if err != nil {
			return err
		}
		st = st.WithVersions(workflows.CurrentVersions())
		_, err = b.s.Client.ExecuteWorkflow(ctx, workflows.StartOptions(st, journeyQueue, time.Now()), st.Journey, st.Input)
		return err
	})
	return float64(n) / took.Seconds(), err
}

// ingestRate puts n claims in the stream while the running listener's consumer is paused, then
// resumes it and returns journeys started per second: a running listener's rate from a backlog,
// as after an outage of a producer's link, without its own start. The claims are submitted
// today: nothing is published yet. With size it also reports the database's growth per journey.
func (b *bench) ingestRate(ctx context.Context, round string, n int, size bool) (float64, error) {
	today := rules.DefaultPolicy().Today(time.Now())
	before, err := b.dbBytes()
	if err != nil {
		return 0, err
	}
	seq0, err := b.streamSeq(ctx)
	if err != nil {
		return 0, err
	}
	// Paused for long enough to publish, and not for ever should the run stop here.
	if _, err := b.s.JS.PauseConsumer(ctx, events.EnrollmentStream, listenerConsumer, time.Now().Add(10*time.Minute)); err != nil {
		return 0, fmt.Errorf("pause the listener's consumer: %w", err)
	}
	for i := range n {
		if err := b.publishClaim(ctx, fmt.Sprintf("ingest-%s-%d", round, i), today); err != nil {
			return 0, err
		}
	}
	// Resumed by a pause that ends 100 ms from now, not by ResumeConsumer: in nats-server 2.15.2
	// a resume leaves the pull requests already waiting unserved until the client pulls again
	// (up to 30 s later), while the end of a pause wakes them. The 100 ms count against ingest.
	begin := time.Now()
	if _, err := b.s.JS.PauseConsumer(ctx, events.EnrollmentStream, listenerConsumer, begin.Add(100*time.Millisecond)); err != nil {
		return 0, fmt.Errorf("resume the listener's consumer: %w", err)
	}
	if err := b.waitAcked(ctx, seq0+uint64(n), 10*time.Minute); err != nil {
		return 0, err
	}
	took := time.Since(begin)
	if size && (b.pgData != "" || !b.external) {
		after, err := b.dbBytes()
		if err != nil {
			return 0, err
		}
		b.add(Result{Scenario: "database bytes per open journey", N: n, Value: float64(after-before) / float64(n), Unit: "bytes",
			Note: b.dbNote()})
	}
	return float64(n) / took.Seconds(), nil
}

// listenerStart restarts the listener with one claim waiting and reports how long it took to
// apply it: what a listener's restart costs before it ingests, once.
func (b *bench) listenerStart(ctx context.Context) error {
	if err := b.s.StopListener(); err != nil {
		return err
	}
	seq0, err := b.streamSeq(ctx)
	if err != nil {
		return err
	}
	if err := b.publishClaim(ctx, "listener-start", rules.DefaultPolicy().Today(time.Now())); err != nil {
		return err
	}
	begin := time.Now()
	b.s.StartListener(b.s.NewListener())
	if err := b.waitAcked(ctx, seq0+1, 2*time.Minute); err != nil {
		return err
	}
	b.add(Result{Scenario: "listener start to its first event applied" + b.suffix, N: 1, Value: time.Since(begin).Seconds(), Unit: "s",
		Note: "its consumer created or updated, then one claim's journey started; a running listener pays it once, so ingest does not count it"})
	return nil
}

// quiet waits until the worker has taken every task queued on its task queues, so that the next
// measure does not pay for the workflow tasks the one before left behind; it logs how long that
// took.
func (b *bench) quiet(ctx context.Context) error {
	begin := time.Now()
	left, err := b.quietBy(ctx, begin.Add(5*time.Minute))
	if err != nil {
		return err
	}
	if left > 0 {
		return fmt.Errorf("the worker still has %d tasks queued after %s", left, time.Since(begin).Round(time.Second))
	}
	b.log.Info().Dur("waited", time.Since(begin)).Msg("worker caught up")
	return nil
}

// quietBy waits until the worker has taken every task queued on its task queues, or until
// deadline, and returns what was still queued then: Temporal's approximate backlog count.
func (b *bench) quietBy(ctx context.Context, deadline time.Time) (int64, error) {
	for ; ; time.Sleep(200 * time.Millisecond) {
		backlog := int64(0)
		for _, q := range []string{rawQueue, journeyQueue} {
			for _, t := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
				n, err := importer.TaskQueueBacklog(ctx, b.s.Client, b.s.Namespace(), q, t)
				if err != nil {
					return 0, err
				}
				backlog += n
			}
		}
		if backlog == 0 || time.Now().After(deadline) {
			return backlog, nil
		}
	}
}

func (b *bench) publishClaim(ctx context.Context, id string, submitted rules.Date) error {
	body, err := claimEvent(id, submitted)
	if err != nil {
		return err
	}
	if _, err := b.s.JS.Publish(ctx, events.Subject(events.ReimbursementSubmitted), body); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// claimEvent is the inbound event of claim id (CLM-<id>, member M-<id>) submitted on a date.
func claimEvent(id string, submitted rules.Date) ([]byte, error) {
	return json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": "urn:bench", "type": events.ReimbursementSubmitted,
		"data": map[string]any{"claimId": "CLM-" + id, "memberId": "M-" + id, "submittedDate": submitted.String(),
			"amountCents": 1000, "category": "mileage"},
	})
}

func (b *bench) streamSeq(ctx context.Context) (uint64, error) {
	st, err := b.streamState(ctx, events.EnrollmentStream)
	return st.LastSeq, err
}

func (b *bench) streamState(ctx context.Context, name string) (jetstream.StreamState, error) {
	st, err := b.s.JS.Stream(ctx, name)
	if err != nil {
		return jetstream.StreamState{}, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return jetstream.StreamState{}, err
	}
	return info.State, nil
}

// waitAcked waits until the listener has acknowledged the stream up to seq; its consumer may
// not exist yet when a listener has just started.
func (b *bench) waitAcked(ctx context.Context, seq uint64, within time.Duration) error {
	var floor uint64
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		cons, err := b.s.JS.Consumer(ctx, events.EnrollmentStream, listenerConsumer)
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound):
		case err != nil:
			return err
		default:
			info, err := cons.Info(ctx)
			if err != nil {
				return err
			}
			if floor = info.AckFloor.Stream; floor >= seq {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("listener acknowledged up to %d of %d", floor, seq)
		}
	}
}
