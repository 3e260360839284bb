package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// replan is the UpdateReplan handler (`starter replan`): the journey takes the block of the policy
// in force on its starting fact's date, read over its own policy, and re-plans at once. Its
// validator has refused a policy that does not read, so the caller learns which journeys
// refused; Temporal keeps each update's id, so a retried call is applied once, and each call of
// `starter replan` has an id of its own (A, then B, then A again leaves the journey on A).
func (r *runner[F, PF]) replan(ctx workflow.Context, policy json.RawMessage) error {
	// Decoding JSON bytes is deterministic; workflowcheck cannot see through encoding/json's
	// reflection.
	blk, err := r.replanBlock(policy) //workflowcheck:ignore
	if err != nil {
		return err // the validator passed it, so this is not reached
	}
	r.s.Policy, r.s.PolicyFrom = blk.Policy.ForJourney(workflow.GetInfo(ctx).WorkflowExecution.ID), blk.From
	workflow.GetLogger(ctx).Info("policy changed; re-planning", "policyFrom", blk.From.String())
	r.wake.SendAsync(true) // the loop re-plans; one wake-up is enough for several updates
	return nil
}

// replanBlock reads a replan's policy (a book, or one policy as sent before policies were dated)
// over the journey's own, and picks the block in force on the journey's starting fact's date
// (docs/rules.md, Rules in force on a date).
func (r *runner[F, PF]) replanBlock(policy json.RawMessage) (rules.Block, error) {
	book, err := rules.ReadBookOver(r.s.Policy, policy)
	if err != nil {
		return rules.Block{}, err
	}
	on := r.s.PolicyOn
	if s, ok := any(r.facts()).(interface{ startedOn(rules.Policy) rules.Date }); ok && on.IsZero() {
		on = s.startedOn(r.s.Policy) // a state recorded before policies were dated
	}
	return book.On(on), nil
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
		if err := r.catchUp(ctx, on, ev); err != nil {
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
// (docs/rules.md, Time: a fact takes effect on its own date, not on its arrival): the instant of
// a timestamped fact (events.Timed), or the start of its date in the policy's zone
// (events.Dated). Each inbound type declares which, in package events.
func effectiveAt(ev events.Event, p rules.Policy) (time.Time, bool) {
	// Decoding JSON bytes is deterministic; workflowcheck cannot see through encoding/json's
	// reflection (the journeys' apply decodes the event the same way, behind their interface).
	payload, err := ev.Payload() //workflowcheck:ignore
	if err != nil {
		return time.Time{}, false
	}
	if t, ok := payload.(events.Timed); ok {
		return t.EffectiveAt(), true
	}
	if d, ok := effectiveDate(payload); ok {
		return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, p.Zone()), true
	}
	return time.Time{}, false
}

// effectiveDate is the date a dated fact took effect, from the event's decoded data.
func effectiveDate(payload any) (rules.Date, bool) {
	if d, ok := payload.(events.Dated); ok {
		return d.EffectiveOn(), true
	}
	return rules.Date{}, false
}

// catchUp publishes, before a fact ev that took effect at on is applied, what the journey had due
// on the days before it and has not published yet (a journey started late, or a worker away): the
// journey as it stood when the fact took effect. What is published now is late, and a reminder
// whose deadline has passed by now is skipped, as for any late step. From versionClosedNotices, a
// late notice whose purpose ev ends is skipped too (closedByFact). Nothing dated on or after the
// fact's date is published here; after it is applied, the journey decides the rest.
func (r *runner[F, PF]) catchUp(ctx workflow.Context, on time.Time, ev events.Event) error {
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
	r.closeMissed(ctx, &due, ev, until)
	r.supersede(ctx, &due)
	for _, o := range due.Skip {
		r.s.Skipped = append(r.s.Skipped, record(o))
	}
	return r.publishDue(ctx, due.Publish)
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

// errUndecodable is the reason a journey records for a signal whose payload did not decode.
var errUndecodable = errors.New("a signal that does not decode: its payload is not encrypted with a careclock key, or is corrupt (docs/security.md, encrypted-only)")

// receive takes the next inbound event buffered, if any. The SDK drops a signal whose payload
// does not decode (privacy.Codec.EncryptedOnly refuses a plaintext one) and logs it; receive
// records each one it dropped as refused, so that `starter describe` and
// careclock_journey_events_refused show it.
func (r *runner[F, PF]) receive(ctx workflow.Context) (events.Event, bool) {
	before := r.signals.Len()
	var ev events.Event
	ok := r.signals.ReceiveAsync(&ev)
	dropped := before - r.signals.Len()
	if ok {
		dropped--
	}
	for range dropped {
		r.refuse(ctx, events.Event{Type: "(not decodable)"}, errUndecodable)
	}
	return ev, ok
}

// drain applies the inbound events still buffered, stopping at the first that fails.
func (r *runner[F, PF]) drain(ctx workflow.Context) error {
	for {
		ev, ok := r.receive(ctx)
		if !ok {
			return nil
		}
		if err := r.apply(ctx, ev); err != nil {
			return fmt.Errorf("%s: %w", ev.Type, err)
		}
	}
}
