package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// CoC is docs/rules.md §2: a member moving into the Whole Child Model may keep a CCS provider who
// has no contract with the plan for up to 12 months after the move.
func CoC(ctx workflow.Context, s State[CoCFacts]) (Outcome, error) {
	return run(ctx, JourneyCoC, s)
}

// CoCFacts is what the journey knows about one member and one non-contracted provider.
type CoCFacts struct {
	MemberID       string     `json:"memberId"`
	ProviderID     string     `json:"providerId"`
	TransitionDate rules.Date `json:"transitionDate"`
	// Ended is "" while open, then provider_contracted, denied or cancelled. Expiry ends the
	// journey through its final dated event.
	Ended string `json:"ended,omitempty"`
	// A journey started by coc.requested is in its requested phase until coc.decided: Requested
	// is the request date, Urgency its urgency; Decision is approved or denied once decided.
	Requested    rules.Date `json:"requestDate,omitzero"`
	Urgency      string     `json:"urgency,omitempty"`
	Decision     string     `json:"decision,omitempty"`
	DecisionDate rules.Date `json:"decisionDate,omitzero"`
}

// Starts on coc.requested, in the requested phase: one journey for the member and the provider,
// the same one a transition would start.
func startCoCRequest(ev events.Event, d events.CoCRequestedData, k privacy.Keyer, p rules.Policy) Start {
	f := CoCFacts{MemberID: d.MemberID, ProviderID: d.ProviderID, TransitionDate: d.TransitionDate,
		Requested: d.RequestDate, Urgency: d.Urgency}
	id := WorkflowID(k, JourneyCoC, d.MemberID, d.ProviderID)
	s := newStart(JourneyCoC, id, f, p, MemberKey(k, d.MemberID), ev.ID)
	return withProvider[CoCFacts](s, ProviderKey(k, d.ProviderID))
}

// requesting reports whether the journey waits for the decision on a request.
func (c *CoCFacts) requesting() bool { return !c.Requested.IsZero() && c.Decision == "" }

// decisionDue is a request's decision due date: request date + policy decisionDays by urgency
// (standard 30, urgent 15, immediate_risk 3).
func (c *CoCFacts) decisionDue(p rules.Policy) rules.Date {
	return c.Requested.AddDays(p.CoC.DecisionDays.For(c.Urgency))
}

// requestPlan: coc.decision_due_soon on due − policy decisionReminderDaysBefore ([5, 1]);
// coc.decision_overdue on due + 1, then every policy decisionOverdueRepeatDays (7).
func (c *CoCFacts) requestPlan(p rules.Policy) []rules.Due {
	due := c.decisionDue(p)
	var plan []rules.Due
	for _, before := range p.CoC.DecisionReminderDaysBefore {
		if on := due.AddDays(-before); !on.Before(c.Requested) {
			plan = append(plan, rules.Due{Type: "coc.decision_due_soon", Date: on, Deadline: due, Reminder: true,
				Fields: fixed(map[string]any{"providerId": c.ProviderID, "decisionDueDate": due.String(), "daysBefore": before, "urgency": c.Urgency})})
		}
	}
	return append(plan, rules.Due{Type: "coc.decision_overdue", Date: due.AddDays(1), Deadline: due, EveryDays: p.CoC.DecisionOverdueRepeatDays,
		Fields: func(on rules.Date) map[string]any {
			return map[string]any{"providerId": c.ProviderID, "decisionDueDate": due.String(), "daysOverdue": on.DaysSince(due), "urgency": c.Urgency}
		}})
}

// Starts on wcm.transitioned: one journey for each listed provider with contracted: false.
func startCoC(ev events.Event, d events.WCMTransitionedData, k privacy.Keyer, p rules.Policy) []Start {
	var starts []Start
	for _, pr := range d.Providers {
		if *pr.Contracted {
			continue
		}
		f := CoCFacts{MemberID: d.MemberID, ProviderID: pr.ProviderID, TransitionDate: d.TransitionDate}
		id := WorkflowID(k, JourneyCoC, d.MemberID, pr.ProviderID)
		s := newStart(JourneyCoC, id, f, p, MemberKey(k, d.MemberID), ev.ID)
		starts = append(starts, withProvider[CoCFacts](s, ProviderKey(k, pr.ProviderID)))
	}
	return starts
}

