package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// Postpartum is docs/rules.md §4: postpartum coverage lasts 12 months after the pregnancy ends,
// whatever the income, citizenship or immigration status, and needs no action from the member.
func Postpartum(ctx workflow.Context, s State[PostpartumFacts]) (Outcome, error) {
	return run(ctx, JourneyPostpartum, s)
}

// PostpartumFacts is what the journey knows about one pregnancy.
type PostpartumFacts struct {
	MemberID         string     `json:"memberId"`
	PregnancyEndDate rules.Date `json:"pregnancyEndDate"`
	Cancelled        bool       `json:"cancelled,omitempty"`
}

// Starts on pregnancy.ended.
func startPostpartum(ev events.Event, d events.PregnancyEndedData, k privacy.Keyer, p rules.Policy) Start {
	f := PostpartumFacts{MemberID: d.MemberID, PregnancyEndDate: d.PregnancyEndDate}
	id := WorkflowID(k, JourneyPostpartum, d.MemberID, d.PregnancyEndDate.String())
	return newStart(JourneyPostpartum, id, f, p, MemberKey(k, d.MemberID), ev.ID)
}

// The period starts on the last day of pregnancy (day 1) and coverage runs to the last day of
// the month in which the 365th day falls (the 365th day = end date + 364 days).
// Pregnancy ended 2026-03-15: 365th day 2027-03-14, last covered day 2027-03-31.
// Pregnancy ended 2026-01-01: 365th day 2026-12-31, last covered day 2026-12-31.
func (pp *PostpartumFacts) startedOn(rules.Policy) rules.Date { return pp.PregnancyEndDate }

func (pp *PostpartumFacts) deadline(rules.Policy) rules.Date {
	return pp.PregnancyEndDate.AddDays(364).EndOfMonth()
}

func (pp *PostpartumFacts) begin(rules.Policy) []Notice { return nil }

func (pp *PostpartumFacts) plan(p rules.Policy) []rules.Due {
	if pp.Cancelled {
		return nil
	}
	last := pp.deadline(p)
	var plan []rules.Due
	// Notices postpartum.coverage_ending on last covered day − policy noticeDaysBefore ([60, 30]).
	for _, before := range p.Postpartum.NoticeDaysBefore {
		plan = append(plan, rules.Due{
			Type: "postpartum.coverage_ending", Date: last.AddDays(-before), Deadline: last, Reminder: true,
			Fields: fixed(map[string]any{"lastCoveredDay": last.String(), "daysBefore": before}),
		})
	}
	// postpartum.coverage_ended on last covered day + 1. It ends the extension, not Medi-Cal: the
	// county redetermines eligibility, so letters must not say coverage is lost.
	plan = append(plan, rules.Due{
		Type: "postpartum.coverage_ended", Date: last.AddDays(1), Deadline: last, Final: true,
		Fields: fixed(map[string]any{"lastCoveredDay": last.String(), "countyRedetermination": true}),
	})
	return plan
}

func (pp *PostpartumFacts) apply(ev events.Event, _ rules.Policy) ([]Notice, error) {
	payload, err := ev.Payload()
	if err != nil {
		return nil, err
	}
	switch d := payload.(type) {
	case *events.PregnancyEndDateCorrectedData:
		// pregnancy.end_date_corrected: re-plan, when it corrects this pregnancy's end date.
		if d.PreviousEndDate != pp.PregnancyEndDate {
			return nil, fmt.Errorf("correction of another pregnancy")
		}
		pp.PregnancyEndDate = d.PregnancyEndDate
		return nil, nil
	case *events.MemberDisenrolledData:
		// member.disenrolled: postpartum.cancelled.
		pp.Cancelled = true
		return []Notice{{Type: "postpartum.cancelled", On: d.EffectiveDate}}, nil
	}
	return nil, fmt.Errorf("postpartum does not take %s", ev.Type)
}

func (pp *PostpartumFacts) ended() string {
	if pp.Cancelled {
		return StatusCancelled
	}
	return ""
}

func (pp *PostpartumFacts) memberID() string { return pp.MemberID }
