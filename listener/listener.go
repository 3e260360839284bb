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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

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
	Temporal client.Client
	JS       jetstream.JetStream
	Keyer    privacy.Keyer
	// Policies is the dated policy: each journey takes the block in force on its starting fact's
	// date.
	Policies rules.Book
	// Allows, when set, says whether an event of a type may come from a CloudEvent source (the
	// deployment's systems file: config.Systems.Allows); one that may not is dead-lettered.
	Allows    func(eventType, source string) bool
	TaskQueue string
	// Consumer is the durable consumer's name; every listener process shares it.
	Consumer string
	Log      zerolog.Logger
	// Metrics counts the outcome of each event; nil counts nothing.
	Metrics *metrics.Metrics
	// Concurrency is how many events are applied at once (default 32). Events that concern the
	// same journey are applied one at a time, in the order they were published.
	Concurrency int
	// AckWait is how long JetStream waits for an acknowledgement before it redelivers an event
	// (default 30 s). Events held longer, queued or being applied, are kept alive with
	// InProgress, so none is redelivered while the listener still has it.
	AckWait time.Duration
	// MaxAckPending bounds the events held at once, queued or being applied
	// (default 1,000): JetStream delivers no more until some are settled.
	MaxAckPending int
	// NotFoundAttempts is how many times an event for a journey that does not exist yet is tried
	// before it is dead-lettered (default 6: with the backoff, about half a minute). Only those
	// attempts count: deliveries refused while Temporal was down or redelivered after an ack
	// wait do not use up the budget.
	NotFoundAttempts int
	// RetryDelay is the first redelivery delay of an event not applied (default 1 s); each
	// further one doubles it, up to 60 times it.
	RetryDelay time.Duration
	// MaxEventBytes bounds an inbound event's size (default 64 KiB; careclock's largest sample is
	// under 1 KiB). A larger one is dead-lettered whole, before it is parsed.
	MaxEventBytes int
	// MaxIDLength bounds an event's id and source, in bytes (default 256). Each journey keeps the
	// ids it applied, so an unbounded id would grow every journey's state.
	MaxIDLength int
	// SkipDirectoryLookup starts members' directories with no look-up of journeys started before
	// directories existed: for a deployment that has none.
	SkipDirectoryLookup bool

	notFound attempts
	invalid  attempts
	order    order
}

// Defaults of the Listener's settings, for a zero field; config declares the same (a test holds
// them together).
const (
	DefaultConcurrency      = 32
	DefaultAckWait          = 30 * time.Second
	DefaultMaxAckPending    = 1000
	DefaultNotFoundAttempts = 6
	DefaultRetryDelay       = time.Second
	DefaultMaxEventBytes    = 64 << 10
	DefaultMaxIDLength      = 256
)

func (l *Listener) ackWait() time.Duration { return cmp.Or(l.AckWait, DefaultAckWait) }

// callTimeout bounds the Temporal calls for one event. The event is kept alive meanwhile
// (holder.keepAlive), so it may outlast the ack wait.
const callTimeout = 30 * time.Second

// ErrNotFoundYet is a signal to a journey that does not exist (yet).
var ErrNotFoundYet = errors.New("no open journey yet")

// Run consumes until ctx ends, then finishes the events in hand.
func (l *Listener) Run(ctx context.Context) error {
	cons, err := l.JS.CreateOrUpdateConsumer(ctx, events.EnrollmentStream, jetstream.ConsumerConfig{
		Durable:       l.Consumer,
		Description:   "careclock enrollment listener",
		FilterSubject: events.EnrollmentSubjects,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       l.ackWait(),
		MaxDeliver:    -1,
		MaxAckPending: cmp.Or(l.MaxAckPending, DefaultMaxAckPending),
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped before it began
		}
		return fmt.Errorf("consumer %s on %s: %w", l.Consumer, events.EnrollmentStream, err)
	}
	h := newHolder(l.ackWait(), cmp.Or(l.Concurrency, DefaultConcurrency), l.execute)
	stopKeeper := make(chan struct{})
	var keeper sync.WaitGroup
	keeper.Go(func() { h.keepAlive(stopKeeper, l.Log) })
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		// Never blocks: the queue takes it, and MaxAckPending bounds it.
		h.add(l.prepare(msg))
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		l.Log.Warn().Err(err).Msg("consume")
	}))
	if err != nil {
		close(stopKeeper)
		keeper.Wait()
		h.close()
		return fmt.Errorf("consume %s: %w", l.Consumer, err)
	}
	l.Log.Info().Str("consumer", l.Consumer).Int("concurrency", cmp.Or(l.Concurrency, DefaultConcurrency)).Msg("listening on " + events.EnrollmentSubjects)
	<-ctx.Done()
	cc.Drain()
	<-cc.Closed()
	h.close() // applies what is queued, then returns
	close(stopKeeper)
	keeper.Wait()
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
	// guard is shared with the holder's keep-alive: once the message is settled, no InProgress
	// follows its ack or nak.
	guard *settleGuard
}

