package workflows

import (
	"testing"

	"github.com/careclock/careclock/events"
)

func appeal(receivedAt string, expedited bool, noticeDate string) map[string]any {
	return map[string]any{"appealId": "A-6001", "memberId": "M-6001", "receivedAt": receivedAt, "expedited": expedited, "noticeDate": noticeDate}
}

func appealResolved(outcome, at string) map[string]any {
	return map[string]any{"appealId": "A-6001", "outcome": outcome, "resolvedAt": at}
}

// acknowledgedAt has the standard appeal acknowledged in writing on the date of when.
func acknowledgedAt(jt *journeyTest, when string) {
	jt.signalAt(when, events.AppealAcknowledged, "e-ack", map[string]any{"appealId": "A-6001", "acknowledgedDate": when[:10]})
}

// Filed 61 days after its notice (2026-10-01 → 2026-12-01): received late, for review; the
// journey still runs, and the appeal is overturned in time.
func TestAppealReceived61DaysAfterItsNotice(t *testing.T) {
	jt := newJourneyTest(t, "2026-12-01T10:00:00-08:00")
	acknowledgedAt(jt, "2026-12-03T10:00:00-08:00")
	jt.signalAt("2026-12-15T10:00:00-08:00", events.AppealResolved, "e-res", appealResolved("overturned", "2026-12-15T10:00:00-08:00"))
	jt.run(events.AppealReceived, appeal("2026-12-01T10:00:00-08:00", false, "2026-10-01"))
	jt.expect(
		"2026-12-01T10:00 appeal.received_late 2026-12-01 daysAfterNotice=61 filingDeadline=2026-11-30 noticeDate=2026-10-01",
		"2026-12-15T10:00 appeal.closed 2026-12-15 daysLate=0 dueDate=2026-12-31 expedited=false noticeDate=2026-12-15 onTime=true outcome=overturned resolvedAt=2026-12-15T10:00:00-08:00",
	)
}

// Filed on the 60th day: on time, nothing at once.
func TestAppealReceivedOnTheSixtiethDay(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-30T10:00:00-08:00")
	jt.signalAt("2026-12-01T10:00:00-08:00", events.AppealResolved, "e-res", appealResolved("overturned", "2026-12-01T10:00:00-08:00"))
	jt.run(events.AppealReceived, appeal("2026-11-30T10:00:00-08:00", false, "2026-10-01"))
	jt.expect(
		"2026-12-01T10:00 appeal.closed 2026-12-01 daysLate=0 dueDate=2026-12-30 expedited=false noticeDate=2026-12-01 onTime=true outcome=overturned resolvedAt=2026-12-01T10:00:00-08:00",
	)
}

// Received 2026-12-01 (due 2026-12-31) and never acknowledged: the acknowledgment, due
// 2026-12-06, is overdue on the 7th. Extended on the 10th by 14 days to 2027-01-14, a second
// extension ignored; warned on 2027-01-07 and 01-12, overdue on the 15th; overturned on the
// 16th, 2 days late.
func TestAppealExtendedAndResolvedLate(t *testing.T) {
	jt := newJourneyTest(t, "2026-12-01T10:00:00-08:00")
	jt.signalAt("2026-12-10T10:00:00-08:00", events.AppealExtended, "e-ext", map[string]any{"appealId": "A-6001", "extendedOn": "2026-12-10"})
	jt.signalAt("2026-12-20T10:00:00-08:00", events.AppealExtended, "e-ext-2", map[string]any{"appealId": "A-6001", "extendedOn": "2026-12-20"})
	jt.signalAt("2027-01-16T10:00:00-08:00", events.AppealResolved, "e-res", appealResolved("overturned", "2027-01-16T10:00:00-08:00"))
	jt.run(events.AppealReceived, appeal("2026-12-01T10:00:00-08:00", false, "2026-11-20"))
	jt.expect(
		"2026-12-07T09:00 appeal.acknowledgment_overdue 2026-12-07 acknowledgeBy=2026-12-06",
		"2026-12-10T10:00 appeal.extension_noticed 2026-12-10 dueDate=2027-01-14 expedited=false extensionDays=14",
		"2027-01-07T09:00 appeal.resolution_due_soon 2027-01-07 daysBefore=7 dueDate=2027-01-14 expedited=false",
		"2027-01-12T09:00 appeal.resolution_due_soon 2027-01-12 daysBefore=2 dueDate=2027-01-14 expedited=false",
		"2027-01-15T09:00 appeal.resolution_overdue 2027-01-15 daysOverdue=1 dueDate=2027-01-14 expedited=false",
		"2027-01-16T10:00 appeal.closed 2027-01-16 daysLate=2 dueDate=2027-01-14 expedited=false noticeDate=2027-01-16 onTime=false outcome=overturned resolvedAt=2027-01-16T10:00:00-08:00",
	)
}

