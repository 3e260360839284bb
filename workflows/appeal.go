package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// Appeal is docs/rules.md §8: a member's request to review an adverse benefit determination,
// filed within 60 days of its notice, acknowledged in writing within 5 days and resolved within
// 30 calendar days (72 hours when expedited); after an upheld appeal the member may ask for a
// State Hearing within 120 days of the notice of resolution. 42 CFR §438.402, §438.406,
// §438.408, §438.410; DHCS APL 21-011; W&I §10951.
//
// Disenrollment does not end it: the plan still owes the member a resolution.
func Appeal(ctx workflow.Context, s State[AppealFacts]) (Outcome, error) {
	return run(ctx, JourneyAppeal, s)
}

// AppealFacts is what the journey knows about one appeal.
type AppealFacts struct {
	AppealID   string     `json:"appealId"`
	MemberID   string     `json:"memberId"`
	ReceivedAt time.Time  `json:"receivedAt"`
	Expedited  bool       `json:"expedited"`
	NoticeDate rules.Date `json:"noticeDate"`
	Extended   rules.Date `json:"extended,omitzero"`
	// Outcome is upheld or overturned once resolved, at ResolvedAt.
	Outcome    string    `json:"outcome,omitempty"`
	ResolvedAt time.Time `json:"resolvedAt,omitzero"`
	// RequestID is the prior-authorization request appealed, when given.
	RequestID string `json:"requestId,omitempty"`
	// Acknowledged is the date of the written acknowledgment (appeal.acknowledged).
	Acknowledged rules.Date `json:"acknowledgedDate,omitzero"`
	// ResolutionNotice is the date of the notice of appeal resolution (the resolved date unless
	// appeal.resolved gave another), from which the State Hearing window runs.
	ResolutionNotice rules.Date `json:"resolutionNoticeDate,omitzero"`
	// Rule is the edition of docs/rules.md §8 the journey follows, set when it starts and kept
	// for its life: 0 (started before appealRule2026: no acknowledgment clock, the hearing window
	// from the resolved date) or appealRule2026.
	Rule int `json:"rule,omitempty"`
}

// appealRule2026 is §8 as corrected: the standard appeal's acknowledgment clock
// (appeal.acknowledgment_overdue), the authorization's requestId carried to appeal.closed, and
// the State Hearing window counted from the notice of resolution's date.
const appealRule2026 = 1

// Starts on appeal.received; the clock starts at receivedAt.
func startAppeal(ev events.Event, d events.AppealReceivedData, k privacy.Keyer, p rules.Policy) Start {
	f := AppealFacts{
		AppealID: d.AppealID, MemberID: d.MemberID, ReceivedAt: d.ReceivedAt, Expedited: *d.Expedited, NoticeDate: d.NoticeDate,
		RequestID: d.RequestID, Rule: appealRule2026,
	}
	id := WorkflowID(k, JourneyAppeal, d.AppealID)
	return newStart(JourneyAppeal, id, f, p, MemberKey(k, d.MemberID), ev.ID)
}

func (a *AppealFacts) startedOn(p rules.Policy) rules.Date { return a.clock(p).receivedOn(p) }

func (a *AppealFacts) clock(p rules.Policy) resolutionClock {
	c := resolutionClock{journey: JourneyAppeal, received: a.ReceivedAt, expedited: a.Expedited, policy: p.Appeal.ResolutionPolicy}
	if !a.Extended.IsZero() {
		c.extendDays = p.Appeal.ExtensionDays
	}
	return c
}

// hearingBy is the last day to ask for a State Hearing after an upheld appeal: the notice of
// resolution's date + policy stateHearingDays (120); before appealRule2026, the resolved date's.
func (a *AppealFacts) hearingBy(p rules.Policy) rules.Date {
	from := rules.DateOf(a.ResolvedAt.In(p.Zone()))
	if a.Rule >= appealRule2026 && !a.ResolutionNotice.IsZero() {
		from = a.ResolutionNotice
	}
	return from.AddDays(p.Appeal.StateHearingDays)
}

// acknowledgeBy is the written acknowledgment's due date: received date + policy
// appeal.acknowledgeDays (5).
func (a *AppealFacts) acknowledgeBy(p rules.Policy) rules.Date {
	return a.clock(p).receivedOn(p).AddDays(p.Appeal.AcknowledgeDays)
}

// The appeal is about its resolution, then, once upheld, about the State Hearing window.
func (a *AppealFacts) deadline(p rules.Policy) rules.Date {
	if a.Outcome == "upheld" {
		return a.hearingBy(p)
	}
	return a.clock(p).due(p)
}

func (a *AppealFacts) deadlineAt(p rules.Policy) time.Time {
	if a.Outcome == "upheld" {
		return time.Time{}
	}
	return a.clock(p).dueAt(p)
}

