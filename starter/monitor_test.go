package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// listFilter parses a list command line as starter does, and returns its filter.
func listFilter(args []string, now time.Time, zone *time.Location) (workflows.Filter, bool, error) {
	var cli commandLine
	if _, err := config.ParseArgs(&cli, "starter", "", append([]string{"list"}, args...), io.Discard, func(int) {}, vars); err != nil {
		return workflows.Filter{}, false, err
	}
	f, err := cli.List.filter(now, zone)
	return f, cli.List.JSON, err
}

// find reads member ids from standard input, one per line, so that they stay out of shell
// history; --member gives one.
func TestMemberIDs(t *testing.T) {
	ids, err := memberIDs("", strings.NewReader("M-1\n\n  M-2  \r\nM-3"))
	if err != nil || strings.Join(ids, ",") != "M-1,M-2,M-3" {
		t.Fatalf("%q %v", ids, err)
	}
	if ids, err := memberIDs("M-9", strings.NewReader("M-1\n")); err != nil || len(ids) != 1 || ids[0] != "M-9" {
		t.Fatalf("%q %v", ids, err)
	}
	if _, err := memberIDs("", strings.NewReader("\n")); err == nil || !strings.Contains(err.Error(), "standard input") {
		t.Fatalf("no ids: %v", err)
	}
}

func TestListFilter(t *testing.T) {
	zone := rules.DefaultPolicy().Zone()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, zone)
	f, jsonOut, err := listFilter([]string{"--at-risk", "7", "--journey", "coc", "--json"}, now, zone)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonOut || !f.Open || f.Journey != "coc" || !f.DueBefore.Equal(now.Add(7*24*time.Hour)) {
		t.Errorf("filter %+v json %v", f, jsonOut)
	}
	q, err := f.Query()
	if err != nil {
		t.Fatal(err)
	}
	want := "CareclockJourney IS NOT NULL AND CareclockJourney = 'coc' AND ExecutionStatus = 'Running' AND " +
		"(CareclockStatus = 'overdue' OR CareclockNextAt < '2026-11-29T18:00:00Z' OR CareclockDeadline < '2026-11-29T18:00:00Z')"
	if q != want {
		t.Errorf("query\n %s\nwant\n %s", q, want)
	}

	// Deadline days are days in the policy's zone; a closed status lists ended journeys.
	f, _, err = listFilter([]string{"--deadline-before", "2027-01-01", "--deadline-after", "2026-12-01", "--status", "closed"}, now, zone)
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := f.Query(); q != "CareclockJourney IS NOT NULL AND CareclockStatus = 'closed' AND "+
		"CareclockDeadline < '2027-01-01T08:00:00Z' AND CareclockDeadline >= '2026-12-01T08:00:00Z'" {
		t.Errorf("query %s", q)
	}

	for _, bad := range [][]string{
		{"--journey", "coc' OR 1=1"}, {"--status", "late"}, {"--deadline-before", "2027-02-31"}, {"extra"}, {"--limit", "-1"},
	} {
		if _, _, err := listFilter(bad, now, zone); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDescribeText(t *testing.T) {
	zone := rules.DefaultPolicy().Zone()
	at := func(days int) time.Time { return time.Date(2027, 1, 14, 9, 0, 0, 0, zone).AddDate(0, 0, days) }
	v := workflows.View[json.RawMessage]{
		Journey: "reimbursement", Status: "waiting", Deadline: rules.MustDate("2027-01-29"), PolicyFrom: "2026-01-01",
		Facts:     json.RawMessage(`{"claimId":"CLM-1001","submittedDate":"2026-11-30"}`),
		Ahead:     []rules.Planned{{Type: "reimbursement.overdue", Date: rules.MustDate("2027-01-30"), At: at(16), RepeatEveryDays: 7}},
		Published: []workflows.Record{{Type: "reimbursement.due_soon", At: at(0)}, {Type: "reimbursement.due_soon", At: at(10), Late: true}},
		Applied:   3,
		Held: []workflows.HeldFact{{At: time.Date(2027, 2, 9, 0, 0, 0, 0, zone),
			Event: events.Event{ID: "e-10", Source: "urn:enrollment", Type: "member.disenrolled"}}},
		Refused: []workflows.Refusal{{ID: "e-9", Source: "urn:grievances", Type: "grievance.acknowledged", At: at(-30),
			Reason: "reimbursement does not take grievance.acknowledged"}},
	}
	var out bytes.Buffer
	op := &operator{namespace: "default", uiURL: "http://localhost:8233", policy: rules.DefaultPolicy(), out: &out}
	if err := op.printView("reimbursement-abc", v); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"journey         reimbursement",
		"workflow        reimbursement-abc",
		"ui              http://localhost:8233/namespaces/default/workflows/reimbursement-abc",
		"status          waiting",
		"deadline        2027-01-29",
		"policy from     2026-01-01",
		"events applied  3",
		"facts",
		"  claimId        CLM-1001",
		"  submittedDate  2026-11-30",
		"ahead",
		"  2027-01-30 09:00 PST  reimbursement.overdue  every 7 days",
		"published",
		"  2027-01-14 09:00 PST  reimbursement.due_soon",
		"  2027-01-24 09:00 PST  reimbursement.due_soon  late",
		"skipped",
		"held",
		"  2027-02-09 00:00 PST  member.disenrolled  urn:enrollment e-10",
		"refused",
		"  2026-12-15 09:00 PST  grievance.acknowledged  urn:grievances e-9  reimbursement does not take grievance.acknowledged",
		"",
	}, "\n")
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// An expedited authorization's deadline is an instant: describe and list show its hour in the
// policy's zone; a date deadline stays a date.
func TestInstantDeadlinesShowTheirHour(t *testing.T) {
	p := rules.DefaultPolicy()
	zone := p.Zone()
	deadline := time.Date(2027, 3, 16, 11, 0, 0, 0, zone)
	v := workflows.View[json.RawMessage]{
		Journey: "authorization", Status: "waiting", Deadline: rules.MustDate("2027-03-16"), DeadlineAt: deadline,
		Facts:   json.RawMessage(`{"urgency":"expedited"}`),
		Skipped: []workflows.Record{{Type: "authorization.decision_due_soon", At: deadline.Add(-24 * time.Hour), Late: true, Superseded: true}},
	}
	var out bytes.Buffer
	op := &operator{namespace: "default", uiURL: "http://localhost:8233", policy: p, out: &out}
	if err := op.printView("authorization-abc", v); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"deadline        2027-03-16 11:00 PDT\n", "  2027-03-15 11:00 PDT  authorization.decision_due_soon  late  superseded\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("describe lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	rows := []workflows.Listed{
		{Journey: "authorization", WorkflowID: "authorization-abc", Status: "waiting", Execution: "Running", Deadline: deadline},
		{Journey: "reimbursement", WorkflowID: "reimbursement-abc", Status: "waiting", Execution: "Running",
			Deadline: p.ForJourney("reimbursement-abc").At(rules.MustDate("2027-01-29"))},
	}
	if err := op.printList(rows, 250); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"authorization  waiting  -     2027-03-16 11:00 PDT", "reimbursement  waiting  -     2027-01-29  ",
		"the first 2 of 250 journeys, the nearest next event first (--limit 0 for every one)\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list lacks %q:\n%s", want, out.String())
		}
	}
}
