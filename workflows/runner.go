package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/activities"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// maxRunAge bounds one workflow run: a journey that waits longer continues as new with its state,
// so that newer code takes it over and its history stays small.
const maxRunAge = 365 * 24 * time.Hour

// changeLocalPublish versions how a journey keeps its search attributes and publishes. At
// DefaultVersion (every journey recorded before it) each step upserts every attribute and each
// event goes through an activity task. From versionChangedUpserts a journey starts with its
// attributes and upserts only those that changed. At versionLocalPublish it also publishes each
// event by a local activity, in the workflow task that decided it. Which version a new journey
// records was the worker's choice (PreferVersions), and since the listener sets it in the
// start's input (CurrentVersions), versionChangedUpserts; a journey keeps it for its whole run,
// so the journeys that were started at versionLocalPublish go on publishing by local activity.
// GetVersion costs one marker and one TemporalChangeVersion upsert per run, not per event.
const (
	changeLocalPublish    = "local-publish"
	versionChangedUpserts = workflow.Version(1)
	versionLocalPublish   = workflow.Version(2)
)

// localPublishOptions publish a journey event from the workflow task that decided it. Retries
// stay in the worker (each backoff is shorter than the workflow task timeout); after 30 s the
// event is handed over to the publish activity, which retries on the server without limit.
var localPublishOptions = workflow.LocalActivityOptions{
	ScheduleToCloseTimeout: 30 * time.Second,
	StartToCloseTimeout:    10 * time.Second,
	RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 4 * time.Second},
}

var publishOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	// Publishing retries until NATS is back: a journey event is never given up on. Its id is
	// deterministic, so a retry after a lost acknowledgement is dropped by JetStream.
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
}

// changeFactsFirst versions how a journey meets facts that arrived before it decided what is
// due (docs/rules.md, Time: a fact takes effect on its own date). From versionFactsFirst a journey
// applies every inbound event already received before each step, so that a back-dated close
// (paid, decided, withdrawn, contracted, disenrolled) that arrived with its start, or while no
// worker ran, ends it before anything dated after it is published; a journey started late waits
// settleLate before publishing its late events, so that a close sent together with its start is
// applied first; and a journey that starts another one (an eligible referral's age-out) opens a
// new run of it when the last one ended and its deadline is still ahead. Before it applies a
// dated fact, it publishes what was due on the days before the fact's date and is not out yet,
// as the journey stood when the fact took effect (catchUp).
const (
	changeFactsFirst  = "facts-first"
	versionFactsFirst = workflow.Version(1)
)

// changeEventIDs versions the form of a journey event's id (its Nats-Msg-Id). Before it, a
// scheduled event's id was <workflowId>:<type>@<date>, and an event published at once for an
// inbound event (opened, transferred, closed…) <workflowId>:<type>@<date>#<seq>.<index>. From
// versionNumberedIDs every event's id is events.JourneyEventID: <workflowId>:<type>@<date>#<n>,
// n counting the journey's published events of that type and date. Journeys that publish by
// local activity keep the old form: their publication is not in the history until its marker,
// and a worker that took one over mid-publication must send the id the first one sent.
const (
	changeEventIDs     = "event-ids"
	versionNumberedIDs = workflow.Version(1)
)

// changeSuperseded versions docs/rules.md's rule for several missed advance notices of one
// series (a journey started late): from versionSuperseded only the latest is published late and
// the earlier ones are recorded as skipped, superseded (rules.Step.Supersede). Before it, each
// was published late. A journey asks the version the first time a step has two late notices of
// one series, so that most journeys never record a marker.
const (
	changeSuperseded  = "superseded-notices"
	versionSuperseded = workflow.Version(1)
)

