package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// AgeOut is docs/rules.md §3: CCS covers members under 21. Before the 21st birthday the plan gives
// early notice so the family can plan the move to adult care; Medi-Cal care continues after 21.
//
// It may sleep for up to 21 years: the runner continues it as new at least once a year, so newer
// code takes it over and its history stays small.
func AgeOut(ctx workflow.Context, s State[AgeOutFacts]) (Outcome, error) {
	return run(ctx, JourneyAgeOut, s)
}

// AgeOutFacts is what the journey knows about one CCS-eligible member.
type AgeOutFacts struct {
	MemberID    string     `json:"memberId"`
	DateOfBirth rules.Date `json:"dateOfBirth"`
	Cancelled   bool       `json:"cancelled,omitempty"`
	// CancelledOn is the effective date of the disenrollment that cancelled it: a member
	// enrolled again on or after it gets a new age-out journey (Start.Reopens).
	CancelledOn rules.Date `json:"cancelledOn,omitzero"`
}

// Starts when a member is known to be CCS-eligible: member.enrolled with ccsEligible: true, or
// an eligible determination of a CCS referral (see CCSReferralFacts).
func startAgeOut(ev events.Event, memberID string, dob rules.Date, k privacy.Keyer, p rules.Policy) Start {
	f := AgeOutFacts{MemberID: memberID, DateOfBirth: dob}
	return newStart(JourneyAgeOut, WorkflowID(k, JourneyAgeOut, memberID), f, p, MemberKey(k, memberID), ev.ID)
}

// A member enrolled again after a disenrollment gets the journeys a new member gets
// (docs/rules.md, Member-wide events): the age-out journey opens again when its last run was
// cancelled by a disenrollment effective on or before the enrollment date.
func reopenAgeOut(s Start, enrolled rules.Date) Start {
	s.reopenFrom = enrolled
	return s
}

// 21st birthday = date of birth + 21 years; a member born on 29 February turns 21 on 1 March in
// a non-leap year, or on 28 February under policy leapDayBirthday "02-28".
func (a *AgeOutFacts) deadline(p rules.Policy) rules.Date { return p.Birthday(a.DateOfBirth, 21) }

func (a *AgeOutFacts) begin(rules.Policy) []Notice { return nil }

func (a *AgeOutFacts) plan(p rules.Policy) []rules.Due {
	if a.Cancelled {
		return nil
	}
	birthday := a.deadline(p)
	var plan []rules.Due
	// Notices ageout.notice on the 21st birthday − policy noticeMonthsBefore ([12, 6, 3, 1])
	// months (clamped), each carrying monthsBefore.
	for _, months := range p.AgeOut.NoticeMonthsBefore {
		plan = append(plan, rules.Due{
			Type: "ageout.notice", Date: birthday.AddMonths(-months), Deadline: birthday, Reminder: true,
			Fields: fixed(map[string]any{"monthsBefore": months}),
		})
	}
	// ageout.aged_out on the 21st birthday.
	plan = append(plan, rules.Due{Type: "ageout.aged_out", Date: birthday, Deadline: birthday, Final: true})
	return plan
}

func (a *AgeOutFacts) apply(ev events.Event, _ rules.Policy) ([]Notice, error) {
	payload, err := ev.Payload()
	if err != nil {
		return nil, err
	}
	switch d := payload.(type) {
	case *events.MemberBirthdateCorrectedData:
		// member.birthdate_corrected: re-plan.
		a.DateOfBirth = d.DateOfBirth
		return nil, nil
	case *events.MemberDisenrolledData:
		// member.disenrolled: ageout.cancelled.
		a.Cancelled, a.CancelledOn = true, d.EffectiveDate
		return []Notice{{Type: "ageout.cancelled", On: d.EffectiveDate}}, nil
	}
	return nil, fmt.Errorf("ageout does not take %s", ev.Type)
}

func (a *AgeOutFacts) ended() string {
	if a.Cancelled {
		return StatusCancelled
	}
	return ""
}

func (a *AgeOutFacts) memberID() string { return a.MemberID }

func (a *AgeOutFacts) endedOn() rules.Date { return a.CancelledOn }
