package workflows

import (
	"slices"
	"testing"

	"github.com/careclock/careclock/events"
)

func referral(dob, county, model string, fullScope bool, condition string) map[string]any {
	return map[string]any{
		"referralId": "R-5001", "memberId": "M-5001", "dateOfBirth": dob, "conditionCode": condition,
		"referralDate": "2026-11-02", "county": county, "countyModel": model, "fullScopeMediCal": fullScope,
	}
}

func determined(outcome, date string) map[string]any {
	return map[string]any{"referralId": "R-5001", "outcome": outcome, "determinationDate": date}
}

func TestCCSReferralIndependentCountyEligibleWithACCNCondition(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-02T10:00:00-08:00")
	jt.signalAt("2027-01-05T14:00:00-08:00", events.CCSEligibilityDetermined, "e-det", determined("eligible", "2027-01-05"))
	jt.run(events.CCSReferralSubmitted, referral("2015-05-05", "Yolo", "independent", true, "D66"))
	jt.expect(
		"2026-11-02T10:00 ccs.referral.opened 2026-11-02 county=Yolo countyModel=independent financialEligibility=met referralDate=2026-11-02",
		"2026-11-17T09:00 ccs.referral.application_reminder 2026-11-17 referralDate=2026-11-02",
		"2026-12-02T09:00 ccs.referral.followup_due 2026-12-02 county=Yolo countyModel=independent daysSinceReferral=30",
		"2026-12-16T09:00 ccs.referral.followup_due 2026-12-16 county=Yolo countyModel=independent daysSinceReferral=44",
		"2026-12-30T09:00 ccs.referral.followup_due 2026-12-30 county=Yolo countyModel=independent daysSinceReferral=58",
		"2027-01-05T14:00 ccs.referral.closed 2027-01-05 outcome=eligible",
		"2027-01-05T14:00 ccs.network.assignment_required 2027-01-05 conditionCode=D66 network=CCN",
	)
	// The member's age-out journey is started, under its own id.
	if want := []string{"ageout " + WorkflowID(testKeyer, JourneyAgeOut, "M-5001")}; !slices.Equal(jt.children, want) {
		t.Errorf("children %v, want %v", jt.children, want)
	}
}

func TestCCSReferralDependentCountyApplicationReceivedWithdrawn(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-02T10:00:00-08:00")
	jt.signalAt("2026-11-10T12:00:00-08:00", events.CCSApplicationReceived, "e-app",
		map[string]any{"referralId": "R-5001", "receivedDate": "2026-11-10"})
	jt.signalAt("2027-01-20T12:00:00-08:00", events.CCSReferralWithdrawn, "e-wd",
		map[string]any{"referralId": "R-5001", "withdrawnDate": "2027-01-20"})
	jt.run(events.CCSReferralSubmitted, referral("2015-05-05", "Alpine", "dependent", false, "Q21.0"))
	// No application reminder: the application came first. Follow-ups from referral + 60 days.
	jt.expect(
		"2026-11-02T10:00 ccs.referral.opened 2026-11-02 county=Alpine countyModel=dependent financialEligibility=pending referralDate=2026-11-02",
		"2027-01-01T09:00 ccs.referral.followup_due 2027-01-01 county=Alpine countyModel=dependent daysSinceReferral=60",
		"2027-01-15T09:00 ccs.referral.followup_due 2027-01-15 county=Alpine countyModel=dependent daysSinceReferral=74",
		"2027-01-20T12:00 ccs.referral.closed 2027-01-20 outcome=withdrawn",
	)
	if len(jt.children) != 0 {
		t.Errorf("children %v", jt.children)
	}
}

func TestCCSReferralMemberAlreadyTwentyOne(t *testing.T) {
	// Born 2005-11-02: 21 on the referral date itself.
	jt := newJourneyTest(t, "2026-11-02T10:00:00-08:00")
	jt.run(events.CCSReferralSubmitted, referral("2005-11-02", "Yolo", "independent", true, "D66"))
	jt.expect(
		"2026-11-02T10:00 ccs.referral.opened 2026-11-02 county=Yolo countyModel=independent financialEligibility=met referralDate=2026-11-02",
		"2026-11-02T10:00 ccs.referral.closed 2026-11-02 outcome=ineligible_age",
	)
}

func TestCCSReferralOneDayBeforeTwentyOneIsOpen(t *testing.T) {
	// Born 2005-11-03: 20 on the referral date, so the referral goes on.
	jt := newJourneyTest(t, "2026-11-02T10:00:00-08:00")
	jt.signalAt("2026-11-05T10:00:00-08:00", events.CCSEligibilityDetermined, "e-det", determined("ineligible", "2026-11-05"))
	jt.run(events.CCSReferralSubmitted, referral("2005-11-03", "Yolo", "independent", true, "E84.0"))
	jt.expect(
		"2026-11-02T10:00 ccs.referral.opened 2026-11-02 county=Yolo countyModel=independent financialEligibility=met referralDate=2026-11-02",
		"2026-11-05T10:00 ccs.referral.closed 2026-11-05 outcome=ineligible",
	)
}