// changeEventTime versions what a journey event's CloudEvents time means (docs/events.md, time).
// Before it, a scheduled event's time was the instant it was due, so a notice published late was
// stamped with a past instant, and an immediate one's was the instant it was published. From
// versionPublishTime every event's time is the instant the journey published it (when the
// occurrence happened, as CloudEvents defines it), and the instant it was due is in its data as
// scheduledAt. Journeys that publish by local activity keep the old meaning, as they keep the old
// ids (changeEventIDs).
const (
	changeEventTime    = "event-time"
	versionPublishTime = workflow.Version(1)
)

// changePolicyOver versions what a policy-change signal is read over: from versionPolicyOver the
// journey's own policy, so that a key the signal leaves out keeps the journey's value whatever
// code replays it; before it, the defaults of the running code. Asked only when such a signal
// arrives.
const (
	changePolicyOver  = "policy-over"
	versionPolicyOver = workflow.Version(1)
)

// settleLate is how long a journey started late waits before publishing what is already late:
// a producer that sends a start and its back-dated close together has the close applied first.
// The events are late already; a few seconds more cost nothing.
const settleLate = 5 * time.Second

// runner is the mechanics every journey shares: timers, signals, publication, continue-as-new.
type runner[F any, PF interface {
	*F
	facts
}] struct {
	journey string
	s       State[F]
	signals workflow.ReceiveChannel
	// wake tells the loop to decide again: the policy changed (replan).
	wake workflow.Channel
	// versions are the versions of the changes the journey runs under.
	versions *versions
	// version is the journey's changeLocalPublish version, asked at the start of every run.
	version workflow.Version
}

func (r *runner[F, PF]) facts() PF { return PF(&r.s.Facts) }

// isFactsFirst reports whether the journey runs changeFactsFirst. It asks the first time a step
// needs to know (an inbound event to apply first, a late start, a dated fact, a journey to start
// again), not at the start of every run: most journeys' first task, the one every start pays
// for, records no marker, and a journey that never needs it never records one. A journey
// started before the change takes it up at the first such point it reaches in a new workflow
// task; its recorded history, replayed, keeps DefaultVersion there.
func (r *runner[F, PF]) isFactsFirst(ctx workflow.Context) bool {
	return r.versions.get(ctx, changeFactsFirst, versionFactsFirst) >= versionFactsFirst
}

// run executes a journey from its state until it ends or continues as new.
func run[F any, PF interface {
	*F
	facts
}](ctx workflow.Context, journey string, s State[F]) (Outcome, error) {
	r := &runner[F, PF]{journey: journey, s: s, versions: newVersions(s.Versions)}
	if err := r.setup(ctx); err != nil {
		return Outcome{}, err
	}
	if err := r.run(ctx); err != nil {
		return Outcome{}, err
	}
	return r.outcome(), nil
}

func (r *runner[F, PF]) setup(ctx workflow.Context) error {
	r.signals = workflow.GetSignalChannel(ctx, SignalEvent)
	r.wake = workflow.NewBufferedChannel(ctx, 1)
	view := func() (View[F], error) { return r.view(workflow.Now(ctx)), nil }
	if err := workflow.SetQueryHandler(ctx, QueryState, view); err != nil {
		return fmt.Errorf("register %s query: %w", QueryState, err)
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateReplan, r.replan, workflow.UpdateHandlerOptions{
		Validator: func(ctx workflow.Context, policy json.RawMessage) error {
			if r.ended() {
				return errors.New("the journey has ended")
			}
			_, err := rules.ParsePolicyOver(r.s.Policy, policy) //workflowcheck:ignore
			return err
		},
	})
	if err != nil {
		return fmt.Errorf("register %s update: %w", UpdateReplan, err)
	}
	return nil
}

