package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// scrape sums each metric's series, with a histogram's count and sum under the text format's
// names and a gauge's largest series under name_max, as bench's memory scenario reads the
// worker's endpoint.
func TestScrape(t *testing.T) {
	const text = `# TYPE temporal_sticky_cache_size gauge
temporal_sticky_cache_size{namespace="default",task_queue="careclock",workflow_type="reimbursement"} 1999
temporal_sticky_cache_size{namespace="default",task_queue="careclock",workflow_type="ageout"} 1998
# TYPE careclock_events_consumed_total counter
careclock_events_consumed_total{type="reimbursement.submitted",outcome="started"} 3
careclock_events_consumed_total{type="unknown",outcome="dead_lettered"} 2
# TYPE temporal_workflow_task_execution_latency_seconds histogram
temporal_workflow_task_execution_latency_seconds_bucket{workflow_type="reimbursement",le="0.1"} 7
temporal_workflow_task_execution_latency_seconds_bucket{workflow_type="reimbursement",le="+Inf"} 9
temporal_workflow_task_execution_latency_seconds_sum{workflow_type="reimbursement"} 0.5
temporal_workflow_task_execution_latency_seconds_count{workflow_type="reimbursement"} 9
temporal_workflow_task_execution_latency_seconds_bucket{workflow_type="ageout",le="+Inf"} 1
temporal_workflow_task_execution_latency_seconds_sum{workflow_type="ageout"} 0.25
temporal_workflow_task_execution_latency_seconds_count{workflow_type="ageout"} 1
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			body := "metrics_without_a_value\n" // served at /broken/metrics
			if !strings.HasPrefix(r.URL.Path, "/broken") {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write([]byte(body))
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(text))
	}))
	defer srv.Close()
	m, err := scrape(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"temporal_sticky_cache_size":                             3997,
		"temporal_sticky_cache_size_max":                         1999,
		"careclock_events_consumed_total":                        5,
		"temporal_workflow_task_execution_latency_seconds_count": 10,
		"temporal_workflow_task_execution_latency_seconds_sum":   0.75,
	} {
		if m[name] != want {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
	for _, path := range []string{"/nothing", "/broken"} {
		if _, err := scrape(strings.TrimPrefix(srv.URL, "http://") + path); err == nil {
			t.Errorf("%s/metrics was read", path)
		}
	}
}

// -sticky takes distinct durations of at least a second, and says which it refuses.
func TestStickyFlag(t *testing.T) {
	var d durations
	if err := d.Set("30s, 5m"); err != nil || d.String() != "30s,5m0s" {
		t.Fatalf("30s, 5m: %v %q", err, d.String())
	}
	for _, bad := range []string{"30s,30s", "500ms", "5 minutes", ""} {
		if err := d.Set(bad); err == nil {
			t.Errorf("%q taken as %v", bad, d)
		}
	}
}
