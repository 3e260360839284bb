package workflows

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// skippedBeforeGoLive lists a view's records skipped before go-live as "type date".
func skippedBeforeGoLive(v View[json.RawMessage]) []string {
	var out []string
	for _, r := range v.Skipped {
		if r.BeforeGoLive {
			out = append(out, r.Type+" "+r.On.String())
		}
	}
	return out
}

// A referral imported at go-live (2026-12-16), four days after it, from the plan's open work: its
// opening notice and what fell due before go-live are recorded as skipped, not sent; the
// follow-up due on go-live goes out at once, late; the rest as usual. The age-out journey it
// starts carries the go-live date on.
func TestAReferralImportedAtGoLiveSendsNothingDatedBeforeIt(t *testing.T) {
	jt := newJourneyTest(t, "2026-12-20T10:00:00-08:00")
	jt.signalAt("2027-01-05T14:00:00-08:00", events.CCSEligibilityDetermined, "e-det", determined("eligible", "2027-01-05"))
	end := jt.queryAtEnd()
	starts := jt.route(events.CCSReferralSubmitted, referral("2015-05-05", "Yolo", "independent", true, "D66"))
	jt.runStart(starts[0].WithGoLive(rules.MustDate("2026-12-16")))
	jt.expect(
		"2026-12-20T10:00 ccs.referral.followup_due 2026-12-16 late county=Yolo countyModel=independent daysSinceReferral=44",
		"2026-12-30T09:00 ccs.referral.followup_due 2026-12-30 county=Yolo countyModel=independent daysSinceReferral=58",
		"2027-01-05T14:00 ccs.referral.closed 2027-01-05 outcome=eligible",
		"2027-01-05T14:00 ccs.network.assignment_required 2027-01-05 conditionCode=D66 network=CCN",
	)
	if got, want := skippedBeforeGoLive(end.view), []string{"ccs.referral.opened 2026-11-02"}; !slices.Equal(got, want) {
		t.Errorf("skipped before go-live %v, want %v", got, want)
	}
	if want := []string{"ageout " + WorkflowID(testKeyer, JourneyAgeOut, "M-5001") + " goLive=2026-12-16"}; !slices.Equal(jt.children, want) {
		t.Errorf("children %v, want %v", jt.children, want)
	}
}

// The go-live date is the edge: a claim's overdue notice dated the day before go-live is skipped,
// the one dated go-live is sent, at once and late.
func TestAClaimImportedAtGoLiveOnItsEdgeDates(t *testing.T) {
	for _, c := range []struct {
		goLive string
		want   []string
		before []string
	}{
		{"2027-02-06", []string{
			"2027-02-08T10:00 reimbursement.overdue 2027-02-06 late daysOverdue=8 dueDate=2027-01-29",
			"2027-02-13T09:00 reimbursement.overdue 2027-02-13 daysOverdue=15 dueDate=2027-01-29",
			"2027-02-15T15:00 reimbursement.closed 2027-02-15 daysLate=17 dueDate=2027-01-29 onTime=false outcome=paid",
		}, nil},
		{"2027-02-07", []string{
			"2027-02-13T09:00 reimbursement.overdue 2027-02-13 daysOverdue=15 dueDate=2027-01-29",
			"2027-02-15T15:00 reimbursement.closed 2027-02-15 daysLate=17 dueDate=2027-01-29 onTime=false outcome=paid",
		}, []string{"reimbursement.overdue 2027-02-06"}},
	} {
		t.Run(c.goLive, func(t *testing.T) {
			jt := newJourneyTest(t, "2027-02-08T10:00:00-08:00")
			jt.signalAt("2027-02-15T15:00:00-08:00", events.ReimbursementPaid, "e-paid",
				map[string]any{"claimId": "CLM-1001", "paidDate": "2027-02-15"})
			end := jt.queryAtEnd()
			starts := jt.route(events.ReimbursementSubmitted, claim)
			jt.runStart(starts[0].WithGoLive(rules.MustDate(c.goLive)))
			jt.expect(c.want...)
			if got := skippedBeforeGoLive(end.view); !slices.Equal(got, c.before) {
				t.Errorf("skipped before go-live %v, want %v", got, c.before)
			}
		})
	}
}

// An age-out journey whose member turned 21 before go-live ends without a word: its last event
// fell due under the previous system.
func TestAnAgeOutEndedBeforeGoLiveClosesSilently(t *testing.T) {
	jt := newJourneyTest(t, "2026-12-03T10:00:00-08:00")
	end := jt.queryAtEnd()
	starts := jt.route(events.MemberEnrolled, map[string]any{
		"memberId": "M-7001", "dateOfBirth": "2005-11-20", "enrollmentDate": "2024-01-01", "county": "Yolo",
		"countyModel": "independent", "fullScopeMediCal": true, "ccsEligible": true,
	})
	jt.runStart(starts[0].WithGoLive(rules.MustDate("2026-12-01")))
	jt.expect()
	if end.view.Status != StatusClosed {
		t.Errorf("status %q, want %q", end.view.Status, StatusClosed)
	}
	// The advance notices' deadline had passed: skipped as for any journey started late. The
	// final event is the one go-live holds back.
	if got, want := skippedBeforeGoLive(end.view), []string{"ageout.aged_out 2026-11-20"}; !slices.Equal(got, want) {
		t.Errorf("skipped before go-live %v, want %v", got, want)
	}
}
