package workflows

import (
	"testing"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

func transition(date string, providers ...map[string]any) map[string]any {
	return map[string]any{"memberId": "M-2001", "transitionDate": date, "providers": providers}
}

func provider(id string, contracted bool) map[string]any {
	return map[string]any{"providerId": id, "contracted": contracted}
}

func TestCoCLastDayIsTwelveClampedMonthsLessADay(t *testing.T) {
	cases := map[string]string{
		"2019-07-01": "2020-06-30", // docs/rules.md §2
		"2026-01-31": "2027-01-30",
		"2026-03-01": "2027-02-28",
		"2027-03-01": "2028-02-29",
		"2024-02-29": "2025-02-27", // + 12 months clamps to 2025-02-28
		"2026-12-31": "2027-12-30",
	}
	for from, want := range cases {
		f := CoCFacts{TransitionDate: rules.MustDate(from)}
		if got := f.deadline(rules.DefaultPolicy()).String(); got != want {
			t.Errorf("transition %s: last day %s, want %s", from, got, want)
		}
	}
}

func TestCoCExpiresAfterTwelveMonths(t *testing.T) {
	jt := newJourneyTest(t, "2019-07-01T10:00:00-07:00")
	jt.run(events.WCMTransitioned, transition("2019-07-01", provider("P-1", false)))
	jt.expect(
		"2020-05-01T09:00 coc.ending 2020-05-01 daysBefore=60 lastDay=2020-06-30 providerId=P-1",
		"2020-05-31T09:00 coc.ending 2020-05-31 daysBefore=30 lastDay=2020-06-30 providerId=P-1",
		"2020-07-01T09:00 coc.ended 2020-07-01 lastDay=2020-06-30 providerId=P-1 reason=period_expired",
	)
	// A year's wait continues as new once on the way, and loses or repeats nothing.
	if jt.runs != 2 {
		t.Errorf("%d runs, want 2", jt.runs)
	}
}

func TestCoCOneJourneyPerNonContractedProvider(t *testing.T) {
	jt := newJourneyTest(t, "2026-07-01T10:00:00-07:00")
	starts := jt.route(events.WCMTransitioned, transition("2026-07-01",
		provider("P-1", false), provider("P-2", true), provider("P-3", false)))
	if len(starts) != 2 {
		t.Fatalf("%d journeys, want 2 (P-1 and P-3)", len(starts))
	}
	want := []string{WorkflowID(testKeyer, JourneyCoC, "M-2001", "P-1"), WorkflowID(testKeyer, JourneyCoC, "M-2001", "P-3")}
	for i, s := range starts {
		if s.WorkflowID != want[i] || s.ProviderKey == "" || s.Input.(State[CoCFacts]).ProviderKey != s.ProviderKey {
			t.Errorf("start %d: %+v", i, s)
		}
	}
	if none := jt.route(events.WCMTransitioned, transition("2026-07-01", provider("P-2", true))); len(none) != 0 {
		t.Errorf("all contracted: %d journeys", len(none))
	}
}

func TestCoCEndsAtOnceWhenTheProviderIsContracted(t *testing.T) {
	jt := newJourneyTest(t, "2026-07-01T10:00:00-07:00")
	jt.signalAt("2026-10-14T11:00:00-07:00", events.ProviderContracted, "e-contract",
		map[string]any{"providerId": "P-1", "effectiveDate": "2026-10-15"})
	jt.run(events.WCMTransitioned, transition("2026-07-01", provider("P-1", false)))
	// Sent the day before, effective 10-15: the period ends on its date.
	jt.expect("2026-10-15T00:00 coc.ended 2026-10-15 lastDay=2027-06-30 providerId=P-1 reason=provider_contracted")
}

func TestCoCIgnoresAnotherProvidersContract(t *testing.T) {
	jt := newJourneyTest(t, "2026-07-01T10:00:00-07:00")
	jt.signalAt("2026-10-14T11:00:00-07:00", events.ProviderContracted, "e-other",
		map[string]any{"providerId": "P-9", "effectiveDate": "2026-10-15"})
	jt.signalAt("2027-05-10T11:00:00-07:00", events.MemberDisenrolled, "e-disenrolled",
		map[string]any{"memberId": "M-2001", "effectiveDate": "2027-05-31"})
	jt.run(events.WCMTransitioned, transition("2026-07-01", provider("P-1", false)))
	jt.expect(
		"2027-05-01T09:00 coc.ending 2027-05-01 daysBefore=60 lastDay=2027-06-30 providerId=P-1",
		"2027-05-31T00:00 coc.cancelled 2027-05-31 providerId=P-1",
	)
}

func TestCoCStartedAfterItsPeriodPublishesTheEndLate(t *testing.T) {
	// Learned of on 2020-07-03: both notices are skipped (their deadline passed), the end is late.
	jt := newJourneyTest(t, "2020-07-03T10:00:00-07:00")
	jt.run(events.WCMTransitioned, transition("2019-07-01", provider("P-1", false)))
	jt.expect("2020-07-03T10:00 coc.ended 2020-07-01 late lastDay=2020-06-30 providerId=P-1 reason=period_expired")
}

func cocRequest(transition, request, urgency string) map[string]any {
	return map[string]any{"memberId": "M-2001", "providerId": "P-1", "transitionDate": transition, "requestDate": request, "urgency": urgency}
}

func cocDecided(decision, date string) map[string]any {
	return map[string]any{"memberId": "M-2001", "providerId": "P-1", "decision": decision, "decisionDate": date}
}

// An immediate-risk request on 2026-12-01 is due in 3 days, 2026-12-04; decided on the 5th, a day
// late. The period then runs from the transition date, 2026-11-15, to its last day 2027-11-14.
func TestCoCRequestImmediateRiskDecidedLate(t *testing.T) {
	jt := newJourneyTest(t, "2026-12-01T10:00:00-08:00")
	jt.signalAt("2026-12-05T14:00:00-08:00", events.CoCDecided, "e-dec", cocDecided("approved", "2026-12-05"))
	jt.run(events.CoCRequested, cocRequest("2026-11-15", "2026-12-01", "immediate_risk"))
	jt.expect(
		"2026-12-03T09:00 coc.decision_due_soon 2026-12-03 daysBefore=1 decisionDueDate=2026-12-04 providerId=P-1 urgency=immediate_risk",
		"2026-12-05T09:00 coc.decision_overdue 2026-12-05 daysOverdue=1 decisionDueDate=2026-12-04 providerId=P-1 urgency=immediate_risk",
		"2026-12-05T14:00 coc.approved 2026-12-05 daysLate=1 decisionDueDate=2026-12-04 lastDay=2027-11-14 onTime=false providerId=P-1 urgency=immediate_risk",
		"2027-09-15T09:00 coc.ending 2027-09-15 daysBefore=60 lastDay=2027-11-14 providerId=P-1",
		"2027-10-15T09:00 coc.ending 2027-10-15 daysBefore=30 lastDay=2027-11-14 providerId=P-1",
		"2027-11-15T09:00 coc.ended 2027-11-15 lastDay=2027-11-14 providerId=P-1 reason=period_expired",
	)
}

// A request made in month 11 of the period (transition 2025-12-15, last day 2026-12-14) gets what
// is left of it: the 60-day notice, already missed, goes out late at the approval.
func TestCoCRequestInMonthEleven(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-02T10:00:00-08:00")
	jt.signalAt("2026-11-10T10:00:00-08:00", events.CoCDecided, "e-dec", cocDecided("approved", "2026-11-10"))
	jt.run(events.CoCRequested, cocRequest("2025-12-15", "2026-11-02", "standard"))
	jt.expect(
		"2026-11-10T10:00 coc.approved 2026-11-10 daysLate=0 decisionDueDate=2026-12-02 lastDay=2026-12-14 onTime=true providerId=P-1 urgency=standard",
		"2026-11-10T10:00 coc.ending 2026-10-15 late daysBefore=60 lastDay=2026-12-14 providerId=P-1",
		"2026-11-14T09:00 coc.ending 2026-11-14 daysBefore=30 lastDay=2026-12-14 providerId=P-1",
		"2026-12-15T09:00 coc.ended 2026-12-15 lastDay=2026-12-14 providerId=P-1 reason=period_expired",
	)
}

// An urgent request (15 days) denied in time closes the journey.
func TestCoCRequestDenied(t *testing.T) {
	jt := newJourneyTest(t, "2026-12-01T10:00:00-08:00")
	jt.signalAt("2026-12-10T10:00:00-08:00", events.CoCDecided, "e-dec", cocDecided("denied", "2026-12-10"))
	jt.run(events.CoCRequested, cocRequest("2026-11-15", "2026-12-01", "urgent"))
	jt.expect(
		"2026-12-10T10:00 coc.closed 2026-12-10 decisionDueDate=2026-12-16 onTime=true outcome=denied providerId=P-1 urgency=urgent",
	)
}

// A request and a transition for the same member and provider are one journey.
func TestCoCRequestAndTransitionAreOneJourney(t *testing.T) {
	jt := newJourneyTest(t, "2026-12-01T10:00:00-08:00")
	req := jt.route(events.CoCRequested, cocRequest("2026-11-15", "2026-12-01", "standard"))
	tr := jt.route(events.WCMTransitioned, transition("2026-11-15", provider("P-1", false)))
	if len(req) != 1 || len(tr) != 1 || req[0].WorkflowID != tr[0].WorkflowID || req[0].ProviderKey != tr[0].ProviderKey {
		t.Errorf("request %+v, transition %+v: want one workflow id", req, tr)
	}
	if got := jt.routeAll(events.CoCDecided, cocDecided("approved", "2026-12-02")).Signals; len(got) != 1 || got[0] != req[0].WorkflowID {
		t.Errorf("the decision goes to %v, want %s", got, req[0].WorkflowID)
	}
}
