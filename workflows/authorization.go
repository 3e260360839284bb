package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// Authorization is docs/rules.md §6: a provider asks the plan to approve a service before it is
// given, and the plan must decide within 5 business days of the information it needs, and not
// more than 7 calendar days after the request (14 for a request received before 2026-01-01, a
// dated block of the policy) or, when the member's health cannot wait, 72 hours. A decision
// missed is a denial on the date the timeframe expires (42 CFR §438.404(c)(5)); a denial or
// modification needs its written notice of action within 2 business days, and not after the
// decision deadline.
//
// Disenrollment does not end it: the plan still owes a decision.
func Authorization(ctx workflow.Context, s State[AuthorizationFacts]) (Outcome, error) {
	return run(ctx, JourneyAuthorization, s)
}

// AuthorizationFacts is what the journey knows about one prior-authorization request.
type AuthorizationFacts struct {
	RequestID   string `json:"requestId"`
	MemberID    string `json:"memberId"`
	ServiceCode string `json:"serviceCode"`
	// Urgency is events.UrgencyStandard or events.UrgencyExpedited.
	Urgency    string    `json:"urgency"`
	ReceivedAt time.Time `json:"receivedAt"`
	// InfoComplete is whether the request came with everything needed to decide; InfoReceived
	// is the day the rest arrived (authorization.info_received).
	InfoComplete bool       `json:"infoComplete"`
	InfoReceived rules.Date `json:"infoReceived,omitzero"`
	// Extended is the day the one extension was taken.
	Extended rules.Date `json:"extended,omitzero"`
	// Decision is approved, denied or modified once decided.
	Decision  string    `json:"decision,omitempty"`
	DecidedAt time.Time `json:"decidedAt,omitzero"`
	// NoticeSent is the day the written notice of a denial or modification was sent.
	NoticeSent rules.Date `json:"noticeSent,omitzero"`
	// Outcome is "" while open, then approved, denied, modified or withdrawn.
	Outcome  string     `json:"outcome,omitempty"`
	ClosedOn rules.Date `json:"closedDate,omitzero"`
	// Rule is the edition of docs/rules.md §6 the journey follows, set when it starts and kept
	// for its life, so that a running journey keeps the rule it started with whatever code
	// replays it: 0 (a journey started before rule2026) or rule2026.
	Rule int `json:"rule,omitempty"`
}

// rule2026 is §6 as rewritten for CMS-0057-F: the deemed denial on the due date at policy
// deemedDenialTime (before: the day after, at the notice hour); the notice of action due by the
// earlier of decision + 2 business days and the decision deadline, never before the decision
// (before: decision + 2 business days); authorization.closed carrying urgency, extended,
// receivedAt and decidedAt for the public metrics. The 7-day cap is not part of it: it is a
// dated block of the policy, which the journey took when it started.
const rule2026 = 1

// appealDays is the member's window to appeal an adverse decision, from its notice
// (42 CFR §438.402(c)(2)(ii)): the notice's appealBy.
const appealDays = 60

// Starts on authorization.requested; the clock starts at receivedAt.
func startAuthorization(ev events.Event, d events.AuthorizationRequestedData, k privacy.Keyer, p rules.Policy) Start {
	f := AuthorizationFacts{
		RequestID: d.RequestID, MemberID: d.MemberID, ServiceCode: d.ServiceCode, Urgency: d.Urgency,
		ReceivedAt: d.ReceivedAt, InfoComplete: *d.InfoComplete, Rule: rule2026,
	}
	id := WorkflowID(k, JourneyAuthorization, d.RequestID)
	return newStart(JourneyAuthorization, id, f, p, MemberKey(k, d.MemberID), ev.ID)
}

// startedOn is the date of the fact that started the journey, for a state recorded before it
// kept one (State.PolicyOn).
func (a *AuthorizationFacts) startedOn(p rules.Policy) rules.Date { return a.received(p) }

func (a *AuthorizationFacts) expedited() bool { return a.Urgency == events.UrgencyExpedited }

