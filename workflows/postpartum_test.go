package workflows

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

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
	jt.expect("2026-08-31T00:00 postpartum.cancelled 2026-08-31")
}

// docs/rules.md, Time: a fact takes effect on its own date. A disenrollment sent 10 days before
// a notice and effective 10 days after it leaves the notice published, then cancels the
// journey on its date; describe shows it held meanwhile. A journey started before
// changeFutureFacts applies it on arrival, as it did.
func TestPostpartumDisenrollmentInTheFutureLeavesTheNoticeBeforeIt(t *testing.T) {
	for _, c := range []struct {
		name   string
		prefer worker.PreferredVersionProvider
		want   []string
	}{
		{"held until its date", nil, []string{
			"2027-01-30T09:00 postpartum.coverage_ending 2027-01-30 daysBefore=60 lastCoveredDay=2027-03-31",
			"2027-02-09T00:00 postpartum.cancelled 2027-02-09",
		}},
		{"before future-facts", func(in worker.PreferredVersionProviderInput) *worker.VersionPreference {
			if in.ChangeID == changeFutureFacts {
				return &worker.VersionPreference{Version: workflow.DefaultVersion}
			}
			return PreferVersions()(in)
		}, []string{"2027-01-20T10:00 postpartum.cancelled 2027-02-09"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			jt := newJourneyTest(t, "2026-03-16T10:00:00-07:00")
			jt.preferVersions = c.prefer
			jt.signalAt("2027-01-20T10:00:00-08:00", events.MemberDisenrolled, "e-disenrolled",
				map[string]any{"memberId": "M-3001", "effectiveDate": "2027-02-09"})
			q := jt.queryAt("2027-01-21T10:00:00-08:00")
			jt.run(events.PregnancyEnded, map[string]any{"memberId": "M-3001", "pregnancyEndDate": "2026-03-15"})
			jt.expect(c.want...)
			if c.prefer == nil && (len(q.view.Held) != 1 || q.view.Held[0].Event.Type != events.MemberDisenrolled ||
				!q.view.Held[0].At.Equal(mustTime("2027-02-09T00:00:00-08:00"))) {
				t.Errorf("held on 2027-01-21: %+v, want the disenrollment until 2027-02-09T00:00-08:00", q.view.Held)
			}
		})
	}
}
