package stack_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// Journeys due at different distances from today: `starter list --at-risk 7` must return exactly
// those overdue or with an event in the next 7 days, `find --member` exactly one member's, and
// the metrics must count what flowed.
func TestAtRiskFindAndMetrics(t *testing.T) {
	s := startStack(t)
	p := testPolicy()
	now := time.Now()
	today := p.Today(now)
	claim := func(id, member string, daysAgo int) map[string]any {
		return map[string]any{"claimId": id, "memberId": member, "submittedDate": today.AddDays(-daysAgo).String(),
			"amountCents": 500, "category": "mileage"}
	}
	enrolled := func(member string, born rules.Date) map[string]any {
		return map[string]any{"memberId": member, "dateOfBirth": born.String(), "enrollmentDate": today.String(),
			"county": "Orange", "countyModel": "independent", "fullScopeMediCal": true, "ccsEligible": true}
	}
	send(t, s, "e-a", events.ReimbursementSubmitted, claim("CLM-RISK-A", "M-RISK-A", 100)) // overdue
	send(t, s, "e-b", events.ReimbursementSubmitted, claim("CLM-RISK-B", "M-RISK-B", 50))  // reminder in 5 days
	send(t, s, "e-c", events.ReimbursementSubmitted, claim("CLM-RISK-C", "M-RISK-C", 30))  // reminder in 15 days
	send(t, s, "e-d", events.ReimbursementSubmitted, claim("CLM-RISK-D", "M-RISK-A", 100)) // overdue, then paid
	send(t, s, "e-d-paid", events.ReimbursementPaid, map[string]any{"claimId": "CLM-RISK-D", "paidDate": today.String()})
	// The first age-out notice (21st birthday − 12 months) in 3 days; the other's in 10 years.
	bornSoon := today.AddDays(3).AddYears(-20)
	send(t, s, "e-e", events.MemberEnrolled, enrolled("M-RISK-E", bornSoon))
	send(t, s, "e-f", events.MemberEnrolled, enrolled("M-RISK-F", today.AddYears(-10)))
	send(t, s, "e-a-again", events.ReimbursementSubmitted, claim("CLM-RISK-A", "M-RISK-A", 100)) // a duplicate
	bad := claim("CLM-RISK-G", "M-RISK-G", 0)
	bad["submittedDate"] = "2026-02-31"
	send(t, s, "e-bad", events.ReimbursementSubmitted, bad)
	waitAcked(t, s.JS, 10) // 9 sent and 1 dead letter

	id := func(journey, key string) string { return workflows.WorkflowID(s.Keyer, journey, key) }
	a, b, c, d := id(workflows.JourneyReimbursement, "CLM-RISK-A"), id(workflows.JourneyReimbursement, "CLM-RISK-B"),
		id(workflows.JourneyReimbursement, "CLM-RISK-C"), id(workflows.JourneyReimbursement, "CLM-RISK-D")
	e, f := id(workflows.JourneyAgeOut, "M-RISK-E"), id(workflows.JourneyAgeOut, "M-RISK-F")
	settled(t, s, 6)
	// A journey started late publishes its late events settleLate (5 s) after its start: A's
	// overdue notice, B's reminder and D's close. D's missed overdue notice is not sent: its
	// payment came with it (docs/rules.md, Time).
	collect(t, s.JS, events.JourneyStream, "journeys.reimbursement.>", 3, time.Minute)

	window := now.Add(7 * 24 * time.Hour)
	want := []string{a, b}
	if p.At(bornSoon.AddYears(21).AddMonths(-12)).Before(window) { // true unless a clamped month moves it
		want = append(want, e)
	}
	assertListed(t, s, workflows.Filter{DueBefore: window}, want...)
	assertListed(t, s, workflows.Filter{MemberKey: workflows.MemberKey(s.Keyer, "M-RISK-A")}, a, d)
	assertListed(t, s, workflows.Filter{Journey: workflows.JourneyAgeOut, Open: true}, e, f)
	assertListed(t, s, workflows.Filter{Status: workflows.StatusOverdue, Open: true}, a)
	assertListed(t, s, workflows.Filter{Journey: workflows.JourneyReimbursement, Open: true}, a, b, c)
	// starter list's first page, read through visibility's counts, is the whole listing's first
	// rows, whatever the limit: across the journeys with a next event, those with only a
	// deadline (the closed D) and those with neither.
	for _, f := range []workflows.Filter{{}, {Open: true}, {DueBefore: window}, {Journey: workflows.JourneyReimbursement}} {
		all, err := workflows.List(context.Background(), s.Client, f, nil)
		if err != nil {
			t.Fatal(err)
		}
		for limit := 0; limit <= len(all)+1; limit++ {
			first, total, err := workflows.ListFirst(context.Background(), s.Client, f, limit, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := all
			if limit > 0 && limit < len(all) {
				want = all[:limit]
			}
			if total != int64(len(all)) || !slices.Equal(ids(first), ids(want)) {
				q, _ := f.Query()
				t.Errorf("%s, limit %d: %v of %d, want %v of %d", q, limit, ids(first), total, ids(want), len(all))
			}
		}
	}

	m := scrape(t, s)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"careclock_events_consumed_total", map[string]string{"type": events.ReimbursementSubmitted, "outcome": "started"}, 4},
		{"careclock_events_consumed_total", map[string]string{"type": events.ReimbursementSubmitted, "outcome": "duplicate"}, 1},
		{"careclock_events_consumed_total", map[string]string{"type": events.ReimbursementSubmitted, "outcome": "dead_lettered"}, 1},
		{"careclock_events_consumed_total", map[string]string{"type": events.ReimbursementPaid, "outcome": "signalled"}, 1},
		{"careclock_events_consumed_total", map[string]string{"type": events.MemberEnrolled, "outcome": "started"}, 2},
		{"careclock_events_consumed_total", map[string]string{"type": "deadletter", "outcome": "ignored"}, 1},
		{"careclock_journey_events_published_total", map[string]string{"type": "reimbursement.overdue"}, 1},
		{"careclock_journey_events_published_total", map[string]string{"type": "reimbursement.due_soon"}, 1},
		{"careclock_journey_events_published_total", map[string]string{"type": "reimbursement.closed"}, 1},
		{"careclock_journey_events_late_total", map[string]string{"type": "reimbursement.overdue"}, 1},
		{"careclock_journey_events_late_total", map[string]string{"type": "reimbursement.due_soon"}, 1},
		{"careclock_journeys_open", map[string]string{"journey": "reimbursement", "status": "overdue"}, 1},
		{"careclock_journeys_open", map[string]string{"journey": "reimbursement", "status": "waiting"}, 2},
		{"careclock_journeys_open", map[string]string{"journey": "ageout", "status": "waiting"}, 2},
		{"careclock_journeys_open", map[string]string{"journey": "coc", "status": "waiting"}, 0},
	} {
		if got, ok := value(m, tc.name, tc.labels); !ok || got != tc.want {
			t.Errorf("%s%v = %v (found %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if n := countFamilies(m, "temporal_workflow_task_execution_latency_seconds"); n == 0 {
		t.Error("no temporal_workflow_task_execution_latency_seconds from the SDK")
	}
	if n := countFamilies(m, "temporal_temporal_"); n != 0 {
		t.Errorf("%d SDK metric families named temporal_temporal_…", n)
	}
	// No label anywhere carries a member, claim, date of birth or county.
	phi := []string{"RISK", bornSoon.String(), "Orange"}
	for name, fam := range m {
		for _, metric := range fam.GetMetric() {
			for _, l := range metric.GetLabel() {
				for _, x := range phi {
					if strings.Contains(l.GetValue(), x) {
						t.Errorf("metric %s label %s=%q carries PHI", name, l.GetName(), l.GetValue())
					}
				}
			}
		}
	}
}

// settled waits until n journeys have run their first step (their deadline is set) and none of
// the open ones still has a pending first task.
func settled(t *testing.T, s *stack.Stack, n int) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		rows, err := workflows.List(context.Background(), s.Client, workflows.Filter{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, r := range rows {
			if !r.Deadline.IsZero() && (r.Status != workflows.StatusWaiting || r.Execution == "Running") {
				ready++
			}
		}
		closed := slices.ContainsFunc(rows, func(r workflows.Listed) bool { return r.Status == workflows.StatusClosed })
		if ready == n && closed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d journeys settled: %+v", ready, n, rows)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func ids(rows []workflows.Listed) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.WorkflowID)
	}
	return out
}

func assertListed(t *testing.T, s *stack.Stack, f workflows.Filter, want ...string) {
	t.Helper()
	rows, err := workflows.List(context.Background(), s.Client, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.WorkflowID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		q, _ := f.Query()
		t.Errorf("%s:\n got  %v\n want %v", q, got, want)
	}
}

// scrape reads the stack's /metrics once the SDK's reporter has flushed.
func scrape(t *testing.T, s *stack.Stack) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec := httptest.NewRecorder()
		s.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		var parser expfmt.TextParser
		m, err := parser.TextToMetricFamilies(rec.Body)
		if err != nil {
			t.Fatalf("parse /metrics: %v", err)
		}
		if countFamilies(m, "temporal_") > 0 || time.Now().After(deadline) {
			return m
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func countFamilies(m map[string]*dto.MetricFamily, prefix string) int {
	n := 0
	for name := range m {
		if strings.HasPrefix(name, prefix) {
			n++
		}
	}
	return n
}

// value is the value of the metric with exactly these labels.
func value(m map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	for _, metric := range m[name].GetMetric() {
		if len(metric.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, l := range metric.GetLabel() {
			match = match && labels[l.GetName()] == l.GetValue()
		}
		if !match {
			continue
		}
		if c := metric.GetCounter(); c != nil {
			return c.GetValue(), true
		}
		return metric.GetGauge().GetValue(), true
	}
	return 0, false
}