func (a *AuthorizationFacts) received(p rules.Policy) rules.Date {
	return rules.DateOf(a.ReceivedAt.In(p.Zone()))
}

// decisionDue is the standard decision's due date: the earlier of the received date + policy
// standardMaxDays calendar days (7 from 2026-01-01, 14 before: the policy block the journey took)
// and the information date + policy standardBusinessDays (5) business days, where the
// information date is the received date when the request was complete, else the date
// authorization.info_received gave (until then, the cap alone). One extension adds policy
// extensionDays (14) calendar days.
func (a *AuthorizationFacts) decisionDue(p rules.Policy) rules.Date {
	ap := p.Authorization
	limit := a.received(p).AddDays(ap.StandardMaxDays)
	due := limit
	switch {
	case a.InfoComplete:
		due = p.BusinessDaysAfter(a.received(p), ap.StandardBusinessDays)
	case !a.InfoReceived.IsZero():
		due = p.BusinessDaysAfter(a.InfoReceived, ap.StandardBusinessDays)
	}
	if due.After(limit) {
		due = limit
	}
	if !a.Extended.IsZero() {
		due = due.AddDays(ap.ExtensionDays)
	}
	return due
}

// deadlineAt is the expedited decision's deadline: receivedAt + policy expeditedHours (72), an
// instant; an extension adds extensionDays × 24 hours. Zero for a standard request, and once an
// adverse decision is made (the journey is then about the notice, a date).
func (a *AuthorizationFacts) deadlineAt(p rules.Policy) time.Time {
	if !a.expedited() || a.adverse() {
		return time.Time{}
	}
	return a.decisionAt(p)
}

// decisionDeadline is the decision's deadline as a date (an instant's date in the policy's zone).
func (a *AuthorizationFacts) decisionDeadline(p rules.Policy) rules.Date {
	if a.expedited() {
		return rules.DateOf(a.decisionAt(p))
	}
	return a.decisionDue(p)
}

// decisionAt is the expedited decision's deadline instant, whatever has been decided.
func (a *AuthorizationFacts) decisionAt(p rules.Policy) time.Time {
	h := p.Authorization.ExpeditedHours
	if !a.Extended.IsZero() {
		h += 24 * p.Authorization.ExtensionDays
	}
	return p.HoursAfter(a.ReceivedAt, h)
}

func (a *AuthorizationFacts) adverse() bool {
	return a.Decision == "denied" || a.Decision == "modified"
}

func (a *AuthorizationFacts) decidedOn(p rules.Policy) rules.Date {
	return rules.DateOf(a.DecidedAt.In(p.Zone()))
}

// noticeDue is the written notice of action's due date: decision date + policy
// noticeBusinessDays (2) business days; from rule2026 no later than the decision deadline's date
// (42 CFR §438.404(c)(3)), but never before the decision date.
func (a *AuthorizationFacts) noticeDue(p rules.Policy) rules.Date {
	due := p.BusinessDaysAfter(a.decidedOn(p), p.Authorization.NoticeBusinessDays)
	if a.Rule < rule2026 {
		return due
	}
	if deadline := a.decisionDeadline(p); deadline.Before(due) {
		due = deadline
	}
	if due.Before(a.decidedOn(p)) {
		due = a.decidedOn(p)
	}
	return due
}

// The journey is about the decision until an adverse one is made, then about its notice.
func (a *AuthorizationFacts) deadline(p rules.Policy) rules.Date {
	if a.adverse() {
		return a.noticeDue(p)
	}
	return a.decisionDeadline(p)
}

func (a *AuthorizationFacts) plan(p rules.Policy) []rules.Due {
	switch {
	case a.Outcome != "":
		return nil
	case a.adverse():
		// authorization.notice_overdue on the day after the notice was due, unless sent.
		due := a.noticeDue(p)
		return []rules.Due{{Type: "authorization.notice_overdue", Date: due.AddDays(1), Deadline: due,
			Fields: fixed(map[string]any{"noticeDueDate": due.String(), "decision": a.Decision})}}
	case a.Decision != "":
		return nil
	case a.expedited():
		return a.expeditedPlan(p)
	}
	return a.standardPlan(p)
}