// replan is the UpdateReplan handler (`starter replan`): the journey takes the policy, read over
// its own, and re-plans at once. Its validator has refused a policy that does not read, so the
// caller learns which journeys refused; Temporal keeps each update's id, so a retried call is
// applied once, and each call of `starter replan` has an id of its own (A, then B, then A again
// leaves the journey on A).
func (r *runner[F, PF]) replan(ctx workflow.Context, policy json.RawMessage) error {
	// Decoding JSON bytes is deterministic; workflowcheck cannot see through encoding/json's
	// reflection.
	p, err := rules.ParsePolicyOver(r.s.Policy, policy) //workflowcheck:ignore
	if err != nil {
		return err // the validator passed it, so this is not reached
	}
	r.s.Policy = p.ForJourney(workflow.GetInfo(ctx).WorkflowExecution.ID)
	workflow.GetLogger(ctx).Info("policy changed; re-planning")
	r.wake.SendAsync(true) // the loop re-plans; one wake-up is enough for several updates
	return nil
}

func (r *runner[F, PF]) run(ctx workflow.Context) error {
	r.version = r.versions.get(ctx, changeLocalPublish, versionLocalPublish)
	ctx = workflow.WithActivityOptions(ctx, publishOptions)
	ctx = workflow.WithLocalActivityOptions(ctx, localPublishOptions)
	log := workflow.GetLogger(ctx)
	runStart := workflow.Now(ctx)
	r.s.AppliedCount = max(r.s.AppliedCount, len(r.s.Applied)) // a state recorded before the count
	fresh := !r.s.Started
	if fresh {
		if err := r.act(ctx, r.facts().begin(r.s.Policy), 0); err != nil {
			return err
		}
		r.s.Started = true
	}
	for {
		if r.signals.Len() > 0 && r.isFactsFirst(ctx) {
			if err := r.drain(ctx); err != nil {
				return err
			}
		}
		if err := r.applyHeld(ctx); err != nil {
			return err
		}
		now := workflow.Now(ctx)
		var next *rules.Occurrence
		if !r.ended() {
			step := r.s.Policy.Step(r.facts().plan(r.s.Policy), r.done, now)
			if fresh && slices.ContainsFunc(step.Publish, func(o rules.Occurrence) bool { return o.Late }) && r.isFactsFirst(ctx) {
				fresh = false
				if err := r.settle(ctx); err != nil {
					return err
				}
				continue // decide again, with what arrived meanwhile
			}
			fresh = false
			r.supersede(ctx, &step)
			for _, o := range step.Skip {
				r.s.Skipped = append(r.s.Skipped, record(o))
				if o.Superseded {
					log.Info("notice skipped: a later one of its series is published", "event", o.Type, "date", o.On.String())
				} else {
					log.Info("reminder skipped: its deadline has passed", "event", o.Type, "date", o.On.String())
				}
			}
			if err := r.publishDue(ctx, step.Publish); err != nil {
				return err
			}
			next = step.Next
		}
		// Also once the journey has ended, so that the UI and `starter list` show how it ended.
		if err := r.updateStatus(ctx, next); err != nil {
			return err
		}
		if r.ended() {
			break
		}
		if now.Sub(runStart) >= maxRunAge || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return r.continueAsNew(ctx)
		}
		if err := r.wait(ctx, next, runStart.Add(maxRunAge)); err != nil {
			return err
		}
	}
	// Events that arrived while the journey ended are recorded as seen, not lost silently.
	if err := r.drain(ctx); err != nil {
		workflow.GetLogger(ctx).Error("inbound event after the end not applied", "error", err)
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	if slices.Contains(memberJourneys, r.journey) {
		info := workflow.GetInfo(ctx)
		tellDirectory(ctx, r.versions, r.s.MemberKey, DirectoryRequest{Ended: &Ended{
			WorkflowID: info.WorkflowExecution.ID, RunID: info.FirstRunID, Outcome: r.outcome(),
		}})
	}
	log.Info("journey ended", "status", r.s.Status)
	return nil
}

// outcome is how the journey ended, as its workflow result says.
func (r *runner[F, PF]) outcome() Outcome {
	o := Outcome{Status: r.s.Status}
	if e, ok := any(r.facts()).(interface{ endedOn() rules.Date }); ok {
		o.EndedOn = e.endedOn()
	}
	return o
}

