package workflows

import (
	"encoding/json"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// changeClosedNotices versions docs/rules.md's rule that a missed notice whose purpose is over is
// not sent (Time). From versionClosedNotices, when a journey applies a closing fact (closingFacts)
// and would first publish, late, notices dated before it that the fact makes pointless (a claim's
// overdue notices once it is paid, an authorization's warning and deemed denial once it is
// decided), it publishes none of them: each is recorded as skipped, closed, and the closing event
// carries the timeliness. Before it, they were published late, then the close. Asked only when a
// step has such a notice, the one case where the answer differs.
const (
	changeClosedNotices  = "closed-notices"
	versionClosedNotices = workflow.Version(1)
)

// closingFacts are the inbound facts that end the purpose of a journey's notices, or of some of
// them: paid, decided, resolved, withdrawn, contracted, disenrolled, and an application or
// acknowledgment received. A correction (resubmitted, information received, extended, a date
// corrected, a county changed) re-plans instead: what it drops was due under the facts of its
// day.
var closingFacts = []string{
	events.MemberDisenrolled, events.CCSApplicationReceived, events.CCSEligibilityDetermined, events.CCSReferralWithdrawn,
	events.ProviderContracted, events.CoCDecided, events.ReimbursementDecided, events.ReimbursementPaid,
	events.AuthorizationDecided, events.AuthorizationNoticeSent, events.AuthorizationWithdrawn,
	events.GrievanceAcknowledged, events.GrievanceResolved, events.AppealAcknowledged, events.AppealResolved,
}

// closeMissed moves to due.Skip, marked Closed, the late notices of due.Publish whose purpose the
// closing fact ev ends: those the journey's plan no longer has once ev is applied (so that a claim
// approved but not yet paid still gets its overdue notices). The journey's facts are untouched:
// ev is applied to a copy.
func (r *runner[F, PF]) closeMissed(ctx workflow.Context, due *rules.Step, ev events.Event, until time.Time) {
	if !slices.Contains(closingFacts, ev.Type) || !slices.ContainsFunc(due.Publish, func(o rules.Occurrence) bool { return o.Late }) {
		return
	}
	after, ok := r.planAfter(ev, until)
	if !ok {
		return
	}
	var publish, closed []rules.Occurrence
	for _, o := range due.Publish {
		if o.Late && !after[o.Key()] {
			o.Closed = true
			closed = append(closed, o)
			continue
		}
		publish = append(publish, o)
	}
	if len(closed) == 0 || r.versions.get(ctx, changeClosedNotices, versionClosedNotices) < versionClosedNotices {
		return
	}
	for _, o := range closed {
		workflow.GetLogger(ctx).Info("missed notice not sent: the journey already knows the fact that ends its purpose",
			"event", o.Type, "date", o.On.String(), "fact", ev.Type)
	}
	due.Publish = publish
	due.Skip = append(due.Skip, closed...)
	slices.SortStableFunc(due.Skip, func(a, b rules.Occurrence) int { return a.At.Compare(b.At) })
}

// planAfter is the keys of the occurrences due by until in the journey's plan once ev is applied
// to a copy of its facts; false when ev does not apply.
func (r *runner[F, PF]) planAfter(ev events.Event, until time.Time) (map[string]bool, bool) {
	// A copy through JSON, so that applying ev to it cannot reach the facts' own slices.
	// Encoding and decoding JSON bytes is deterministic; workflowcheck cannot see through
	// encoding/json's reflection.
	b, err := json.Marshal(r.s.Facts) //workflowcheck:ignore
	if err != nil {
		return nil, false
	}
	var cp F
	if err := json.Unmarshal(b, &cp); err != nil { //workflowcheck:ignore
		return nil, false
	}
	if _, err := PF(&cp).apply(ev, r.s.Policy); err != nil {
		return nil, false
	}
	keys := map[string]bool{}
	if PF(&cp).ended() == "" {
		step := r.s.Policy.Step(PF(&cp).plan(r.s.Policy), func(string) bool { return false }, until)
		for _, o := range append(step.Publish, step.Skip...) {
			keys[o.Key()] = true
		}
	}
	return keys, true
}