// Standard: authorization.decision_due_soon policy warnBusinessDaysBefore ([1]) business days
// before the due date; authorization.deemed_denied on the due date at policy deemedDenialTime
// (17:00), so that the notice of a decision not reached goes out on the date the timeframe
// expires (before rule2026: due date + 1 at the notice hour).
func (a *AuthorizationFacts) standardPlan(p rules.Policy) []rules.Due {
	due := a.decisionDue(p)
	var plan []rules.Due
	for _, before := range p.Authorization.WarnBusinessDaysBefore {
		on := p.BusinessDaysAfter(due, -before)
		if on.Before(a.received(p)) {
			continue // a warning before the request arrived warns of nothing
		}
		plan = append(plan, rules.Due{
			Type: "authorization.decision_due_soon", Date: on, Deadline: due, Reminder: true,
			Fields: fixed(map[string]any{"dueDate": due.String(), "businessDaysBefore": before, "urgency": a.Urgency}),
		})
	}
	denied := rules.Due{
		Type: "authorization.deemed_denied", Date: due.AddDays(1), Deadline: due,
		Fields: fixed(map[string]any{"dueDate": due.String(), "urgency": a.Urgency}),
	}
	if a.Rule >= rule2026 {
		denied.Date, denied.At = due, p.DeemedDenialAt(due)
	}
	return append(plan, denied)
}

// Expedited: authorization.decision_due_soon policy warnHoursBefore ([24, 4]) hours before the
// deadline instant; authorization.deemed_denied at the deadline instant itself.
func (a *AuthorizationFacts) expeditedPlan(p rules.Policy) []rules.Due {
	at := a.deadlineAt(p)
	due := rules.DateOf(at)
	var plan []rules.Due
	for _, before := range p.Authorization.WarnHoursBefore {
		warn := at.Add(-time.Duration(before) * time.Hour)
		if warn.Before(a.ReceivedAt) {
			continue
		}
		plan = append(plan, rules.Due{
			Type: "authorization.decision_due_soon", At: warn, Deadline: due, DeadlineAt: at, Reminder: true,
			Fields: fixed(map[string]any{"hoursBefore": before, "urgency": a.Urgency}),
		})
	}
	return append(plan, rules.Due{
		Type: "authorization.deemed_denied", At: at, Deadline: due, DeadlineAt: at,
		Fields: fixed(map[string]any{"urgency": a.Urgency}),
	})
}

// Nothing is published at the start.
func (a *AuthorizationFacts) begin(rules.Policy) []Notice { return nil }

// errIgnored explains an inbound event the journey does not apply; the runner logs it.
var errIgnored = errors.New("ignored")

