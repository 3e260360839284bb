package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

func closedPA(subject string, data map[string]any) events.JourneyEvent {
	return events.JourneyEvent{Type: "authorization.closed", Subject: subject, Data: data}
}

// The figures of one year from authorization.closed events: decisions dated in the year only, a
// withdrawal in none, a modification denied, approval after appeal by the request's keyed hash,
// the times over the decisions that carry receivedAt, a median of an odd count.
func TestBuildPAMetrics(t *testing.T) {
	zone := rules.DefaultPolicy().Zone()
	var src PASource
	for _, e := range []events.JourneyEvent{
		closedPA("wf-1", map[string]any{"outcome": "approved", "urgency": "standard", "extended": true,
			"receivedAt": "2026-03-01T09:00:00-08:00", "decidedAt": "2026-03-03T09:00:00-08:00"}), // 48 h
		closedPA("wf-2", map[string]any{"outcome": "denied", "urgency": "standard", "extended": false,
			"receivedAt": "2026-04-01T09:00:00-07:00", "decidedAt": "2026-04-01T19:00:00-07:00"}), // 10 h
		closedPA("wf-3", map[string]any{"outcome": "modified", "urgency": "standard", "extended": false,
			"receivedAt": "2026-05-01T09:00:00-07:00", "decidedAt": "2026-05-02T03:00:00-07:00"}), // 18 h
		// Decided before receivedAt was carried: in the shares, not in the times.
		closedPA("wf-4", map[string]any{"outcome": "approved", "urgency": "standard", "decidedAt": "2026-02-01T09:00:00-08:00"}),
		closedPA("wf-5", map[string]any{"outcome": "withdrawn", "urgency": "standard", "receivedAt": "2026-02-01T09:00:00-08:00"}),
		// Decided on 2025-12-31 in Los Angeles (2026 in UTC): last year.
		closedPA("wf-6", map[string]any{"outcome": "approved", "urgency": "standard", "decidedAt": "2025-12-31T20:00:00-08:00"}),
		closedPA("wf-7", map[string]any{"outcome": "approved", "urgency": "expedited", "extended": false,
			"receivedAt": "2026-06-01T09:00:00-07:00", "decidedAt": "2026-06-01T15:30:00-07:00"}), // 6.5 h
	} {
		if d, ok := paDecision(e); ok {
			src.Decisions = append(src.Decisions, d)
		}
	}
	src.Appeals = []PAAppeal{{RequestID: "PA-2", Outcome: "overturned"}, {RequestID: "PA-3", Outcome: "upheld"}}
	m := BuildPAMetrics(src, 2026, zone, func(id string) string { return "wf-" + strings.TrimPrefix(id, "PA-") })
	if m.Standard.Decided != 4 || m.Expedited.Decided != 1 {
		t.Fatalf("decided %d standard, %d expedited; want 4 and 1", m.Standard.Decided, m.Expedited.Decided)
	}
	for _, c := range []struct {
		name      string
		got       Share
		count, of int
		share     float64
	}{
		{"standard approved", m.Standard.Approved, 2, 4, 0.5},
		{"standard denied", m.Standard.Denied, 2, 4, 0.5},
		{"approved after appeal", *m.Standard.ApprovedAfterAppeal, 1, 4, 0.25},
		{"extended then approved", *m.Standard.ExtendedThenApproved, 1, 4, 0.25},
		{"expedited approved", m.Expedited.Approved, 1, 1, 1},
		{"expedited denied", m.Expedited.Denied, 0, 1, 0},
	} {
		if c.got != (Share{Count: c.count, Of: c.of, Share: c.share}) {
			t.Errorf("%s: %+v, want %d of %d = %v", c.name, c.got, c.count, c.of, c.share)
		}
	}
	if want := (Elapsed{Count: 3, AverageHours: 25.3, MedianHours: 18}); m.Standard.Elapsed != want {
		t.Errorf("standard times %+v, want %+v", m.Standard.Elapsed, want)
	}
	if want := (Elapsed{Count: 1, AverageHours: 6.5, MedianHours: 6.5}); m.Expedited.Elapsed != want {
		t.Errorf("expedited times %+v, want %+v", m.Expedited.Elapsed, want)
	}
	if m.Expedited.ApprovedAfterAppeal != nil {
		t.Error("expedited requests have no approved-after-appeal figure")
	}

	path := filepath.Join(t.TempDir(), "services.csv")
	if err := os.WriteFile(path, []byte("code,description\n97110,Physical therapy\nE0784,\"Insulin pump, external\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	services, err := LoadServices(path)
	if err != nil || len(services) != 2 || services[1].Description != "Insulin pump, external" {
		t.Fatalf("services %+v, %v", services, err)
	}
	m.Services = services
	var table, csv, page bytes.Buffer
	if err := m.Table(&table); err != nil {
		t.Fatal(err)
	}
	if err := m.CSV(&csv); err != nil {
		t.Fatal(err)
	}
	if err := m.HTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"standard   approved after appeal     25.0%   1      4", "standard   median time to decision   18.0 h  3      -"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	for _, want := range []string{"2026,standard,approved after appeal,1,4,0.2500,\n", "2026,standard,average time to decision,3,,,25.3\n"} {
		if !strings.Contains(csv.String(), want) {
			t.Errorf("csv lacks %q:\n%s", want, csv.String())
		}
	}
	for _, want := range []string{"Prior authorization metrics, 2026", "Insulin pump, external", "25.0%"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page.String(), "<script") || strings.Contains(page.String(), "wf-") {
		t.Error("the page runs something or names a journey")
	}
	if _, err := LoadServices(filepath.Join(t.TempDir(), "none.csv")); err == nil {
		t.Error("a missing services file was accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("97110\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadServices(bad); err == nil || !strings.Contains(err.Error(), "code,description") {
		t.Errorf("a line without a description: %v", err)
	}
}
