package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// CCSReferral is docs/rules.md §1: anyone may refer a child under 21 to the CCS program of the
// county of residence; the county decides medical, residential and financial eligibility. Each
// condition is its own referral.
func CCSReferral(ctx workflow.Context, s State[CCSReferralFacts]) (Outcome, error) {
	return run(ctx, JourneyCCSReferral, s)
}

// CCSReferralFacts is what the journey knows about one referral.
type CCSReferralFacts struct {
	ReferralID       string     `json:"referralId"`
	MemberID         string     `json:"memberId"`
	DateOfBirth      rules.Date `json:"dateOfBirth"`
	ConditionCode    string     `json:"conditionCode"`
	ReferralDate     rules.Date `json:"referralDate"`
	County           string     `json:"county"`
	CountyModel      string     `json:"countyModel"`
	FullScopeMediCal bool       `json:"fullScopeMediCal"`
	// ApplicationReceived is set by ccs.application.received.
	ApplicationReceived rules.Date `json:"applicationReceived,omitempty"`
	// Outcome is "" while open, then eligible, ineligible, withdrawn, ineligible_age or
	// cancelled.
	Outcome string `json:"outcome,omitempty"`
	// AgeOutID and MemberKey start the member's age-out journey on an eligible determination.
	AgeOutID  string `json:"ageOutId"`
	MemberKey string `json:"memberKey"`
}

// applicationReturnDays is when a returned application still counts from the referral date
// (22 CCR 41514: mailed within 5 days, returned within 20 days of mailing): the deadline the
// application reminder is about.
const applicationReturnDays = 25

// Starts on ccs.referral.submitted.
func startCCSReferral(ev events.Event, d events.CCSReferralSubmittedData, k privacy.Keyer, p rules.Policy) Start {
	f := CCSReferralFacts{
		ReferralID: d.ReferralID, MemberID: d.MemberID, DateOfBirth: d.DateOfBirth,
		ConditionCode: d.ConditionCode, ReferralDate: d.ReferralDate, County: d.County,
		CountyModel: d.CountyModel, FullScopeMediCal: *d.FullScopeMediCal,
		AgeOutID: WorkflowID(k, JourneyAgeOut, d.MemberID), MemberKey: MemberKey(k, d.MemberID),
	}
	id := WorkflowID(k, JourneyCCSReferral, d.ReferralID)
	return newStart(JourneyCCSReferral, id, f, p, f.MemberKey, ev.ID)
}

// The referral is about the county's determination, expected referral date + policy
// expectedDeterminationDays (independent 30, dependent 60; 22 CCR 41610).
func (c *CCSReferralFacts) startedOn(rules.Policy) rules.Date { return c.ReferralDate }

func (c *CCSReferralFacts) deadline(p rules.Policy) rules.Date {
	return c.ReferralDate.AddDays(p.CCSReferral.ExpectedDeterminationDays.For(c.CountyModel))
}

func (c *CCSReferralFacts) begin(p rules.Policy) []Notice {
	// At once: ccs.referral.opened with county, county model and financial eligibility: met
	// when the member has full-scope Medi-Cal, else pending.
	financial := "pending"
	if c.FullScopeMediCal {
		financial = "met"
	}
	notices := []Notice{{Type: "ccs.referral.opened", On: c.ReferralDate, Fields: map[string]any{
		"county": c.County, "countyModel": c.CountyModel, "financialEligibility": financial,
		"referralDate": c.ReferralDate.String(),
	}}}
	// If the member is 21 or older on the referral date: closed with outcome ineligible_age,
	// and the journey ends.
	if !c.ReferralDate.Before(p.Birthday(c.DateOfBirth, 21)) {
		c.Outcome = "ineligible_age"
		notices = append(notices, c.closed(c.ReferralDate))
	}
	return notices
}

