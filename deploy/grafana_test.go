package deploy

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"

	"github.com/careclock/careclock/metrics"
	"github.com/careclock/careclock/workflows"
)

// served is every metric careclock's /metrics serves, with its label names, read from a live
// handler with every metric given a value.
func served(t *testing.T) map[string][]string {
	t.Helper()
	m := metrics.New()
	m.Consumed("reimbursement.submitted", "started")
	m.Published("reimbursement.overdue", true)
	// Counted by journeys through the SDK's handler (workflows.refuse).
	m.SDK().WithTags(map[string]string{"journey": "reimbursement", "type": "grievance.acknowledged"}).Counter(workflows.MetricRefused).Inc(1)
	if err := m.Close(); err != nil { // flushes the SDK's scope into the registry
		t.Fatal(err)
	}
	if err := m.CountOpen([]string{"reimbursement"}, []string{"overdue"}, func(context.Context, string, string) (int64, error) { return 1, nil }); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for name, f := range families {
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				if !slices.Contains(out[name], l.GetName()) {
					out[name] = append(out[name], l.GetName())
				}
			}
		}
		if out[name] == nil {
			out[name] = []string{}
		}
	}
	return out
}

// The dashboard loads as Grafana's JSON model, and every query names careclock metrics that
// /metrics serves, grouped and filtered by labels those metrics have.
func TestGrafanaDashboardQueriesNameServedMetrics(t *testing.T) {
	raw, err := os.ReadFile("grafana/dashboards/careclock.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	if dash.UID == "" || dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatalf("not a dashboard: %+v", dash)
	}
	metricsServed := served(t)
	name := regexp.MustCompile(`\b(careclock_[a-z_]+)\b`)
	// Labels a query uses: in by (…) and in {label="…"} selectors.
	by := regexp.MustCompile(`\bby \(([^)]*)\)`)
	selector := regexp.MustCompile(`careclock_[a-z_]+\{([^}]*)\}`)
	matcher := regexp.MustCompile(`([a-z_]+)\s*(=|!=|=~|!~)`)
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			names := name.FindAllString(target.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: %q names no careclock metric", p.Title, target.Expr)
			}
			var labels []string
			for _, m := range by.FindAllStringSubmatch(target.Expr, -1) {
				for _, l := range strings.Split(m[1], ",") {
					labels = append(labels, strings.TrimSpace(l))
				}
			}
			for _, m := range selector.FindAllStringSubmatch(target.Expr, -1) {
				for _, l := range matcher.FindAllStringSubmatch(m[1], -1) {
					labels = append(labels, l[1])
				}
			}
			for _, n := range names {
				have, ok := metricsServed[n]
				if !ok {
					t.Errorf("panel %q: %s is not served on /metrics", p.Title, n)
					continue
				}
				used[n] = true
				for _, l := range labels {
					if !slices.Contains(have, l) {
						t.Errorf("panel %q: %s has no label %q (it has %v)", p.Title, n, l, have)
					}
				}
			}
		}
	}
	for n := range metricsServed {
		if strings.HasPrefix(n, "careclock_") && !used[n] {
			t.Errorf("%s is served but on no panel", n)
		}
	}
}