// supersede applies rules.Step.Supersede to a step from versionSuperseded. It asks the version
// only when the step has two late notices of one series, the one case where it matters.
func (r *runner[F, PF]) supersede(ctx workflow.Context, step *rules.Step) {
	if !step.Supersedes() {
		return
	}
	if r.versions.get(ctx, changeSuperseded, versionSuperseded) >= versionSuperseded {
		step.Supersede()
	}
}

// settle waits settleLate, or until an inbound event arrives, which it applies.
func (r *runner[F, PF]) settle(ctx workflow.Context) error {
	workflow.GetLogger(ctx).Info("started late: waiting for facts sent with the start", "for", settleLate)
	return r.sleepOrApply(ctx, settleLate, "facts sent with the start")
}

// wait sleeps until next is due, the run is old enough to continue as new, or an inbound event
// arrives; a signal cancels the timer.
func (r *runner[F, PF]) wait(ctx workflow.Context, next *rules.Occurrence, runDeadline time.Time) error {
	var wake time.Time
	var summary string
	if next != nil {
		wake, summary = next.At, next.Type+" on "+next.On.String()
	}
	if len(r.s.Held) > 0 && (wake.IsZero() || r.s.Held[0].At.Before(wake)) {
		h := r.s.Held[0]
		wake, summary = h.At, h.Event.Type+" takes effect on "+rules.DateOf(h.At).String()
	}
	if wake.IsZero() {
		return r.sleepOrApply(ctx, 0, "") // nothing due: only an inbound event wakes it
	}
	if runDeadline.Before(wake) {
		wake, summary = runDeadline, "continue as new, then "+summary
	}
	return r.sleepOrApply(ctx, max(wake.Sub(workflow.Now(ctx)), time.Millisecond), summary)
}

// sleepOrApply waits for a timer of d named summary (none when d is 0) or an inbound event,
// whichever comes first; an event cancels the timer and is applied.
func (r *runner[F, PF]) sleepOrApply(ctx workflow.Context, d time.Duration, summary string) error {
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	sel := workflow.NewSelector(ctx)
	var timerErr error
	if d > 0 {
		timer := workflow.NewTimerWithOptions(timerCtx, d, workflow.TimerOptions{Summary: summary})
		sel.AddFuture(timer, func(f workflow.Future) { timerErr = f.Get(ctx, nil) })
	}
	var ev events.Event
	sel.AddReceive(r.signals, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &ev) })
	woken := false
	sel.AddReceive(r.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); woken = true })
	sel.Select(ctx)
	if timerErr != nil {
		return timerErr // the workflow was cancelled
	}
	if woken {
		return nil // re-planned: decide again
	}
	if ev.ID == "" {
		return nil // the timer fired
	}
	cancelTimer()
	return r.apply(ctx, ev)
}

// apply hands an inbound event to the journey once, and does what it answers.
func (r *runner[F, PF]) apply(ctx workflow.Context, ev events.Event) error {
	log := workflow.GetLogger(ctx)
	if r.seen(ctx, ev) {
		log.Info("inbound event already applied; ignored", "type", ev.Type)
		return nil
	}
	r.remember(ev)
	if r.ended() {
		log.Warn("inbound event for an ended journey; ignored", "type", ev.Type)
		return nil
	}
	if ev.Type == EventPolicyChanged {
		return r.changePolicy(ctx, ev)
	}
	if on, ok := effectiveAt(ev, r.s.Policy); ok && on.After(workflow.Now(ctx)) && r.holdsFutureFacts(ctx) {
		r.hold(ctx, ev, on)
		return nil
	}
	return r.applyFact(ctx, ev)
}

