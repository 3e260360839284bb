package workflows

import (
	"testing"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

func TestPostpartumLastCoveredDay(t *testing.T) {
	cases := map[string]string{
		"2026-01-01": "2026-12-31", // docs/rules.md §4: 365th day 2026-12-31
		"2026-03-15": "2027-03-31", // 365th day 2027-03-14
		"2026-01-02": "2027-01-31", // 365th day 2027-01-01
		"2027-03-01": "2028-02-29", // 365th day 2028-02-28, a leap February
		"2024-03-01": "2025-02-28", // 365th day 2025-02-28
		"2026-02-28": "2027-02-28", // 365th day 2027-02-27
	}
	for end, want := range cases {
		f := PostpartumFacts{PregnancyEndDate: rules.MustDate(end)}
		if got := f.deadline(rules.DefaultPolicy()).String(); got != want {
			t.Errorf("pregnancy ended %s: last covered day %s, want %s", end, got, want)
		}
	}
}

func TestPostpartumEndedOnNewYearsDay(t *testing.T) {
	jt := newJourneyTest(t, "2026-01-05T10:00:00-08:00")
	jt.run(events.PregnancyEnded, map[string]any{"memberId": "M-3001", "pregnancyEndDate": "2026-01-01"})
	jt.expect(
		"2026-11-01T09:00 postpartum.coverage_ending 2026-11-01 daysBefore=60 lastCoveredDay=2026-12-31",
		"2026-12-01T09:00 postpartum.coverage_ending 2026-12-01 daysBefore=30 lastCoveredDay=2026-12-31",
		"2027-01-01T09:00 postpartum.coverage_ended 2027-01-01 countyRedetermination=true lastCoveredDay=2026-12-31",
	)
}

func TestPostpartumEndedMidMarch(t *testing.T) {
	jt := newJourneyTest(t, "2026-03-16T10:00:00-07:00")
	jt.run(events.PregnancyEnded, map[string]any{"memberId": "M-3001", "pregnancyEndDate": "2026-03-15"})
	jt.expect(
		"2027-01-30T09:00 postpartum.coverage_ending 2027-01-30 daysBefore=60 lastCoveredDay=2027-03-31",
		"2027-03-01T09:00 postpartum.coverage_ending 2027-03-01 daysBefore=30 lastCoveredDay=2027-03-31",
		"2027-04-01T09:00 postpartum.coverage_ended 2027-04-01 countyRedetermination=true lastCoveredDay=2027-03-31",
	)
	if jt.runs != 2 {
		t.Errorf("%d runs, want 2 (continued as new after a year)", jt.runs)
	}
	if got := jt.events[2].Time.Format("-07:00"); got != "-07:00" {
		t.Errorf("coverage_ended after the spring change carries %s", got)
	}
	if got := jt.events[1].Time.Format("-07:00"); got != "-08:00" {
		t.Errorf("the 2027-03-01 notice carries %s", got)
	}
}

func TestPostpartumEndDateCorrectedReplans(t *testing.T) {
	jt := newJourneyTest(t, "2026-03-16T10:00:00-07:00")
	// Another pregnancy's correction is not this journey's.
	jt.signalAt("2026-05-01T10:00:00-07:00", events.PregnancyEndDateCorrected, "e-other",
		map[string]any{"memberId": "M-3001", "previousEndDate": "2025-01-01", "pregnancyEndDate": "2025-01-02"})
	jt.signalAt("2026-06-01T10:00:00-07:00", events.PregnancyEndDateCorrected, "e-corrected",
		map[string]any{"memberId": "M-3001", "previousEndDate": "2026-03-15", "pregnancyEndDate": "2026-02-10"})
	jt.run(events.PregnancyEnded, map[string]any{"memberId": "M-3001", "pregnancyEndDate": "2026-03-15"})
	// 2026-02-10 + 364 = 2027-02-09: last covered day 2027-02-28.
	jt.expect(
		"2026-12-30T09:00 postpartum.coverage_ending 2026-12-30 daysBefore=60 lastCoveredDay=2027-02-28",
		"2027-01-29T09:00 postpartum.coverage_ending 2027-01-29 daysBefore=30 lastCoveredDay=2027-02-28",
		"2027-03-01T09:00 postpartum.coverage_ended 2027-03-01 countyRedetermination=true lastCoveredDay=2027-02-28",
	)
}

func TestPostpartumCancelledOnDisenrollment(t *testing.T) {
	jt := newJourneyTest(t, "2026-03-16T10:00:00-07:00")
	jt.signalAt("2026-08-03T10:00:00-07:00", events.MemberDisenrolled, "e-disenrolled",
		map[string]any{"memberId": "M-3001", "effectiveDate": "2026-08-31", "reason": "moved"})
	jt.run(events.PregnancyEnded, map[string]any{"memberId": "M-3001", "pregnancyEndDate": "2026-03-15"})
	jt.expect("2026-08-03T10:00 postpartum.cancelled 2026-08-31")
}
