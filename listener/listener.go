// Package listener is the enrollment listener: a durable JetStream consumer on enrollment.> that
// validates each inbound event and starts or signals the journeys it concerns. A message is
// acknowledged only once Temporal has accepted every start and signal, or once the event has been
// dead-lettered with its reason; anything else is redelivered with backoff.
package listener

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/metrics"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// Outcomes of one inbound message, as logged.
const (
	OutcomeStarted      = "started"
	OutcomeSignalled    = "signalled"
	OutcomeDuplicate    = "duplicate"
	OutcomeDeadLettered = "dead_lettered"
	OutcomeRetried      = "retried"
	// OutcomeNoEffect is a valid event that concerns no journey (a member enrolled who is not
	// CCS-eligible, a disenrollment with nothing open).
	OutcomeNoEffect = "no_effect"
	// OutcomeIgnored is a dead letter: it shares the stream, the listener passes it by.
	OutcomeIgnored = "ignored"
)

// Listener consumes inbound events. Its fields are its dependencies and settings.
type Listener struct {
	Temporal  client.Client
	JS        jetstream.JetStream
	Keyer     privacy.Keyer
	Policy    rules.Policy
	TaskQueue string
	// Consumer is the durable consumer's name; every listener process shares it.
	Consumer string
	Log      zerolog.Logger
	// Metrics counts the outcome of each event; nil counts nothing.
	Metrics *metrics.Metrics
	// Shards is how many events are applied at once (default 32). Events that concern the same
	// journey go to the same shard, so they are applied in the order they were published.
	Shards int
	// AckWait is how long JetStream waits for an acknowledgement before it redelivers an event
	// (default 30 s); an event is given up on, and redelivered, a sixth of it sooner.
	AckWait time.Duration
}

// notFoundRetries is how many deliveries an event for a journey that does not exist yet gets
// before it is dead-lettered: the start may still be on its way (redelivered, or in another
// shard when the keys differ).
const notFoundRetries = 5

// defaultAckWait is Listener.AckWait's default.
const defaultAckWait = 30 * time.Second

func (l *Listener) ackWait() time.Duration { return cmp.Or(l.AckWait, defaultAckWait) }

// Run consumes until ctx ends, then finishes the events in hand.
func (l *Listener) Run(ctx context.Context) error {
	cons, err := l.JS.CreateOrUpdateConsumer(ctx, events.EnrollmentStream, jetstream.ConsumerConfig{
		Durable:       l.Consumer,
		Description:   "careclock enrollment listener",
		FilterSubject: events.EnrollmentSubjects,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       l.ackWait(),
		MaxDeliver:    -1,
		MaxAckPending: 1000,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped before it began
		}
		return fmt.Errorf("consumer %s on %s: %w", l.Consumer, events.EnrollmentStream, err)
	}
	n := l.Shards
	if n <= 0 {
		n = 32
	}
	shards := make([]chan job, n)
	var wg sync.WaitGroup
	for i := range shards {
		shards[i] = make(chan job, 64)
		wg.Go(func() {
			for j := range shards[i] {
				l.execute(j)
			}
		})
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		j := l.prepare(msg)
		h := fnv.New32a()
		h.Write([]byte(j.shardKey))
		shards[h.Sum32()%uint32(n)] <- j
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		l.Log.Warn().Err(err).Msg("consume")
	}))
	if err != nil {
		return fmt.Errorf("consume %s: %w", l.Consumer, err)
	}
	l.Log.Info().Str("consumer", l.Consumer).Int("shards", n).Msg("listening on " + events.EnrollmentSubjects)
	<-ctx.Done()
	cc.Drain()
	<-cc.Closed()
	for _, s := range shards {
		close(s)
	}
	wg.Wait()
	return nil
}

// job is one inbound message, decoded and routed.
type job struct {
	msg      jetstream.Msg
	ev       events.Event
	route    workflows.Route
	invalid  string // the dead-letter reason, when the event cannot be used
	skip     bool   // a dead letter, seen because it shares the stream
	shardKey string
}

// typeLabel is the job's event type as a metric label: a known inbound type, taken from the
// subject when the event could not be decoded, or "unknown". A label never carries what a
// producer wrote in a field, which could be anything, PHI included.
func (j job) typeLabel() string {
	switch t := strings.TrimPrefix(j.msg.Subject(), "enrollment."); {
	case events.Known(j.ev.Type):
		return j.ev.Type
	case j.msg.Subject() == events.DeadLetterSubject:
		return "deadletter"
	case events.Known(t):
		return t
	default:
		return "unknown"
	}
}

// prepare decodes, validates and routes a message; it does no I/O.
func (l *Listener) prepare(msg jetstream.Msg) job {
	j := job{msg: msg, shardKey: msg.Subject()}
	if msg.Subject() == events.DeadLetterSubject {
		j.skip = true
		return j
	}
	ev, payload, err := events.Decode(msg.Data(), l.Policy.Today(time.Now()))
	switch {
	case err != nil:
		j.invalid = err.Error()
	case msg.Subject() != events.Subject(ev.Type):
		j.invalid = "subject does not match type " + ev.Type
	default:
		j.ev = ev
		j.route, err = workflows.RouteEvent(ev, payload, l.Keyer, l.Policy)
		if errors.Is(err, workflows.ErrNoJourney) {
			j.invalid = "no journey handles type " + ev.Type
		} else if err != nil {
			j.invalid = err.Error()
		}
	}
	switch {
	case len(j.route.Starts) > 0:
		j.shardKey = j.route.Starts[0].WorkflowID
	case len(j.route.Signals) > 0:
		j.shardKey = j.route.Signals[0]
	case len(j.route.Queries) > 0:
		j.shardKey = j.route.Queries[0]
	}
	return j
}