// applyFact applies an inbound event the journey has not applied before: what was due before
// its date first (catchUp), then the fact.
func (r *runner[F, PF]) applyFact(ctx workflow.Context, ev events.Event) error {
	log := workflow.GetLogger(ctx)
	if on, ok := effectiveAt(ev, r.s.Policy); ok && r.isFactsFirst(ctx) {
		if err := r.catchUp(ctx, on); err != nil {
			return err
		}
		if r.ended() {
			log.Info("inbound event after the journey's end on its date; ignored", "type", ev.Type)
			return nil
		}
	}
	notices, err := r.facts().apply(ev, r.s.Policy)
	if err != nil {
		// The listener validated the event, so this is an event the journey does not take.
		r.refuse(ctx, ev, err)
		return nil
	}
	return r.act(ctx, notices, r.s.AppliedCount)
}

// effectiveAt is the instant an inbound event's fact took effect, for the facts that have one
// (docs/rules.md, Time: a fact takes effect on its own date, not on its arrival): the start of
// its date in the policy's zone, or the instant of a timestamped fact.
func effectiveAt(ev events.Event, p rules.Policy) (time.Time, bool) {
	// Decoding JSON bytes is deterministic; workflowcheck cannot see through encoding/json's
	// reflection (the journeys' apply decodes the event the same way, behind their interface).
	payload, err := ev.Payload() //workflowcheck:ignore
	if err != nil {
		return time.Time{}, false
	}
	switch d := payload.(type) {
	case *events.AuthorizationDecidedData:
		return d.DecidedAt, true
	case *events.GrievanceResolvedData:
		return d.ResolvedAt, true
	case *events.AppealResolvedData:
		return d.ResolvedAt, true
	}
	if d, ok := effectiveDate(payload); ok {
		return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, p.Zone()), true
	}
	return time.Time{}, false
}

// effectiveDate is the date a dated fact took effect, from the event's decoded data.
func effectiveDate(payload any) (rules.Date, bool) {
	switch d := payload.(type) {
	case *events.MemberDisenrolledData:
		return d.EffectiveDate, true
	case *events.MemberCountyChangedData:
		return d.EffectiveDate, true
	case *events.CCSApplicationReceivedData:
		return d.ReceivedDate, true
	case *events.CCSEligibilityDeterminedData:
		return d.DeterminationDate, true
	case *events.CCSReferralWithdrawnData:
		return d.WithdrawnDate, true
	case *events.ProviderContractedData:
		return d.EffectiveDate, true
	case *events.ReimbursementDecidedData:
		return d.DecisionDate, true
	case *events.ReimbursementPaidData:
		return d.PaidDate, true
	case *events.AuthorizationNoticeSentData:
		return d.SentDate, true
	case *events.AuthorizationWithdrawnData:
		return d.WithdrawnDate, true
	case *events.CoCDecidedData:
		return d.DecisionDate, true
	}
	return rules.Date{}, false
}

// catchUp publishes, before a fact that took effect at on is applied, what the journey had due on the days
// before it and has not published yet (a journey started late, or a worker away): the journey
// as it stood when the fact took effect. What is published now is late, and a reminder whose
// deadline has passed by now is skipped, as for any late step. Nothing dated on or after the
// fact's date is published here; after it is applied, the journey decides the rest.
func (r *runner[F, PF]) catchUp(ctx workflow.Context, on time.Time) error {
	now := workflow.Now(ctx)
	until := on.Add(-time.Nanosecond)
	if until.After(now) {
		until = now
	}
	step := r.s.Policy.Step(r.facts().plan(r.s.Policy), r.done, until)
	// Judged at now: what is published now is as late as it is now.
	due := rules.Step{Skip: step.Skip}
	for _, o := range step.Publish {
		late, skip := r.s.Policy.Lateness(o, now)
		o.Late = late
		if skip {
			due.Skip = append(due.Skip, o)
			continue
		}
		due.Publish = append(due.Publish, o)
	}
	r.supersede(ctx, &due)
	for _, o := range due.Skip {
		r.s.Skipped = append(r.s.Skipped, record(o))
	}
	return r.publishDue(ctx, due.Publish)
}

