package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/rules"
)

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
		PolicyFrom: rules.BlockName(r.s.PolicyFrom),
		Published:  r.s.Published, Skipped: r.s.Skipped, Applied: max(r.s.AppliedCount, len(r.s.Applied)), Refused: r.s.Refused,
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
