package stack_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
	timeliness "github.com/careclock/careclock/report"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// `starter report` on a run with known on-time and late closes: exact counts and shares, from
// the journey stream and visibility of the whole stack.
func TestTimelinessReport(t *testing.T) {
	s := startStack(t)
	p := testPolicy()
	now := time.Now()
	today := p.Today(now)
	claim := func(id string, daysAgo int) map[string]any {
		return map[string]any{"claimId": id, "memberId": "M-REP-1", "submittedDate": today.AddDays(-daysAgo).String(),
			"amountCents": 900, "category": "parking"}
	}
	send(t, s, "rep-a", events.ReimbursementSubmitted, claim("CLM-REP-A", 10))  // paid on time
	send(t, s, "rep-b", events.ReimbursementSubmitted, claim("CLM-REP-B", 70))  // paid 10 days late
	send(t, s, "rep-c", events.ReimbursementSubmitted, claim("CLM-REP-C", 100)) // still open, 40 days past due
	send(t, s, "rep-pa", events.AuthorizationRequested, map[string]any{"requestId": "PA-REP-1", "memberId": "M-REP-1",
		"receivedAt": now.Add(-73 * time.Hour).Format(time.RFC3339), "urgency": "expedited", "infoComplete": true, "serviceCode": "E0784"})
	send(t, s, "rep-g", events.GrievanceReceived, map[string]any{"grievanceId": "G-REP-1", "memberId": "M-REP-1",
		"receivedAt": now.Add(-48 * time.Hour).Format(time.RFC3339), "expedited": false})
	waitAcked(t, s.JS, 5)
	running(t, s, "CareclockJourney != ''", 5)
	send(t, s, "rep-a-paid", events.ReimbursementPaid, map[string]any{"claimId": "CLM-REP-A", "paidDate": today.String()})
	send(t, s, "rep-b-paid", events.ReimbursementPaid, map[string]any{"claimId": "CLM-REP-B", "paidDate": today.String()})
	send(t, s, "rep-pa-dec", events.AuthorizationDecided, map[string]any{"requestId": "PA-REP-1", "decision": "approved", "decidedAt": now.Format(time.RFC3339)})
	send(t, s, "rep-g-res", events.GrievanceResolved, map[string]any{"grievanceId": "G-REP-1", "resolvedAt": now.Format(time.RFC3339)})
	closes := collect(t, s.JS, events.JourneyStream, "journeys.*.closed", 4, time.Minute)
	if len(closes) != 4 {
		t.Fatalf("%d closes", len(closes))
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := timeliness.ReadCloses(ctx, s.JS)
	if err != nil {
		t.Fatal(err)
	}
	continuedOnce(t, s)
	journeys, err := timeliness.ReadJourneys(ctx, s.Client)
	if err != nil {
		t.Fatal(err)
	}
	from := today.AddDays(-100)
	r := timeliness.Build(got, timeliness.TallyJourneys(journeys, "month", from, today, p.Zone(), rules.Date{}), "month", from, today, true, rules.Date{})
	// starter report's way, from visibility's counts, gives the same report.
	counted, err := timeliness.CountJourneys(ctx, s.Client, "month", from, today, p.Zone(), rules.Date{})
	if err != nil {
		t.Fatal(err)
	}
	if c := timeliness.Build(got, counted, "month", from, today, true, rules.Date{}); !reflect.DeepEqual(c, r) {
		t.Errorf("from counts:\n%+v\nfrom the listing:\n%+v", c.Rows, r.Rows)
	}
	month, pastDue := timeliness.Period(today, "month"), timeliness.Period(today.AddDays(-40), "month")
	type key struct{ journey, kind, period string }
	rows := map[key]timeliness.Row{}
	for _, row := range r.Rows {
		rows[key{row.Journey, row.Kind, row.Period}] = row
	}
	check := func(k key, opened, onTime, late, open int, share float64) {
		t.Helper()
		row := rows[k]
		if row.Opened != opened || row.OnTime != onTime || row.Late != late || row.OpenPastDue != open || (onTime+late > 0 && row.Share != share) {
			t.Errorf("%v: %+v, want opened %d, on time %d, late %d, open past due %d, share %v", k, row, opened, onTime, late, open, share)
		}
	}
	check(key{"reimbursement", "", month}, 3, 0, 0, 0, 0)
	check(key{"authorization", "", month}, 1, 0, 0, 0, 0)
	check(key{"grievance", "", month}, 1, 0, 0, 0, 0)
	check(key{"ageout", "", month}, 1, 0, 0, 0, 0) // two runs, one opening
	if pastDue == month {
		check(key{"reimbursement", timeliness.KindReimbursementPaid, month}, 0, 1, 1, 1, 0.5)
	} else {
		check(key{"reimbursement", timeliness.KindReimbursementPaid, month}, 0, 1, 1, 0, 0.5)
		check(key{"reimbursement", timeliness.KindReimbursementPaid, pastDue}, 0, 0, 0, 1, 0)
	}
	check(key{"authorization", timeliness.KindAuthDecided, month}, 0, 0, 1, 0, 0)
	check(key{"grievance", timeliness.KindGrievanceResolved, month}, 0, 1, 0, 0, 1)
	late := map[string]string{}
	for _, l := range r.Late {
		late[l.WorkflowID] = l.Kind
	}
	wantLate := map[string]string{
		workflows.WorkflowID(s.Keyer, workflows.JourneyReimbursement, "CLM-REP-B"): timeliness.KindReimbursementPaid,
		workflows.WorkflowID(s.Keyer, workflows.JourneyAuthorization, "PA-REP-1"):  timeliness.KindAuthDecided,
	}
	if len(late) != len(wantLate) {
		t.Errorf("late %v, want %v", late, wantLate)
	}
	for id, kind := range wantLate {
		if late[id] != kind {
			t.Errorf("late %v, want %s: %s", late, id, kind)
		}
	}
}

// continuedOnce runs an age-out's stand-in whose first run continues as new: two runs of one
// journey, the second running, and waits until visibility lists both.
func continuedOnce(t *testing.T, s *stack.Stack) {
	t.Helper()
	const queue, id = "report-continued", "ageout-report-continued"
	w := worker.New(s.Client, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, again bool) error {
		if again {
			return workflow.NewContinueAsNewError(ctx, "continuesOnce", false)
		}
		return workflow.Await(ctx, func() bool { return false })
	}, workflow.RegisterOptions{Name: "continuesOnce"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	_, err := s.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: id, TaskQueue: queue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.AttrJourney.ValueSet(workflows.JourneyAgeOut)),
	}, "continuesOnce", true)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(45 * time.Second)
	for {
		resp, err := s.Client.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s' AND ExecutionStatus = 'ContinuedAsNew'", id)})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetCount() == 1 {
			running(t, s, fmt.Sprintf("WorkflowId = '%s'", id), 1)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the first run is not listed as continued as new")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