// act publishes a journey's notices and starts the journeys they name, in order. seq tells apart
// the notices of different inbound events (0 for the journey's opening notices).
func (r *runner[F, PF]) act(ctx workflow.Context, notices []Notice, seq int) error {
	deadline := r.facts().deadline(r.s.Policy)
	for i, n := range notices {
		if n.Start != nil {
			if err := r.startJourney(ctx, *n.Start); err != nil {
				return err
			}
			continue
		}
		o := events.Occurrence{
			Type: n.Type, On: n.On, Deadline: deadline, At: workflow.Now(ctx), Fields: n.Fields,
			Key: fmt.Sprintf("%s@%s#%d.%d", n.Type, n.On, seq, i),
		}
		if err := r.publish(ctx, o); err != nil {
			return err
		}
	}
	if status := r.facts().ended(); status != "" {
		r.s.Status = status
	}
	return nil
}

// startJourney starts another journey as an abandoned child: it lives on after this one ends.
// One that is running is left as it is. One that has ended is left as it is too, except from
// versionFactsFirst when its deadline is still ahead: then a new run starts (a member who
// re-enrolled and whose referral was found eligible gets an age-out journey again).
func (r *runner[F, PF]) startJourney(ctx workflow.Context, s Start) error {
	run, err := r.startChild(ctx, s, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE)
	var already *temporal.ChildWorkflowExecutionAlreadyStartedError
	if errors.As(err, &already) && !r.s.Policy.Today(workflow.Now(ctx)).After(s.Deadline) && r.isFactsFirst(ctx) {
		run, err = r.startChild(ctx, s, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE)
	}
	if errors.As(err, &already) {
		workflow.GetLogger(ctx).Info("journey already exists", "journey", s.Journey, "workflow", s.WorkflowID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", s.WorkflowID, err)
	}
	// The member's directory learns of it, as of a journey the listener starts.
	for _, d := range s.Directories(true, run.RunID, nil) {
		if d.Kind == DirectoryMember {
			tellDirectory(ctx, r.versions, d.Key, d.Request)
		}
	}
	return nil
}

func (r *runner[F, PF]) startChild(ctx workflow.Context, s Start, reuse enumspb.WorkflowIdReusePolicy) (workflow.Execution, error) {
	if r.s.Versions != nil {
		// A journey that was given its versions gives the same to the journeys it starts.
		s = s.WithVersions(r.s.Versions)
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            s.WorkflowID,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: reuse,
		TypedSearchAttributes: s.searchAttributes(workflow.Now(ctx)),
		StaticSummary:         s.summary() + " (started by " + r.journey + ")",
	})
	var run workflow.Execution
	err := workflow.ExecuteChildWorkflow(cctx, s.Journey, s.Input).GetChildWorkflowExecution().Get(ctx, &run)
	return run, err
}

// changePolicy replaces the journey's policy from a policy-change signal (`starter replan` before
// UpdateReplan); the next step re-plans. From versionPolicyOver the policy is read over the
// journey's own, as the update reads it; before, over the defaults of the code that runs it.
func (r *runner[F, PF]) changePolicy(ctx workflow.Context, ev events.Event) error {
	base := r.s.Policy
	if r.versions.get(ctx, changePolicyOver, versionPolicyOver) < versionPolicyOver {
		base = rules.DefaultPolicy()
		base.Holidays.Calendar = 1 // the one calendar there was before they were numbered
	}
	// Decoding JSON bytes is deterministic; workflowcheck cannot see through encoding/json's
	// reflection.
	p, err := rules.ParsePolicyOver(base, ev.Data) //workflowcheck:ignore
	if err != nil {
		workflow.GetLogger(ctx).Error("policy change refused", "reason", err.Error())
		return nil
	}
	r.s.Policy = p.ForJourney(workflow.GetInfo(ctx).WorkflowExecution.ID)
	workflow.GetLogger(ctx).Info("policy changed; re-planning")
	return nil
}