// execute applies a job to Temporal and settles its message.
func (l *Listener) execute(j job) {
	meta, err := j.msg.Metadata()
	if err != nil {
		l.Log.Error().Err(err).Msg("message without JetStream metadata; not acknowledged")
		return
	}
	log := l.Log.With().Uint64("seq", meta.Sequence.Stream).Uint64("delivery", meta.NumDelivered).
		Str("type", j.ev.Type).Logger()
	ctx, cancel := context.WithTimeout(context.Background(), l.ackWait()-l.ackWait()/6)
	defer cancel()

	outcome, reason, err := l.apply(ctx, j, meta)
	if err != nil {
		delay := backoff(meta.NumDelivered)
		log.Warn().Err(err).Dur("retry_in", delay).Str("outcome", OutcomeRetried).Msg("not applied; will be redelivered")
		l.Metrics.Consumed(j.typeLabel(), OutcomeRetried)
		if err := j.msg.NakWithDelay(delay); err != nil {
			log.Warn().Err(err).Msg("nak; redelivered after the ack wait instead")
		}
		return
	}
	if err := j.msg.DoubleAck(ctx); err != nil {
		// Not acknowledged: it comes again and is recognised as a duplicate.
		log.Warn().Err(err).Str("outcome", outcome).Msg("ack not confirmed")
		return
	}
	l.Metrics.Consumed(j.typeLabel(), outcome)
	ev := log.Info()
	switch outcome {
	case OutcomeDeadLettered:
		ev = log.Warn().Str("reason", reason)
	case OutcomeIgnored:
		ev = log.Debug()
	}
	ev.Str("outcome", outcome).Msg("inbound event")
}

// apply starts and signals what the job routes to. An error means: not applied, retry.
func (l *Listener) apply(ctx context.Context, j job, meta *jetstream.MsgMetadata) (outcome, reason string, err error) {
	if j.skip {
		return OutcomeIgnored, "", nil
	}
	if j.invalid != "" {
		return OutcomeDeadLettered, j.invalid, l.deadLetter(ctx, j.msg, meta, j.invalid)
	}
	outcome = OutcomeNoEffect
	if len(j.route.Starts) > 0 {
		outcome = OutcomeDuplicate
	}
	for _, s := range j.route.Starts {
		_, err := l.Temporal.ExecuteWorkflow(ctx, workflows.StartOptions(s, l.TaskQueue, time.Now()), s.Journey, s.Input)
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		switch {
		case errors.As(err, &already):
		case err != nil:
			return "", "", fmt.Errorf("start %s: %w", s.WorkflowID, err)
		default:
			outcome = OutcomeStarted
		}
	}
	for _, id := range j.route.Signals {
		err := l.Temporal.SignalWorkflow(ctx, id, "", workflows.SignalEvent, j.ev)
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound) && meta.NumDelivered < notFoundRetries:
			return "", "", fmt.Errorf("signal %s: no open journey yet: %w", id, err)
		case errors.As(err, &notFound):
			reason := "no open journey for this event"
			return OutcomeDeadLettered, reason, l.deadLetter(ctx, j.msg, meta, reason)
		case err != nil:
			return "", "", fmt.Errorf("signal %s: %w", id, err)
		}
		outcome = OutcomeSignalled
	}
	for _, q := range j.route.Queries {
		ids, err := l.find(ctx, q)
		if err != nil {
			return "", "", err
		}
		for _, id := range ids {
			err := l.Temporal.SignalWorkflow(ctx, id, "", workflows.SignalEvent, j.ev)
			var notFound *serviceerror.NotFound
			if errors.As(err, &notFound) {
				continue // it ended between the query and the signal
			}
			if err != nil {
				return "", "", fmt.Errorf("signal %s: %w", id, err)
			}
			outcome = OutcomeSignalled
		}
	}
	return outcome, "", nil
}

// find lists the workflow ids a visibility query matches.
func (l *Listener) find(ctx context.Context, query string) ([]string, error) {
	found, err := workflows.ListQuery(ctx, l.Temporal, query, nil)
	if err != nil {
		return nil, err // already says "list journeys: …"
	}
	ids := make([]string, len(found))
	for i, f := range found {
		ids[i] = f.WorkflowID
	}
	return ids, nil
}

// deadLetter republishes the original bytes to enrollment.deadletter with the reason. Its
// Nats-Msg-Id is derived from the original's stream sequence, so a redelivery after a crash
// does not dead-letter it twice.
func (l *Listener) deadLetter(ctx context.Context, msg jetstream.Msg, meta *jetstream.MsgMetadata, reason string) error {
	seq := strconv.FormatUint(meta.Sequence.Stream, 10)
	dl := &nats.Msg{Subject: events.DeadLetterSubject, Data: msg.Data(), Header: nats.Header{}}
	dl.Header.Set(events.HeaderReason, reason)
	dl.Header.Set(events.HeaderOriginalSubject, msg.Subject())
	dl.Header.Set(events.HeaderOriginalSeq, seq)
	dl.Header.Set(jetstream.MsgIDHeader, "deadletter:"+meta.Stream+":"+seq)
	if _, err := l.JS.PublishMsg(ctx, dl, jetstream.WithExpectStream(events.EnrollmentStream)); err != nil {
		return fmt.Errorf("dead-letter: %w", err)
	}
	return nil
}

// backoff is the redelivery delay after the n-th delivery: 1 s, 2 s, 4 s … up to a minute.
func backoff(n uint64) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 7 {
		return time.Minute
	}
	return min(time.Second<<(n-1), time.Minute)
}
