package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
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

func TestHealthzReportsTheFirstFailingCheck(t *testing.T) {
	var natsDown bool
	h := HealthHandler(
		func(context.Context) error { return nil },
		func(context.Context) error {
			if natsDown {
				return errors.New("nats: RECONNECTING")
			}
			return nil
		},
	)
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != 200 || body != "ok\n" {
		t.Fatalf("healthy: %d %q", code, body)
	}
	natsDown = true
	if code, body := get(); code != 503 || !strings.Contains(body, "nats: RECONNECTING") {
		t.Fatalf("NATS down: %d %q", code, body)
	}
}

func TestServeAnswersMetricsAndHealth(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := New()
	defer m.Close()
	addr, err := m.Serve(ctx, "127.0.0.1:0", zerolog.Nop(), func(context.Context) error { return errors.New("temporal: unavailable") })
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/metrics": 200, "/healthz": 503} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// The profiles endpoint serves a heap profile and the goroutines, and nothing of /metrics; the
// metrics endpoint serves no profile.
func TestProfilesApartFromMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := New()
	defer m.Close()
	profiles, err := ServeProfiles(ctx, "127.0.0.1:0", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr, err := m.Serve(ctx, "127.0.0.1:0", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	if code, body := get("http://" + profiles + "/debug/pprof/heap?debug=1"); code != 200 || !strings.Contains(body, "heap profile:") {
		t.Errorf("heap: %d %.80q", code, body)
	}
	if code, body := get("http://" + profiles + "/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile:") {
		t.Errorf("goroutines: %d %.80q", code, body)
	}
	if code, _ := get("http://" + profiles + "/metrics"); code != 404 {
		t.Errorf("/metrics on the profiles endpoint: %d, want 404", code)
	}
	if code, _ := get("http://" + metricsAddr + "/debug/pprof/heap"); code != 404 {
		t.Errorf("a profile on the metrics endpoint: %d, want 404", code)
	}
	if _, err := ServeProfiles(ctx, profiles, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "profiles endpoint on "+profiles) {
		t.Errorf("a second endpoint on the same address: %v", err)
	}
}