func (a *AppealFacts) plan(p rules.Policy) []rules.Due {
	switch a.Outcome {
	case "":
		plan := a.clock(p).plan(p)
		// From appealRule2026, standard only: appeal.acknowledgment_overdue on the
		// acknowledgment's due date + 1, unless appeal.acknowledged arrived.
		if a.Rule >= appealRule2026 && !a.Expedited && a.Acknowledged.IsZero() && p.Appeal.AcknowledgeDays > 0 {
			by := a.acknowledgeBy(p)
			plan = append(plan, rules.Due{Type: "appeal.acknowledgment_overdue", Date: by.AddDays(1), Deadline: by,
				Fields: fixed(map[string]any{"acknowledgeBy": by.String()})})
		}
		return plan
	case "upheld":
		// appeal.state_hearing_window_ends on the resolved date + policy stateHearingDays; the
		// journey then ends.
		by := a.hearingBy(p)
		return []rules.Due{{Type: "appeal.state_hearing_window_ends", Date: by, Deadline: by, Final: true,
			Fields: fixed(map[string]any{"hearingBy": by.String()})}}
	}
	return nil
}

// Filed more than policy filingDays (60) after the notice: appeal.received_late at once, for
// review; the journey still runs.
func (a *AppealFacts) begin(p rules.Policy) []Notice {
	received := rules.DateOf(a.ReceivedAt.In(p.Zone()))
	by := a.NoticeDate.AddDays(p.Appeal.FilingDays)
	if !received.After(by) {
		return nil
	}
	return []Notice{{Type: "appeal.received_late", On: received, Fields: map[string]any{
		"noticeDate": a.NoticeDate.String(), "filingDeadline": by.String(), "daysAfterNotice": received.DaysSince(a.NoticeDate),
	}}}
}

func (a *AppealFacts) apply(ev events.Event, p rules.Policy) ([]Notice, error) {
	switch ev.Type {
	case events.AppealAcknowledged:
		d, err := events.As[events.AppealAcknowledgedData](ev)
		if err != nil {
			return nil, err
		}
		if a.Rule < appealRule2026 || !a.Acknowledged.IsZero() || a.Outcome != "" {
			return nil, fmt.Errorf("%w: acknowledged already, resolved, or started before appeals had an acknowledgment clock", errIgnored)
		}
		a.Acknowledged = d.AcknowledgedDate
		return nil, nil
	case events.AppealExtended:
		// Once: + policy extensionDays (14) calendar days, or as many 24 hours;
		// appeal.extension_noticed at once with the new deadline.
		d, err := events.As[events.AppealExtendedData](ev)
		if err != nil {
			return nil, err
		}
		if !a.Extended.IsZero() || a.Outcome != "" {
			return nil, fmt.Errorf("%w: extended once already, or resolved", errIgnored)
		}
		a.Extended = d.ExtendedOn
		return []Notice{{Type: "appeal.extension_noticed", On: d.ExtendedOn, Fields: map[string]any{
			"dueDate": a.clock(p).due(p).String(), "extensionDays": p.Appeal.ExtensionDays, "expedited": a.Expedited,
		}}}, nil
	case events.AppealResolved:
		// appeal.closed (outcome, onTime); upheld: the journey waits for the hearing window.
		d, err := events.As[events.AppealResolvedData](ev)
		if err != nil {
			return nil, err
		}
		if a.Outcome != "" {
			return nil, fmt.Errorf("%w: already resolved", errIgnored)
		}
		fields := a.clock(p).closed(p, d.ResolvedAt)
		a.Outcome, a.ResolvedAt = d.Outcome, d.ResolvedAt
		fields["outcome"] = d.Outcome
		if a.Rule >= appealRule2026 {
			a.ResolutionNotice = d.NoticeDate
			if a.ResolutionNotice.IsZero() {
				a.ResolutionNotice = rules.DateOf(d.ResolvedAt.In(p.Zone()))
			}
			fields["noticeDate"] = a.ResolutionNotice.String()
			if a.RequestID != "" {
				fields["requestId"] = a.RequestID
			}
		}
		if d.Outcome == "upheld" {
			fields["stateHearingBy"] = a.hearingBy(p).String()
		}
		return []Notice{{Type: "appeal.closed", On: rules.DateOf(d.ResolvedAt.In(p.Zone())), Fields: fields}}, nil
	}
	return nil, fmt.Errorf("appeal does not take %s", ev.Type)
}

func (a *AppealFacts) ended() string {
	if a.Outcome == "overturned" {
		return StatusClosed
	}
	return "" // an upheld appeal ends with its hearing window
}

func (a *AppealFacts) memberID() string { return a.MemberID }