func (a *AuthorizationFacts) apply(ev events.Event, p rules.Policy) ([]Notice, error) {
	switch ev.Type {
	case events.AuthorizationInfoReceived:
		d, err := events.As[events.AuthorizationInfoReceivedData](ev)
		if err != nil {
			return nil, err
		}
		if a.InfoComplete || !a.InfoReceived.IsZero() || a.Decision != "" || a.expedited() {
			return nil, fmt.Errorf("%w: the information is already complete, or the clock does not wait for it", errIgnored)
		}
		a.InfoReceived = d.ReceivedDate
		return nil, nil
	case events.AuthorizationExtended:
		d, err := events.As[events.AuthorizationExtendedData](ev)
		if err != nil {
			return nil, err
		}
		if !a.Extended.IsZero() || a.Decision != "" {
			return nil, fmt.Errorf("%w: extended once already, or decided", errIgnored)
		}
		// Once: the deadline moves by policy extensionDays; authorization.extension_noticed at
		// once with the new deadline, for the member's letter.
		a.Extended = d.ExtendedOn
		fields := map[string]any{"dueDate": a.decisionDeadline(p).String(), "extensionDays": p.Authorization.ExtensionDays, "urgency": a.Urgency}
		return []Notice{{Type: "authorization.extension_noticed", On: d.ExtendedOn, Fields: fields}}, nil
	case events.AuthorizationDecided:
		d, err := events.As[events.AuthorizationDecidedData](ev)
		if err != nil {
			return nil, err
		}
		if a.Decision != "" {
			return nil, fmt.Errorf("%w: already decided", errIgnored)
		}
		a.Decision, a.DecidedAt = d.Decision, d.DecidedAt
		if a.adverse() {
			return nil, nil // the journey waits for the notice of action
		}
		a.Outcome, a.ClosedOn = d.Decision, a.decidedOn(p)
		return []Notice{{Type: "authorization.closed", On: a.ClosedOn, Fields: a.closedFields(p)}}, nil
	case events.AuthorizationNoticeSent:
		d, err := events.As[events.AuthorizationNoticeSentData](ev)
		if err != nil {
			return nil, err
		}
		if !a.adverse() {
			return nil, fmt.Errorf("%w: no denial or modification to give notice of", errIgnored)
		}
		a.NoticeSent, a.Outcome, a.ClosedOn = d.SentDate, a.Decision, d.SentDate
		return []Notice{{Type: "authorization.closed", On: d.SentDate, Fields: a.closedFields(p)}}, nil
	case events.AuthorizationWithdrawn:
		d, err := events.As[events.AuthorizationWithdrawnData](ev)
		if err != nil {
			return nil, err
		}
		a.Outcome, a.ClosedOn = "withdrawn", d.WithdrawnDate
		f := map[string]any{"outcome": "withdrawn", "urgency": a.Urgency}
		a.metricsFields(p, f)
		return []Notice{{Type: "authorization.closed", On: d.WithdrawnDate, Fields: f}}, nil
	}
	return nil, fmt.Errorf("authorization does not take %s", ev.Type)
}

// closedFields are authorization.closed's data after a decision: the outcome, whether the
// decision was on time and by how much it was late (days for a standard request, hours started
// for an expedited one), and after a notice of action, whether the notice was on time and the
// last day to appeal.
func (a *AuthorizationFacts) closedFields(p rules.Policy) map[string]any {
	f := map[string]any{"outcome": a.Outcome, "urgency": a.Urgency, "decidedAt": a.DecidedAt.In(p.Zone()).Format(time.RFC3339)}
	if a.expedited() {
		at := a.decisionAt(p)
		f["onTime"], f["hoursLate"], f["decisionDeadlineAt"] = !a.DecidedAt.After(at), hoursLate(a.DecidedAt, at), at.Format(time.RFC3339)
	} else {
		due := a.decisionDue(p)
		f["onTime"], f["daysLate"], f["dueDate"] = !a.decidedOn(p).After(due), max(0, a.decidedOn(p).DaysSince(due)), due.String()
	}
	if !a.NoticeSent.IsZero() {
		due := a.noticeDue(p)
		f["noticeDueDate"], f["noticeOnTime"] = due.String(), !a.NoticeSent.After(due)
		f["appealBy"] = a.NoticeSent.AddDays(appealDays).String()
	}
	a.metricsFields(p, f)
	return f
}

// metricsFields adds to authorization.closed, from rule2026, what the public prior-authorization
// metrics need (docs/rules.md §6): whether the timeframe was extended and when the request was
// received (the decision's instant, decidedAt, is there already once decided).
func (a *AuthorizationFacts) metricsFields(p rules.Policy, f map[string]any) {
	if a.Rule < rule2026 {
		return
	}
	f["extended"], f["receivedAt"] = !a.Extended.IsZero(), a.ReceivedAt.In(p.Zone()).Format(time.RFC3339)
}

func (a *AuthorizationFacts) ended() string {
	if a.Outcome != "" {
		return StatusClosed
	}
	return ""
}

func (a *AuthorizationFacts) memberID() string { return a.MemberID }
