package workflows

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/metrics"
)

// An inbound event a journey cannot apply is not dropped silently: describe shows it with its
// reason, and careclock_journey_events_refused counts it by journey and type.
func TestARefusedEventIsShownAndCounted(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	jt.metrics = metrics.New()
	jt.signalAt("2026-12-01T10:00:00-08:00", events.GrievanceAcknowledged, "e-wrong",
		map[string]any{"grievanceId": "G-1", "acknowledgedDate": "2026-12-01"})
	jt.signalAt("2027-01-20T11:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-01-20"})
	q := jt.queryAt("2026-12-02T10:00:00-08:00")
	jt.run(events.ReimbursementSubmitted, claim)
	jt.expect(
		"2027-01-14T09:00 reimbursement.due_soon 2027-01-14 daysBefore=15 dueDate=2027-01-29",
		"2027-01-20T11:00 reimbursement.closed 2027-01-20 daysLate=0 dueDate=2027-01-29 onTime=true outcome=paid",
	)
	if len(q.view.Refused) != 1 {
		t.Fatalf("refused %+v, want the one event", q.view.Refused)
	}
	r := q.view.Refused[0]
	if r.ID != "e-wrong" || r.Type != events.GrievanceAcknowledged || r.Reason != "reimbursement does not take grievance.acknowledged" ||
		!r.At.Equal(mustTime("2026-12-01T10:00:00-08:00")) {
		t.Errorf("refusal %+v", r)
	}
	if q.view.Applied != 2 {
		t.Errorf("applied %d, want 2 (the start and the refused event)", q.view.Applied)
	}
	if err := jt.metrics.Close(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(jt.metrics.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's Prometheus naming writes a label value's dots as underscores.
	want := `careclock_journey_events_refused_total{journey="reimbursement",type="grievance_acknowledged"} 1`
	if !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s:\n%s", want, body)
	}
}

// Two systems may send events with the same id: CloudEvents makes source and id unique. Both are
// applied; a redelivery of either is not.
func TestEventsAreOneBySourceAndID(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	jt.signalFromAt("2026-12-10T10:00:00-08:00", "urn:claims", events.ReimbursementResubmitted, "1",
		map[string]any{"claimId": "CLM-1001", "submittedDate": "2026-12-10"})
	jt.signalFromAt("2026-12-11T10:00:00-08:00", "urn:claims", events.ReimbursementResubmitted, "1",
		map[string]any{"claimId": "CLM-1001", "submittedDate": "2026-12-11"})
	jt.signalFromAt("2027-01-20T11:00:00-08:00", "urn:payments", events.ReimbursementPaid, "1",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-01-20"})
	q := jt.queryAt("2027-01-19T12:00:00-08:00")
	jt.run(events.ReimbursementSubmitted, claim)
	// Resubmitted 2026-12-10: due 2027-02-08; the redelivery (same source and id, another date)
	// changes nothing; the payment from another system with the same id closes the claim.
	jt.expect(
		"2027-01-20T11:00 reimbursement.closed 2027-01-20 daysLate=0 dueDate=2027-02-08 onTime=true outcome=paid",
	)
	if q.view.Applied != 2 {
		t.Errorf("applied %d before the payment, want 2: the start and the resubmission, not its redelivery", q.view.Applied)
	}
}