// settleGuard orders a message's settlement and its keep-alives.
type settleGuard struct {
	mu      sync.Mutex
	settled bool
}

// settle acks or naks the message (do), after which the keep-alive leaves it alone.
func (j job) settle(do func() error) error {
	if j.guard == nil {
		return do()
	}
	j.guard.mu.Lock()
	defer j.guard.mu.Unlock()
	j.guard.settled = true
	return do()
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
	j := job{msg: msg, shardKey: msg.Subject(), guard: &settleGuard{}}
	if msg.Subject() == events.DeadLetterSubject {
		j.skip = true
		return j
	}
	if n, limit := len(msg.Data()), cmp.Or(l.MaxEventBytes, DefaultMaxEventBytes); n > limit {
		j.invalid = fmt.Sprintf("event of %d bytes; the limit is %d (CARECLOCK_MAX_EVENT_BYTES)", n, limit)
		return j
	}
	ev, payload, err := events.Decode(msg.Data(), l.Policies.Latest().Today(time.Now()))
	limit := cmp.Or(l.MaxIDLength, DefaultMaxIDLength)
	switch {
	case err != nil:
		j.invalid = err.Error()
	case len(ev.ID) > limit:
		j.invalid = fmt.Sprintf("id of %d bytes; the limit is %d (CARECLOCK_MAX_ID_LENGTH)", len(ev.ID), limit)
	case len(ev.Source) > limit:
		j.invalid = fmt.Sprintf("source of %d bytes; the limit is %d (CARECLOCK_MAX_ID_LENGTH)", len(ev.Source), limit)
	case msg.Subject() != events.Subject(ev.Type):
		j.invalid = "subject does not match type " + ev.Type
	case l.Allows != nil && !l.Allows(ev.Type, ev.Source):
		j.invalid = "source is not that of a producer allowed " + ev.Type + " (CARECLOCK_SYSTEMS_FILE)"
	default:
		j.ev = ev
		j.route, err = workflows.RouteEvent(ev, payload, l.Keyer, l.Policies)
		if errors.Is(err, workflows.ErrNoJourney) {
			j.invalid = "no journey handles type " + ev.Type
		} else if err != nil {
			j.invalid = err.Error()
		}
	}
	// Events of one journey are applied in order, and so are the events of one member that its
	// directory orders (its journeys' registrations and its member-wide facts).
	j.shardKey = cmp.Or(j.route.OrderKey(), j.shardKey)
	return j
}