func TestCCSReferralTransferredToADependentCounty(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-02T10:00:00-08:00")
	jt.signalAt("2026-11-20T10:00:00-08:00", events.MemberCountyChanged, "e-move",
		map[string]any{"memberId": "M-5001", "county": "Alpine", "countyModel": "dependent", "effectiveDate": "2026-11-20"})
	jt.signalAt("2027-01-10T10:00:00-08:00", events.CCSEligibilityDetermined, "e-det", determined("eligible", "2027-01-10"))
	jt.run(events.CCSReferralSubmitted, referral("2015-05-05", "Yolo", "independent", true, "Z94.1"))
	// Follow-ups continue from the original referral date under the new county model: + 60 days.
	jt.expect(
		"2026-11-02T10:00 ccs.referral.opened 2026-11-02 county=Yolo countyModel=independent financialEligibility=met referralDate=2026-11-02",
		"2026-11-17T09:00 ccs.referral.application_reminder 2026-11-17 referralDate=2026-11-02",
		"2026-11-20T10:00 ccs.referral.transferred 2026-11-20 county=Alpine countyModel=dependent previousCounty=Yolo",
		"2027-01-01T09:00 ccs.referral.followup_due 2027-01-01 county=Alpine countyModel=dependent daysSinceReferral=60",
		"2027-01-10T10:00 ccs.referral.closed 2027-01-10 outcome=eligible",
		"2027-01-10T10:00 ccs.network.assignment_required 2027-01-10 conditionCode=Z94.1 network=CCN",
	)
}

// Two county changes effective on one day publish two transfers; their ids differ by the count
// the id ends with (docs/architecture.md, Journey event ids), so JetStream keeps both.
func TestTwoTransfersOnOneDayHaveTwoIDs(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-02T10:00:00-08:00")
	jt.signalAt("2026-11-20T10:00:00-08:00", events.MemberCountyChanged, "e-move-1",
		map[string]any{"memberId": "M-5001", "county": "Alpine", "countyModel": "dependent", "effectiveDate": "2026-11-20"})
	jt.signalAt("2026-11-20T15:00:00-08:00", events.MemberCountyChanged, "e-move-2",
		map[string]any{"memberId": "M-5001", "county": "Yolo", "countyModel": "independent", "effectiveDate": "2026-11-20"})
	jt.signalAt("2026-11-25T10:00:00-08:00", events.CCSEligibilityDetermined, "e-det", determined("ineligible", "2026-11-25"))
	jt.run(events.CCSReferralSubmitted, referral("2015-05-05", "Yolo", "independent", true, "E84.0"))
	jt.expectIDs(WorkflowID(testKeyer, JourneyCCSReferral, "R-5001"),
		"ccs.referral.opened@2026-11-02#1", "ccs.referral.application_reminder@2026-11-17#1",
		"ccs.referral.transferred@2026-11-20#1", "ccs.referral.transferred@2026-11-20#2",
		"ccs.referral.closed@2026-11-25#1")
}

func TestCCSReferralCancelledOnDisenrollment(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-02T10:00:00-08:00")
	jt.signalAt("2026-11-10T10:00:00-08:00", events.MemberDisenrolled, "e-dis",
		map[string]any{"memberId": "M-5001", "effectiveDate": "2026-11-30"})
	jt.run(events.CCSReferralSubmitted, referral("2015-05-05", "Yolo", "independent", true, "D66"))
	jt.expect(
		"2026-11-02T10:00 ccs.referral.opened 2026-11-02 county=Yolo countyModel=independent financialEligibility=met referralDate=2026-11-02",
		// The disenrollment arrives on 11-10, effective 11-30: the child is still a member when
		// the reminder falls due.
		"2026-11-17T09:00 ccs.referral.application_reminder 2026-11-17 referralDate=2026-11-02",
		"2026-11-30T00:00 ccs.referral.cancelled 2026-11-30",
	)
}

func TestCCNConditions(t *testing.T) {
	yes := []string{"D66", "D67", "D68.0", "D68.01", "D68.1", "D68.2", "N18.6", "Z94.0", "Z94.81", "d66", "D680", "N186"}
	no := []string{"D68.3", "D68.4", "N18.5", "Z95.1", "E84.0", "D6", ""}
	for _, c := range yes {
		if !CCNCondition(c) {
			t.Errorf("%q is a CCN condition", c)
		}
	}
	for _, c := range no {
		if CCNCondition(c) {
			t.Errorf("%q is not a CCN condition", c)
		}
	}
}
