package metrics

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestCountersAndOpenJourneys(t *testing.T) {
	m := New()
	defer m.Close()
	m.Consumed("reimbursement.submitted", "started")
	m.Consumed("reimbursement.submitted", "started")
	m.Published("reimbursement.overdue", true)
	m.Published("reimbursement.due_soon", false)
	err := m.CountOpen([]string{"coc", "reimbursement"}, []string{"waiting"}, func(_ context.Context, journey, _ string) (int64, error) {
		if journey == "coc" {
			return 0, errors.New("visibility unavailable")
		}
		return 3, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	body := scrape(t, m)
	for _, want := range []string{
		`careclock_events_consumed_total{outcome="started",type="reimbursement.submitted"} 2`,
		`careclock_journey_events_published_total{type="reimbursement.overdue"} 1`,
		`careclock_journey_events_published_total{type="reimbursement.due_soon"} 1`,
		`careclock_journey_events_late_total{type="reimbursement.overdue"} 1`,
		// A failed count leaves out that journey; the rest are still served.
		`careclock_journeys_open{journey="reimbursement",status="waiting"} 3`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	for _, unwanted := range []string{`careclock_journey_events_late_total{type="reimbursement.due_soon"}`, `journey="coc"`} {
		if strings.Contains(body, unwanted) {
			t.Errorf("unexpected %s", unwanted)
		}
	}
}

func TestNilMetricsCountNothing(t *testing.T) {
	var m *Metrics
	m.Consumed("x", "started")
	m.Published("x", true)
	if err := m.CountOpen(nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if m.SDK() == nil || m.Close() != nil {
		t.Fatal("nil metrics must give a no-op SDK handler and close cleanly")
	}
}