// Last day = transition date + 12 months (clamped) − 1 day. Transition 2019-07-01: last day
// 2020-06-30.
// In the requested phase, the journey is about the decision's due date.
func (c *CoCFacts) startedOn(rules.Policy) rules.Date {
	if !c.Requested.IsZero() {
		return c.Requested
	}
	return c.TransitionDate
}

func (c *CoCFacts) deadline(p rules.Policy) rules.Date {
	if c.requesting() {
		return c.decisionDue(p)
	}
	return c.lastDay()
}

func (c *CoCFacts) lastDay() rules.Date { return c.TransitionDate.AddMonths(12).AddDays(-1) }

func (c *CoCFacts) begin(rules.Policy) []Notice { return nil }

func (c *CoCFacts) plan(p rules.Policy) []rules.Due {
	if c.Ended != "" {
		return nil
	}
	if c.requesting() {
		return c.requestPlan(p)
	}
	last := c.lastDay()
	var plan []rules.Due
	// Notices coc.ending on last day − policy noticeDaysBefore ([60, 30]).
	for _, before := range p.CoC.NoticeDaysBefore {
		plan = append(plan, rules.Due{
			Type: "coc.ending", Date: last.AddDays(-before), Deadline: last, Reminder: true,
			Fields: fixed(map[string]any{"providerId": c.ProviderID, "lastDay": last.String(), "daysBefore": before}),
		})
	}
	// coc.ended (reason period_expired) on last day + 1.
	plan = append(plan, rules.Due{
		Type: "coc.ended", Date: last.AddDays(1), Deadline: last, Final: true,
		Fields: fixed(map[string]any{"providerId": c.ProviderID, "lastDay": last.String(), "reason": "period_expired"}),
	})
	return plan
}

func (c *CoCFacts) apply(ev events.Event, p rules.Policy) ([]Notice, error) {
	payload, err := ev.Payload()
	if err != nil {
		return nil, err
	}
	switch d := payload.(type) {
	case *events.CoCDecidedData:
		if !c.requesting() {
			return nil, fmt.Errorf("%w: no request waits for a decision", errIgnored)
		}
		c.Decision, c.DecisionDate = d.Decision, d.DecisionDate
		due := c.decisionDue(p)
		if d.Decision == "approved" {
			// approved: coc.approved at once, for the member's letter and the timeliness
			// record; the 12-month period runs, still counted from the transition date.
			return []Notice{{Type: "coc.approved", On: d.DecisionDate, Fields: map[string]any{
				"providerId": c.ProviderID, "decisionDueDate": due.String(), "onTime": !d.DecisionDate.After(due),
				"daysLate": max(0, d.DecisionDate.DaysSince(due)), "lastDay": c.lastDay().String(), "urgency": c.Urgency,
			}}}, nil
		}
		// denied: coc.closed (outcome denied, onTime).
		c.Ended = "denied"
		return []Notice{{Type: "coc.closed", On: d.DecisionDate, Fields: map[string]any{
			"providerId": c.ProviderID, "outcome": "denied", "decisionDueDate": due.String(),
			"onTime": !d.DecisionDate.After(due), "urgency": c.Urgency,
		}}}, nil
	case *events.ProviderContractedData:
		// provider.contracted for that provider: coc.ended at once (reason provider_contracted).
		if d.ProviderID != c.ProviderID {
			return nil, fmt.Errorf("provider.contracted for another provider")
		}
		c.Ended = "provider_contracted"
		return []Notice{{Type: "coc.ended", On: d.EffectiveDate, Fields: map[string]any{
			"providerId": c.ProviderID, "lastDay": c.lastDay().String(), "reason": "provider_contracted",
		}}}, nil
	case *events.MemberDisenrolledData:
		// member.disenrolled: coc.cancelled.
		c.Ended = "cancelled"
		return []Notice{{Type: "coc.cancelled", On: d.EffectiveDate, Fields: map[string]any{"providerId": c.ProviderID}}}, nil
	}
	return nil, fmt.Errorf("coc does not take %s", ev.Type)
}

func (c *CoCFacts) ended() string {
	switch c.Ended {
	case "":
		return ""
	case "cancelled":
		return StatusCancelled
	}
	return StatusClosed
}

func (c *CoCFacts) memberID() string { return c.MemberID }
