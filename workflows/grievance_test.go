package workflows

import (
	"testing"

	"github.com/careclock/careclock/events"
)

func grievance(receivedAt string, expedited bool) map[string]any {
	return map[string]any{"grievanceId": "G-3001", "memberId": "M-3001", "receivedAt": receivedAt, "expedited": expedited}
}

func resolvedAt(at string) map[string]any {
	return map[string]any{"grievanceId": "G-3001", "resolvedAt": at}
}

// Received 2026-12-01: acknowledged on the 4th (due the 6th), resolved on the 20th (due
// 2026-12-31), after neither reminder: closed on time.
func TestGrievanceAcknowledgedAndResolvedOnTime(t *testing.T) {
	jt := newJourneyTest(t, "2026-12-01T10:00:00-08:00")
	jt.signalAt("2026-12-04T10:00:00-08:00", events.GrievanceAcknowledged, "e-ack", map[string]any{"grievanceId": "G-3001", "acknowledgedDate": "2026-12-04"})
	jt.signalAt("2026-12-20T10:00:00-08:00", events.GrievanceResolved, "e-res", resolvedAt("2026-12-20T10:00:00-08:00"))
	jt.run(events.GrievanceReceived, grievance("2026-12-01T10:00:00-08:00", false))
	jt.expect(
		"2026-12-20T10:00 grievance.closed 2026-12-20 daysLate=0 dueDate=2026-12-31 expedited=false onTime=true resolvedAt=2026-12-20T10:00:00-08:00",
	)
}

// Never acknowledged: overdue on 2026-12-07. Not resolved by 2026-12-31: warned on the 24th and
// 29th, overdue on 2027-01-01 and every 7 days; resolved on 2027-01-10, 10 days late.
func TestGrievanceUnacknowledgedAndResolvedLate(t *testing.T) {
	jt := newJourneyTest(t, "2026-12-01T10:00:00-08:00")
	jt.signalAt("2027-01-10T10:00:00-08:00", events.GrievanceResolved, "e-res", resolvedAt("2027-01-10T10:00:00-08:00"))
	jt.run(events.GrievanceReceived, grievance("2026-12-01T10:00:00-08:00", false))
	jt.expect(
		"2026-12-07T09:00 grievance.acknowledgment_overdue 2026-12-07 acknowledgeBy=2026-12-06",
		"2026-12-24T09:00 grievance.resolution_due_soon 2026-12-24 daysBefore=7 dueDate=2026-12-31 expedited=false",
		"2026-12-29T09:00 grievance.resolution_due_soon 2026-12-29 daysBefore=2 dueDate=2026-12-31 expedited=false",
		"2027-01-01T09:00 grievance.resolution_overdue 2027-01-01 daysOverdue=1 dueDate=2026-12-31 expedited=false",
		"2027-01-08T09:00 grievance.resolution_overdue 2027-01-08 daysOverdue=8 dueDate=2026-12-31 expedited=false",
		"2027-01-10T10:00 grievance.closed 2027-01-10 daysLate=10 dueDate=2026-12-31 expedited=false onTime=false resolvedAt=2027-01-10T10:00:00-08:00",
	)
}

// Expedited, received 2027-03-13T10:00-08:00: due 2027-03-16T11:00-07:00 (72 hours across the
// spring change); warned 24 and 4 hours before; overdue at the instant and every 24 hours after;
// resolved 28 hours late. No acknowledgment clock.
func TestGrievanceExpeditedResolvedLate(t *testing.T) {
	jt := newJourneyTest(t, "2027-03-13T10:00:00-08:00")
	jt.signalAt("2027-03-17T15:00:00-07:00", events.GrievanceResolved, "e-res", resolvedAt("2027-03-17T15:00:00-07:00"))
	jt.run(events.GrievanceReceived, grievance("2027-03-13T10:00:00-08:00", true))
	jt.expect(
		"2027-03-15T11:00 grievance.resolution_due_soon 2027-03-15 deadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-15T11:00:00-07:00 expedited=true hoursBefore=24",
		"2027-03-16T07:00 grievance.resolution_due_soon 2027-03-16 deadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-16T07:00:00-07:00 expedited=true hoursBefore=4",
		"2027-03-16T11:00 grievance.resolution_overdue 2027-03-16 deadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-16T11:00:00-07:00 expedited=true",
		"2027-03-17T11:00 grievance.resolution_overdue 2027-03-17 deadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-17T11:00:00-07:00 expedited=true",
		"2027-03-17T15:00 grievance.closed 2027-03-17 deadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-17T15:00:00-07:00 expedited=true hoursLate=28 onTime=false resolvedAt=2027-03-17T15:00:00-07:00",
	)
	if !jt.publishedAt[2].Equal(mustTime("2027-03-16T18:00:00Z")) {
		t.Errorf("overdue at %v, want exactly the deadline instant", jt.publishedAt[2])
	}
}