// execute applies a job to Temporal and settles its message: acknowledged once applied or
// dead-lettered, else handed back for redelivery with backoff.
func (l *Listener) execute(j job) {
	meta, err := j.msg.Metadata()
	if err != nil {
		l.Log.Error().Err(err).Msg("message without JetStream metadata; not acknowledged")
		return
	}
	seq := meta.Sequence.Stream
	// The type as the metrics label it: a type careclock does not know is "unknown", so nothing a
	// producer writes reaches a log line.
	label := j.typeLabel()
	log := l.Log.With().Uint64("seq", seq).Uint64("delivery", meta.NumDelivered).
		Str("type", label).Logger()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()

	// Events of one journey are applied in stream order: while an earlier one waits to be
	// retried, the later ones wait too.
	if before, ok := l.order.blocker(j.shardKey); ok && before < seq {
		delay := l.backoff(meta.NumDelivered)
		log.Debug().Uint64("after", before).Dur("retry_in", delay).Str("outcome", OutcomeRetried).
			Msg("waiting for an earlier event of its journey")
		l.Metrics.Consumed(label, OutcomeRetried)
		if err := j.settle(func() error { return j.msg.NakWithDelay(delay) }); err != nil {
			log.Warn().Err(err).Msg("nak; redelivered after the ack wait instead")
		}
		return
	}

	outcome, reason, err := l.apply(ctx, j, meta)
	delay := l.backoff(meta.NumDelivered)
	switch {
	case errors.Is(err, ErrNotFoundYet):
		// Its start may still be on its way: redelivered, or being applied, or behind it.
		// Only these attempts count against its budget, not deliveries refused for other
		// reasons, and it holds back no other event (the start may be one of them).
		l.order.unblock(j.shardKey, seq)
		n := l.notFound.add(seq)
		delay = l.backoff(uint64(n))
		if n >= cmp.Or(l.NotFoundAttempts, DefaultNotFoundAttempts) {
			reason = fmt.Sprintf("no open journey for this event (tried %d times)", n)
			outcome, err = OutcomeDeadLettered, l.deadLetter(ctx, j.msg, meta, reason)
		} else {
			err = fmt.Errorf("%w (attempt %d)", err, n)
		}
	case Permanent(err):
		// Temporal refuses it for what it carries: retried for ever, it would hold its journey's
		// later events and a slot of MaxAckPending for good. It is tried invalidAttempts times
		// (a refusal a deployment still settling gives, such as a search attribute not yet
		// registered, passes in that time), then dead-lettered.
		n := l.invalid.add(seq)
		delay = l.backoff(uint64(n))
		if n < invalidAttempts {
			l.order.block(j.shardKey, seq)
			err = fmt.Errorf("refused by Temporal as invalid (attempt %d of %d): %w", n, invalidAttempts, err)
			break
		}
		log.Warn().Err(err).Msg("refused by Temporal as invalid; dead-lettering")
		l.invalid.forget(seq)
		reason = fmt.Sprintf("refused by Temporal as invalid (tried %d times): %s", n, Refusal(err))
		outcome, err = OutcomeDeadLettered, l.deadLetter(ctx, j.msg, meta, reason)
		if err != nil {
			l.order.block(j.shardKey, seq)
		}
	case err != nil:
		l.order.block(j.shardKey, seq)
	}
	if err != nil {
		log.Warn().Err(err).Dur("retry_in", delay).Str("outcome", OutcomeRetried).Msg("not applied; will be redelivered")
		l.Metrics.Consumed(label, OutcomeRetried)
		if err := j.settle(func() error { return j.msg.NakWithDelay(delay) }); err != nil {
			log.Warn().Err(err).Msg("nak; redelivered after the ack wait instead")
		}
		return
	}
	l.order.unblock(j.shardKey, seq)
	l.notFound.forget(seq)
	// A plain ack: if it is lost, the event comes again and is recognised as a duplicate (a
	// start is refused, a signal's event id is already applied, a dead letter has its
	// Nats-Msg-Id), so waiting for the server's confirmation would only slow every event.
	if err := j.settle(j.msg.Ack); err != nil {
		log.Warn().Err(err).Str("outcome", outcome).Msg("ack not sent; the event will come again")
		return
	}
	l.Metrics.Consumed(label, outcome)
	ev := log.Info()
	switch outcome {
	case OutcomeDeadLettered:
		ev = log.Warn().Str("reason", reason)
	case OutcomeIgnored:
		ev = log.Debug()
	}
	ev.Str("outcome", outcome).Msg("inbound event")
}

// apply starts and signals what the job routes to. An error means: not applied, retry;
// ErrNotFoundYet means a journey it signals does not exist yet.
func (l *Listener) apply(ctx context.Context, j job, meta *jetstream.MsgMetadata) (outcome, reason string, err error) {
	if j.skip {
		return OutcomeIgnored, "", nil
	}
	if j.invalid != "" {
		return OutcomeDeadLettered, j.invalid, l.deadLetter(ctx, j.msg, meta, j.invalid)
	}
	outcome, err = l.Deliver(ctx, j.ev, j.route)
	return outcome, "", err
}

// Deliver starts and signals what an event routes to, and says what it did: OutcomeStarted,
// OutcomeDuplicate (every journey it starts was there already), OutcomeSignalled or
// OutcomeNoEffect. An error means not everything was applied: calling it again is safe, since a
// start of a journey that exists starts nothing and a journey applies an event id once.
// ErrNotFoundYet means a journey it signals does not exist (yet).
func (l *Listener) Deliver(ctx context.Context, ev events.Event, r workflows.Route) (outcome string, err error) {
	outcome = OutcomeNoEffect
	if len(r.Starts) > 0 {
		outcome = OutcomeDuplicate
	}
	for _, s := range r.Starts {
		started, runID, reopen, err := l.start(ctx, s)
		if err != nil {
			return "", err
		}
		if started {
			outcome = OutcomeStarted
		}
		// Its member's (and provider's) directory learns of it, started or already there, so
		// that every member-wide fact reaches it whatever the order they arrive in.
		for _, d := range s.Directories(started, runID, reopen) {
			if err := l.toDirectory(ctx, d); err != nil {
				return "", err
			}
		}
	}
	for _, id := range r.Signals {
		err := l.Temporal.SignalWorkflow(ctx, id, "", workflows.SignalEvent, ev)
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound):
			return "", fmt.Errorf("signal %s: %w", id, ErrNotFoundYet)
		case err != nil:
			return "", fmt.Errorf("signal %s: %w", id, err)
		}
		outcome = OutcomeSignalled
	}
	for _, d := range r.Directories {
		if err := l.toDirectory(ctx, d); err != nil {
			return "", err
		}
		outcome = OutcomeSignalled
	}
	return outcome, nil
}