func (c *CCSReferralFacts) plan(p rules.Policy) []rules.Due {
	if c.Outcome != "" {
		return nil
	}
	var plan []rules.Due
	// Application reminder on referral date + 15 days, unless the application came first.
	if c.ApplicationReceived.IsZero() {
		plan = append(plan, rules.Due{
			Type: "ccs.referral.application_reminder", Date: c.ReferralDate.AddDays(p.CCSReferral.ApplicationReminderDays),
			Deadline: c.ReferralDate.AddDays(applicationReturnDays), Reminder: true,
			Fields: fixed(map[string]any{"referralDate": c.ReferralDate.String()}),
		})
	}
	// Follow-up on referral date + expectedDeterminationDays for the county model, then every
	// followupRepeatDays (14) until a determination arrives. After a transfer, follow-ups run
	// from the original referral date under the new county model.
	expected := c.deadline(p)
	plan = append(plan, rules.Due{
		Type: "ccs.referral.followup_due", Date: expected, Deadline: expected,
		EveryDays: p.CCSReferral.FollowupRepeatDays,
		Fields: func(on rules.Date) map[string]any {
			return map[string]any{"county": c.County, "countyModel": c.CountyModel, "daysSinceReferral": on.DaysSince(c.ReferralDate)}
		},
	})
	return plan
}

func (c *CCSReferralFacts) apply(ev events.Event, p rules.Policy) ([]Notice, error) {
	payload, err := ev.Payload()
	if err != nil {
		return nil, err
	}
	switch d := payload.(type) {
	case *events.CCSApplicationReceivedData:
		c.ApplicationReceived = d.ReceivedDate
		return nil, nil
	case *events.MemberCountyChangedData:
		// Inter-county transfer: ccs.referral.transferred at once with the new county.
		from := c.County
		c.County, c.CountyModel = d.County, d.CountyModel
		return []Notice{{Type: "ccs.referral.transferred", On: d.EffectiveDate, Fields: map[string]any{
			"county": d.County, "countyModel": d.CountyModel, "previousCounty": from,
		}}}, nil
	case *events.CCSEligibilityDeterminedData:
		c.Outcome = d.Outcome
		notices := []Notice{c.closed(d.DeterminationDate)}
		if d.Outcome == "eligible" {
			// The member's age-out journey is started if not already running.
			ageOut := AgeOutFacts{MemberID: c.MemberID, DateOfBirth: c.DateOfBirth}
			start := newStart(JourneyAgeOut, c.AgeOutID, ageOut, p, c.MemberKey, ev.ID)
			start.from = d.DeterminationDate
			notices = append(notices, Notice{Start: &start})
			// Hemophilia, end-stage renal disease or a transplant: the plan's own network.
			if CCNCondition(c.ConditionCode) {
				notices = append(notices, Notice{Type: "ccs.network.assignment_required", On: d.DeterminationDate,
					Fields: map[string]any{"network": "CCN", "conditionCode": c.ConditionCode}})
			}
		}
		return notices, nil
	case *events.CCSReferralWithdrawnData:
		c.Outcome = "withdrawn"
		return []Notice{c.closed(d.WithdrawnDate)}, nil
	case *events.MemberDisenrolledData:
		c.Outcome = "cancelled"
		return []Notice{{Type: "ccs.referral.cancelled", On: d.EffectiveDate}}, nil
	}
	return nil, fmt.Errorf("ccs-referral does not take %s", ev.Type)
}

func (c *CCSReferralFacts) closed(on rules.Date) Notice {
	return Notice{Type: "ccs.referral.closed", On: on, Fields: map[string]any{"outcome": c.Outcome}}
}

func (c *CCSReferralFacts) ended() string {
	switch c.Outcome {
	case "":
		return ""
	case "cancelled":
		return StatusCancelled
	}
	return StatusClosed
}

func (c *CCSReferralFacts) memberID() string { return c.MemberID }

// CCNCondition reports whether an ICD-10 code is one the plan's CCN network serves: hemophilia
// (D66, D67, D68.0, D68.1, D68.2), end-stage renal disease (N18.6) or a transplant (Z94.*),
// with or without the dot and with any further digits (D68.01 is within D68.0).
func CCNCondition(code string) bool {
	code = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), ".", ""))
	for _, prefix := range []string{"D66", "D67", "D680", "D681", "D682", "N186", "Z94"} {
		if strings.HasPrefix(code, prefix) {
			return true
		}
	}
	return false
}