// drain applies the inbound events still buffered, stopping at the first that fails.
func (r *runner[F, PF]) drain(ctx workflow.Context) error {
	for {
		var ev events.Event
		if !r.signals.ReceiveAsync(&ev) {
			return nil
		}
		if err := r.apply(ctx, ev); err != nil {
			return fmt.Errorf("%s: %w", ev.Type, err)
		}
	}
}

func (r *runner[F, PF]) publishDue(ctx workflow.Context, due []rules.Occurrence) error {
	for _, o := range due {
		var fields map[string]any
		if o.Fields != nil {
			fields = o.Fields(o.On)
		}
		err := r.publish(ctx, events.Occurrence{
			Type: o.Type, Key: o.Key(), On: o.On, Deadline: o.Deadline, Late: o.Late, At: o.At, Fields: fields,
		})
		if err != nil {
			return err
		}
		if o.Final {
			r.s.Status = StatusClosed
			return nil
		}
	}
	return nil
}

func (r *runner[F, PF]) publish(ctx workflow.Context, o events.Occurrence) error {
	o.Journey = r.journey
	o.WorkflowID = workflow.GetInfo(ctx).WorkflowExecution.ID
	o.MemberID = r.facts().memberID()
	o.DeadlineAt = r.deadlineAt()
	o.ID = r.eventID(ctx, o)
	r.stamp(ctx, &o)
	ev := events.NewJourneyEvent(o)
	if err := r.send(ctx, ev); err != nil {
		return fmt.Errorf("publish %s: %w", o.Type, err)
	}
	r.s.Published = append(r.s.Published, Record{Key: o.Key, Type: o.Type, On: o.On, At: o.At, Late: o.Late})
	return nil
}

// deadlineAt is the journey's deadline instant when its clock is one, else zero.
func (r *runner[F, PF]) deadlineAt() time.Time { return deadlineAt(r.facts(), r.s.Policy) }

// eventID is the id of the journey event o: events.JourneyEventID from versionNumberedIDs,
// else "" (NewJourneyEvent's old form). A journey started before the change asks GetVersion at
// its first publication in a new workflow task; its recorded history, replayed, keeps the old form.
func (r *runner[F, PF]) eventID(ctx workflow.Context, o events.Occurrence) string {
	if r.version >= versionLocalPublish {
		return ""
	}
	if r.versions.get(ctx, changeEventIDs, versionNumberedIDs) < versionNumberedIDs {
		return ""
	}
	n := 1
	for _, p := range r.s.Published {
		if p.Type == o.Type && p.On == o.On {
			n++
		}
	}
	return events.JourneyEventID(o.WorkflowID, o.Type, o.On, n)
}

// stamp sets the instant the event is published, from versionPublishTime (changeEventTime). A
// journey started before the change asks GetVersion at its first publication in a new workflow
// task; its recorded history, replayed, keeps the old meaning.
func (r *runner[F, PF]) stamp(ctx workflow.Context, o *events.Occurrence) {
	if r.version >= versionLocalPublish {
		return
	}
	if r.versions.get(ctx, changeEventTime, versionPublishTime) >= versionPublishTime {
		o.PublishedAt = workflow.Now(ctx).In(r.s.Policy.Zone())
	}
}

// send publishes a journey event: at versionLocalPublish by a local activity first, and
// through the publish activity if that fails; before it, through the publish activity. Both
// carry the event's id as Nats-Msg-Id, so an event the local activity stored before it failed
// is not stored again.
func (r *runner[F, PF]) send(ctx workflow.Context, ev events.JourneyEvent) error {
	var a *activities.Activities
	if r.version >= versionLocalPublish {
		err := workflow.ExecuteLocalActivity(ctx, a.Publish, ev).Get(ctx, nil)
		var cancelled *temporal.CanceledError
		if err == nil || errors.As(err, &cancelled) {
			return err
		}
		workflow.GetLogger(ctx).Warn("journey event not published in the workflow task; handing it to the publish activity",
			"event", ev.Type, "error", err)
	}
	return workflow.ExecuteActivity(ctx, a.Publish, ev).Get(ctx, nil)
}

