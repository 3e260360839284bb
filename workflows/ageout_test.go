package workflows

import (
	"testing"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

func enrolled(dob string, ccsEligible bool) map[string]any {
	return map[string]any{
		"memberId": "M-4001", "dateOfBirth": dob, "enrollmentDate": "2026-01-01", "county": "Yolo",
		"countyModel": "dependent", "fullScopeMediCal": true, "ccsEligible": ccsEligible,
	}
}

func TestAgeOutBornOnTheTwentyNinthOfFebruary(t *testing.T) {
	// Born 2008-02-29: 21 on 2029-03-01, as 2029 is not a leap year. The journey waits more than
	// two years and continues as new every year without losing or repeating a notice.
	jt := newJourneyTest(t, "2026-11-22T10:00:00-08:00")
	jt.run(events.MemberEnrolled, enrolled("2008-02-29", true))
	jt.expect(
		"2028-03-01T09:00 ageout.notice 2028-03-01 monthsBefore=12",
		"2028-09-01T09:00 ageout.notice 2028-09-01 monthsBefore=6",
		"2028-12-01T09:00 ageout.notice 2028-12-01 monthsBefore=3",
		"2029-02-01T09:00 ageout.notice 2029-02-01 monthsBefore=1",
		"2029-03-01T09:00 ageout.aged_out 2029-03-01",
	)
	if jt.runs != 3 {
		t.Errorf("%d runs, want 3 (continued as new in 2027 and 2028)", jt.runs)
	}
}

// Under policy leapDayBirthday "02-28", the same member turns 21 on 2029-02-28, and every notice
// counts back from that day.
func TestAgeOutLeapDayBirthdayPolicy(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-22T10:00:00-08:00")
	p, err := rules.ParsePolicy([]byte(`{"ageout": {"noticeMonthsBefore": [12, 6, 3, 1], "leapDayBirthday": "02-28"}}`))
	if err != nil {
		t.Fatal(err)
	}
	jt.policy = p
	jt.run(events.MemberEnrolled, enrolled("2008-02-29", true))
	jt.expect(
		"2028-02-28T09:00 ageout.notice 2028-02-28 monthsBefore=12",
		"2028-08-28T09:00 ageout.notice 2028-08-28 monthsBefore=6",
		"2028-11-28T09:00 ageout.notice 2028-11-28 monthsBefore=3",
		"2029-01-28T09:00 ageout.notice 2029-01-28 monthsBefore=1",
		"2029-02-28T09:00 ageout.aged_out 2029-02-28",
	)
}

func TestAgeOutBirthdayOnTheThirtyFirstClampsItsNotices(t *testing.T) {
	jt := newJourneyTest(t, "2026-01-05T10:00:00-08:00")
	jt.run(events.MemberEnrolled, enrolled("2006-08-31", true))
	jt.expect(
		"2026-08-31T09:00 ageout.notice 2026-08-31 monthsBefore=12",
		"2027-02-28T09:00 ageout.notice 2027-02-28 monthsBefore=6",
		"2027-05-31T09:00 ageout.notice 2027-05-31 monthsBefore=3",
		"2027-07-31T09:00 ageout.notice 2027-07-31 monthsBefore=1",
		"2027-08-31T09:00 ageout.aged_out 2027-08-31",
	)
}

func TestAgeOutBirthdateCorrectedReplans(t *testing.T) {
	jt := newJourneyTest(t, "2026-01-05T10:00:00-08:00")
	jt.signalAt("2026-09-15T10:00:00-07:00", events.MemberBirthdateCorrected, "e-dob",
		map[string]any{"memberId": "M-4001", "dateOfBirth": "2006-10-15"})
	jt.run(events.MemberEnrolled, enrolled("2006-08-31", true))
	// The 12-month notice for the old birthday was sent; the corrected plan sends its own.
	jt.expect(
		"2026-08-31T09:00 ageout.notice 2026-08-31 monthsBefore=12",
		"2026-10-15T09:00 ageout.notice 2026-10-15 monthsBefore=12",
		"2027-04-15T09:00 ageout.notice 2027-04-15 monthsBefore=6",
		"2027-07-15T09:00 ageout.notice 2027-07-15 monthsBefore=3",
		"2027-09-15T09:00 ageout.notice 2027-09-15 monthsBefore=1",
		"2027-10-15T09:00 ageout.aged_out 2027-10-15",
	)
}

func TestAgeOutCancelledOnDisenrollment(t *testing.T) {
	jt := newJourneyTest(t, "2026-01-05T10:00:00-08:00")
	jt.signalAt("2026-09-01T08:00:00-07:00", events.MemberDisenrolled, "e-disenrolled",
		map[string]any{"memberId": "M-4001", "effectiveDate": "2026-09-30"})
	jt.run(events.MemberEnrolled, enrolled("2006-08-31", true))
	jt.expect(
		"2026-08-31T09:00 ageout.notice 2026-08-31 monthsBefore=12",
		"2026-09-30T00:00 ageout.cancelled 2026-09-30", // on its date, not on its arrival
	)
}

func TestAgeOutStartsOnlyForCCSEligibleMembers(t *testing.T) {
	jt := newJourneyTest(t, "2026-01-05T10:00:00-08:00")
	if starts := jt.route(events.MemberEnrolled, enrolled("2010-01-01", false)); len(starts) != 0 {
		t.Fatalf("not CCS-eligible: %d journeys", len(starts))
	}
}

// A re-enrolled member's age-out journey, opened again under its workflow id, publishes ids of
// its run (#<n>.r2): JetStream keeps them, though the first run published the same types on the
// same dates within the duplicate window.
func TestAReopenedAgeOutNumbersItsRunInItsEventIDs(t *testing.T) {
	jt := newJourneyTest(t, "2026-08-01T10:00:00-07:00")
	starts := jt.route(events.MemberEnrolled, enrolled("2005-09-15", true))
	jt.runStart(starts[0].Reopened(Outcome{Status: StatusCancelled, EndedOn: rules.MustDate("2026-07-01")}))
	id := starts[0].WorkflowID
	jt.expectIDs(id,
		"ageout.notice@2026-06-15#1.r2",
		"ageout.notice@2026-08-15#1.r2",
		"ageout.aged_out@2026-09-15#1.r2",
	)
}