// Upheld on 2026-12-20, its notice of resolution dated 2026-12-22: closed, carrying the
// authorization appealed, then the State Hearing window ends 120 days after the notice, on
// 2027-04-21, and the journey with it.
func TestAppealUpheldHearingWindowFromTheNotice(t *testing.T) {
	jt := newJourneyTest(t, "2026-12-01T10:00:00-08:00")
	acknowledgedAt(jt, "2026-12-02T10:00:00-08:00")
	resolved := appealResolved("upheld", "2026-12-20T10:00:00-08:00")
	resolved["noticeDate"] = "2026-12-22"
	jt.signalAt("2026-12-20T10:00:00-08:00", events.AppealResolved, "e-res", resolved)
	jt.signalAt("2026-12-21T10:00:00-08:00", events.AppealResolved, "e-res-2", appealResolved("overturned", "2026-12-21T10:00:00-08:00"))
	received := appeal("2026-12-01T10:00:00-08:00", false, "2026-11-20")
	received["requestId"] = "PA-2001"
	jt.run(events.AppealReceived, received)
	jt.expect(
		"2026-12-20T10:00 appeal.closed 2026-12-20 daysLate=0 dueDate=2026-12-31 expedited=false noticeDate=2026-12-22 onTime=true outcome=upheld requestId=PA-2001 resolvedAt=2026-12-20T10:00:00-08:00 stateHearingBy=2027-04-21",
		"2027-04-21T09:00 appeal.state_hearing_window_ends 2027-04-21 hearingBy=2027-04-21",
	)
	if got := jt.events[1].Data["deadline"]; got != "2027-04-21" {
		t.Errorf("the hearing window's deadline %v, want 2027-04-21", got)
	}
}

// An appeal started before appealRule2026 keeps its rule: no acknowledgment clock (an
// acknowledgment is refused), and the hearing window from the resolved date, whatever notice
// date the resolution gives.
func TestAppealStartedBeforeRule2026KeepsItsRule(t *testing.T) {
	jt := newJourneyTest(t, "2026-12-01T10:00:00-08:00")
	acknowledgedAt(jt, "2026-12-02T10:00:00-08:00")
	resolved := appealResolved("upheld", "2026-12-20T10:00:00-08:00")
	resolved["noticeDate"] = "2026-12-22"
	jt.signalAt("2026-12-20T10:00:00-08:00", events.AppealResolved, "e-res", resolved)
	s := jt.route(events.AppealReceived, appeal("2026-12-01T10:00:00-08:00", false, "2026-11-20"))[0]
	view := jt.queryAt("2026-12-03T10:00:00-08:00")
	jt.runStart(withState(s, func(st *State[AppealFacts]) { st.Facts.Rule = 0 }))
	jt.expect(
		"2026-12-20T10:00 appeal.closed 2026-12-20 daysLate=0 dueDate=2026-12-31 expedited=false onTime=true outcome=upheld resolvedAt=2026-12-20T10:00:00-08:00 stateHearingBy=2027-04-19",
		"2027-04-19T09:00 appeal.state_hearing_window_ends 2027-04-19 hearingBy=2027-04-19",
	)
	if len(view.view.Refused) != 1 || view.view.Refused[0].Type != events.AppealAcknowledged {
		t.Errorf("refused %+v, want the acknowledgment", view.view.Refused)
	}
}

// Expedited: 72 hours, then an extension of 14 × 24 hours; resolved in time.
func TestAppealExpeditedExtended(t *testing.T) {
	jt := newJourneyTest(t, "2027-03-13T10:00:00-08:00")
	jt.signalAt("2027-03-14T10:00:00-07:00", events.AppealExtended, "e-ext", map[string]any{"appealId": "A-6001", "extendedOn": "2027-03-14"})
	jt.signalAt("2027-03-29T09:00:00-07:00", events.AppealResolved, "e-res", appealResolved("overturned", "2027-03-29T09:00:00-07:00"))
	jt.run(events.AppealReceived, appeal("2027-03-13T10:00:00-08:00", true, "2027-03-01"))
	jt.expect(
		"2027-03-14T10:00 appeal.extension_noticed 2027-03-14 deadlineAt=2027-03-30T11:00:00-07:00 dueDate=2027-03-30 eventAt=2027-03-14T10:00:00-07:00 expedited=true extensionDays=14",
		"2027-03-29T09:00 appeal.closed 2027-03-29 deadlineAt=2027-03-30T11:00:00-07:00 eventAt=2027-03-29T09:00:00-07:00 expedited=true hoursLate=0 noticeDate=2027-03-29 onTime=true outcome=overturned resolvedAt=2027-03-29T09:00:00-07:00",
	)
}
