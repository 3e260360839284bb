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
	// Ended is "" while open, then provider_contracted or cancelled. Expiry ends the journey
	// through its final dated event.
	Ended string `json:"ended,omitempty"`
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
func (c *CoCFacts) deadline(rules.Policy) rules.Date {
	return c.TransitionDate.AddMonths(12).AddDays(-1)
}

func (c *CoCFacts) begin(rules.Policy) []Notice { return nil }

func (c *CoCFacts) plan(p rules.Policy) []rules.Due {
	if c.Ended != "" {
		return nil
	}
	last := c.deadline(p)
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
	case *events.ProviderContractedData:
		// provider.contracted for that provider: coc.ended at once (reason provider_contracted).
		if d.ProviderID != c.ProviderID {
			return nil, fmt.Errorf("provider.contracted for another provider")
		}
		c.Ended = "provider_contracted"
		return []Notice{{Type: "coc.ended", On: d.EffectiveDate, Fields: map[string]any{
			"providerId": c.ProviderID, "lastDay": c.deadline(p).String(), "reason": "provider_contracted",
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