// invalidAttempts is how many times an event Temporal refuses as invalid is tried before it is
// dead-lettered: about 7 s with the default backoff (1 s, 2 s, 4 s).
const invalidAttempts = 4

// Permanent reports whether Temporal refused a call for what it carries, so that trying it again
// cannot succeed: an invalid argument (a value out of range, a payload over the size limit) or an
// input that cannot be encoded. Unavailable, timeouts, a missing namespace and the codec's own
// failures (keys not loaded) are not: they are the deployment's, and pass.
func Permanent(err error) bool {
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) && strings.Contains(invalid.Error(), "no mapping defined for search attribute") {
		return false // the namespace's search attributes are not registered (yet): the deployment's
	}
	return errors.As(err, &invalid) || errors.Is(err, converter.ErrUnableToEncode)
}

// Refusal names a permanent error's kind for a dead letter's reason, without its message, which
// may repeat a value.
func Refusal(err error) string {
	if errors.Is(err, converter.ErrUnableToEncode) {
		return "its input cannot be encoded"
	}
	return "InvalidArgument"
}

// start starts one journey and reports whether it started a run, and which. A journey that
// already exists is a duplicate, unless its last run was cancelled before the fact this start is
// about (workflows.Start.Reopens: a member re-enrolled after a disenrollment); then a new run
// starts. When the journey is still open, reopen is the run to start should it end cancelled
// before that fact (its disenrollment not yet applied): the member's directory starts it then.
func (l *Listener) start(ctx context.Context, s workflows.Start) (started bool, runID string, reopen *workflows.StartSpec, err error) {
	s = s.WithVersions(workflows.CurrentVersions())
	now := time.Now()
	run, err := l.Temporal.ExecuteWorkflow(ctx, workflows.StartOptions(s, l.TaskQueue, now), s.Journey, s.Input)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case err == nil:
		return true, runIDOf(run), nil, nil
	case !errors.As(err, &already):
		return false, "", nil, fmt.Errorf("start %s: %w", s.WorkflowID, err)
	case !s.CanReopen():
		return false, "", nil, nil
	}
	desc, err := l.Temporal.DescribeWorkflowExecution(ctx, s.WorkflowID, "")
	if err != nil {
		return false, "", nil, fmt.Errorf("describe %s: %w", s.WorkflowID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		spec, err := s.Spec(now)
		if err != nil {
			return false, "", nil, err
		}
		return false, info.GetFirstRunId(), &spec, nil
	}
	var last workflows.Outcome
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		if err := l.Temporal.GetWorkflow(ctx, s.WorkflowID, info.GetExecution().GetRunId()).Get(ctx, &last); err != nil {
			return false, "", nil, fmt.Errorf("outcome of %s: %w", s.WorkflowID, err)
		}
	}
	if !s.Reopens(last) {
		return false, "", nil, nil // an older fact than the one that ended it: a copy of an old event
	}
	s = s.Reopened(last)
	run, err = l.Temporal.ExecuteWorkflow(ctx, workflows.ReopenOptions(s, l.TaskQueue, now), s.Journey, s.Input)
	switch {
	case err == nil:
		return true, runIDOf(run), nil, nil
	case errors.As(err, &already):
		return false, "", nil, nil // another run started meanwhile (a referral's, the directory's)
	default:
		return false, "", nil, fmt.Errorf("start %s again: %w", s.WorkflowID, err)
	}
}

// runIDOf is a started run's id ("" when the client gave none).
func runIDOf(run client.WorkflowRun) string {
	if run == nil {
		return ""
	}
	return run.GetRunID()
}

// toDirectory sends a request to a member's or provider's directory, starting it if it is not
// running.
func (l *Listener) toDirectory(ctx context.Context, d workflows.DirectorySend) error {
	input := d.Input()
	input.LookedUp = l.SkipDirectoryLookup
	_, err := l.Temporal.SignalWithStartWorkflow(ctx, d.WorkflowID(), workflows.SignalDirectory, d.Request,
		d.Options(l.TaskQueue), d.Kind, input)
	if err != nil {
		return fmt.Errorf("signal %s: %w", d.WorkflowID(), err)
	}
	return nil
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

// backoff is the redelivery delay after the n-th attempt: RetryDelay (1 s), doubling, up to 60
// times it (a minute).
func (l *Listener) backoff(n uint64) time.Duration {
	first := cmp.Or(l.RetryDelay, DefaultRetryDelay)
	if n < 1 {
		n = 1
	}
	if n > 7 {
		return 60 * first
	}
	return min(first<<(n-1), 60*first)
}
