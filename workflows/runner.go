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

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// maxRunAge bounds one workflow run: a journey that waits longer continues as new with its state,
// so that newer code takes it over and its history stays small.
const maxRunAge = 365 * 24 * time.Hour

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
	// cancelIgnored is set once a cancellation found a journey recorded before
	// changeCancelWakes with nothing due, which ignored it.
	cancelIgnored bool
	// version is the journey's changeLocalPublish version, asked at the start of every run.
	version workflow.Version
}

func (r *runner[F, PF]) facts() PF { return PF(&r.s.Facts) }

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
			_, err := r.replanBlock(policy) //workflowcheck:ignore
			return err
		},
	})
	if err != nil {
		return fmt.Errorf("register %s update: %w", UpdateReplan, err)
	}
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
			step.SkipBefore(r.s.GoLive)
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
				switch {
				case o.BeforeGoLive:
					log.Info("notice skipped: due before go-live", "event", o.Type, "date", o.On.String())
				case o.Superseded:
					log.Info("notice skipped: a later one of its series is published", "event", o.Type, "date", o.On.String())
				default:
					log.Info("reminder skipped: its deadline has passed", "event", o.Type, "date", o.On.String())
				}
				if o.Final {
					r.s.Status = StatusClosed // it ended before go-live, under the previous system
				}
			}
			if r.ended() {
				step.Publish = nil
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
	o := Outcome{Status: r.s.Status, Run: r.s.Run}
	if e, ok := any(r.facts()).(interface{ endedOn() rules.Date }); ok {
		o.EndedOn = e.endedOn()
	}
	return o
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
	// ReceiveAsync, not Receive: a signal that does not decode is dropped, and Receive would then
	// wait inside the selector for the next good one, leaving the timer unserved (receive).
	sel.AddReceive(r.signals, func(c workflow.ReceiveChannel, _ bool) { ev, _ = r.receive(ctx) })
	woken := false
	sel.AddReceive(r.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); woken = true })
	cancelled := false
	if d == 0 && !r.cancelIgnored {
		// With no timer to cancel, a cancellation wakes the journey itself.
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { cancelled = true })
	}
	sel.Select(ctx)
	if timerErr != nil {
		return timerErr // the workflow was cancelled
	}
	if cancelled {
		if r.versions.get(ctx, changeCancelWakes, versionCancelWakes) >= versionCancelWakes {
			return temporal.NewCanceledError()
		}
		r.cancelIgnored = true // as before: only an inbound event wakes it
		return nil
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
	if !r.s.GoLive.IsZero() {
		// And a journey imported at go-live, its go-live date.
		s = s.WithGoLive(r.s.GoLive)
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
	r.s.Versions = r.versions.saved() //workflowcheck:ignore a copy of a map is the same whatever the order it is copied in
	return workflow.NewContinueAsNewError(ctx, info.WorkflowType.Name, r.s)
}