// updateStatus keeps the journey's status and search attributes current.
func (r *runner[F, PF]) updateStatus(ctx workflow.Context, next *rules.Occurrence) error {
	deadline, at := r.facts().deadline(r.s.Policy), r.deadlineAt()
	switch {
	case r.facts().ended() != "":
		r.s.Status = r.facts().ended()
	case r.s.Status == StatusClosed:
	default:
		r.s.Status = openStatus(r.s.Policy, deadline, at, workflow.Now(ctx))
	}
	a := attrs{
		journey: r.journey, status: r.s.Status, memberKey: r.s.MemberKey, providerKey: r.s.ProviderKey,
		deadline: deadlineInstant(r.s.Policy, deadline, at),
	}
	if next != nil && !r.ended() {
		a.next = next.At
	}
	workflow.SetCurrentDetails(ctx, r.details(next, deadline, at))
	if r.version < versionChangedUpserts {
		return workflow.UpsertTypedSearchAttributes(ctx, a.all()...)
	}
	if updates := a.changed(workflow.GetTypedSearchAttributes(ctx)); len(updates) > 0 {
		return workflow.UpsertTypedSearchAttributes(ctx, updates...)
	}
	return nil
}

// view is the journey as the state query shows it.
func (r *runner[F, PF]) view(now time.Time) View[F] {
	v := View[F]{
		Journey: r.journey, Status: r.s.Status, Deadline: r.facts().deadline(r.s.Policy), DeadlineAt: r.deadlineAt(), Facts: r.s.Facts,
		Published: r.s.Published, Skipped: r.s.Skipped, Applied: max(r.s.AppliedCount, len(r.s.Applied)), Refused: r.s.Refused,
		Held: r.s.Held,
	}
	if !r.ended() {
		v.Ahead = r.s.Policy.Ahead(r.facts().plan(r.s.Policy), now)
		if len(v.Ahead) > 0 {
			v.Next = &v.Ahead[0]
		}
	}
	return v
}

// details is the line the UI shows as the journey's current details: its status, what it waits
// for and its deadline. It travels as a payload, like the rest of the journey's data.
func (r *runner[F, PF]) details(next *rules.Occurrence, deadline rules.Date, at time.Time) string {
	d := r.s.Status
	if next != nil && !r.ended() {
		d += fmt.Sprintf(" · next %s on %s at %s", next.Type, next.On, next.At.In(r.s.Policy.Zone()).Format("15:04 MST"))
	}
	return d + fmt.Sprintf(" · %s %s", deadlineNames[r.journey], showDeadline(r.s.Policy, deadline, at))
}

func (r *runner[F, PF]) ended() bool {
	return r.s.Status == StatusClosed || r.s.Status == StatusCancelled
}

func (r *runner[F, PF]) done(key string) bool {
	has := func(rs []Record) bool {
		return slices.ContainsFunc(rs, func(x Record) bool { return x.Key == key })
	}
	return has(r.s.Published) || has(r.s.Skipped)
}

// continueAsNew starts a fresh run with the same state, once every buffered event is applied.
func (r *runner[F, PF]) continueAsNew(ctx workflow.Context) error {
	if err := r.drain(ctx); err != nil {
		return err
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	info := workflow.GetInfo(ctx)
	r.s.Versions = r.versions.saved()
	return workflow.NewContinueAsNewError(ctx, info.WorkflowType.Name, r.s)
}

func record(o rules.Occurrence) Record {
	return Record{Key: o.Key(), Type: o.Type, On: o.On, At: o.At, Late: o.Late, Superseded: o.Superseded}
}
