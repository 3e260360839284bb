package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

func ev(typ, date string, data map[string]any) events.JourneyEvent {
	d := map[string]any{"eventDate": date}
	for k, v := range data {
		d[k] = v
	}
	return events.JourneyEvent{Type: typ, Subject: "wf-" + typ + "-" + date, Data: d}
}

// Which closing events settle which deadline, and how.
func TestCloses(t *testing.T) {
	cases := []struct {
		ev   events.JourneyEvent
		want string
	}{
		{ev("reimbursement.closed", "2027-01-20", map[string]any{"outcome": "paid", "onTime": true}), KindReimbursementPaid + " true"},
		{ev("reimbursement.closed", "2027-01-20", map[string]any{"outcome": "denied", "onTime": true}), ""},
		{ev("authorization.closed", "2027-01-20", map[string]any{"outcome": "denied", "onTime": false, "noticeOnTime": true}),
			KindAuthDecided + " false," + KindNoticeOfAction + " true"},
		{ev("authorization.closed", "2027-01-20", map[string]any{"outcome": "withdrawn"}), ""},
		{ev("grievance.closed", "2027-01-20", map[string]any{"onTime": false}), KindGrievanceResolved + " false"},
		{ev("appeal.closed", "2027-01-20", map[string]any{"onTime": true}), KindAppealResolved + " true"},
		{ev("coc.approved", "2027-01-20", map[string]any{"onTime": false}), KindCoCDecided + " false"},
		{ev("coc.closed", "2027-01-20", map[string]any{"onTime": true}), KindCoCDecided + " true"},
		{ev("reimbursement.overdue", "2027-01-20", map[string]any{"daysOverdue": 1}), ""},
	}
	for _, c := range cases {
		var got []string
		for _, cl := range Closes(c.ev) {
			got = append(got, cl.Kind+" "+map[bool]string{true: "true", false: "false"}[cl.OnTime])
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("%s %v: %v, want %s", c.ev.Type, c.ev.Data, got, c.want)
		}
		if len(got) > 0 && !slices.Contains(closingTypes, c.ev.Type) {
			t.Errorf("%s settles a deadline but ReadCloses does not read it", c.ev.Type)
		}
	}
}

func TestBuildCountsByJourneyKindAndPeriod(t *testing.T) {
	zone := rules.DefaultPolicy().Zone()
	d := rules.MustDate
	closes := []Close{
		{KindReimbursementPaid, "r1", d("2027-01-05"), true},
		{KindReimbursementPaid, "r2", d("2027-01-31"), true},
		{KindReimbursementPaid, "r3", d("2027-01-31"), false},
		{KindReimbursementPaid, "r4", d("2027-02-01"), false},
		{KindReimbursementPaid, "r5", d("2026-12-31"), false}, // before --from
		{KindAuthDecided, "a1", d("2027-03-31"), true},
		{KindNoticeOfAction, "a1", d("2027-03-31"), false},
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	journeys := []Journey{
		// Started 2027-01-31 at 23:30 in Los Angeles: January there, February in UTC.
		{Journey: "reimbursement", WorkflowID: "r1", Started: at("2027-02-01T07:30:00Z"), Deadline: at("2027-04-01T17:00:00Z")},
		{Journey: "reimbursement", WorkflowID: "r6", Started: at("2027-02-10T17:00:00Z"), Deadline: at("2027-02-20T17:00:00Z"), Open: true, Overdue: true},
		{Journey: "authorization", WorkflowID: "a2", Started: at("2027-03-01T17:00:00Z"), Deadline: at("2027-03-04T17:00:00Z"), Open: true, Overdue: true},
		{Journey: "authorization", WorkflowID: "a3", Started: at("2027-03-02T17:00:00Z"), Deadline: at("2027-03-05T17:00:00Z"), Open: true},
	}
	r := Build(closes, TallyJourneys(journeys, "month", d("2027-01-01"), d("2027-03-31"), zone, rules.Date{}), "month", d("2027-01-01"), d("2027-03-31"), true, rules.Date{})
	var got []string
	for _, row := range r.Rows {
		got = append(got, strings.Join([]string{row.Journey, row.Kind, row.Period,
			itoa(row.Opened), itoa(row.OnTime), itoa(row.Late), itoa(row.OpenPastDue), share(row.Share)}, "|"))
	}
	want := []string{
		"authorization||2027-03|2|0|0|0|-",
		"authorization|" + KindAuthDecided + "|2027-03|0|1|0|1|100.0%",
		"authorization|" + KindNoticeOfAction + "|2027-03|0|0|1|0|0.0%",
		"reimbursement||2027-01|1|0|0|0|-",
		"reimbursement||2027-02|1|0|0|0|-",
		"reimbursement|" + KindReimbursementPaid + "|2027-01|0|2|1|0|66.7%",
		"reimbursement|" + KindReimbursementPaid + "|2027-02|0|0|1|1|0.0%",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(r.Late) != 3 || r.Late[0].WorkflowID != "a1" || r.Late[0].Kind != KindNoticeOfAction {
		t.Errorf("late: %+v", r.Late)
	}
	q := Build(closes, TallyJourneys(journeys, "quarter", d("2027-01-01"), d("2027-03-31"), zone, rules.Date{}), "quarter", d("2027-01-01"), d("2027-03-31"), false, rules.Date{})
	for _, row := range q.Rows {
		if row.Kind == KindReimbursementPaid && (row.Period != "2027-Q1" || row.OnTime != 2 || row.Late != 2 || row.OpenPastDue != 1) {
			t.Errorf("by quarter: %+v", row)
		}
	}
	if len(q.Late) != 0 {
		t.Errorf("late items without --detail: %v", q.Late)
	}

	// The outputs.
	var csv, js, html bytes.Buffer
	if err := r.CSV(&csv); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csv.String(), "reimbursement,"+KindReimbursementPaid+",2027-01,0,2,1,0,0.6667\n") {
		t.Errorf("csv:\n%s", csv.String())
	}
	if err := r.JSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Rows) != len(r.Rows) {
		t.Errorf("json: %v %s", err, js.String())
	}
	if err := r.HTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", KindReimbursementPaid + ": on-time share", "66.7%", "2/3", "+1 open", ">r3<"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("html lacks %q", want)
		}
	}
	if strings.Contains(html.String(), "<script") || strings.Contains(html.String(), "src=") {
		t.Error("the page runs or loads something: it must open alone")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// A journey that continued as new opened once, when its first run started; a run opened again
// after one ended is an opening; only the current run counts open past due; openings before
// openedFrom (the namespace's retention) are not counted, and the report says from when it counts.
func TestOpeningsByFirstStart(t *testing.T) {
	zone := rules.DefaultPolicy().Zone()
	d := rules.MustDate
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	journeys := []Journey{
		{Journey: "ageout", WorkflowID: "ag1", Started: at("2027-01-10T17:00:00Z"), Superseded: true},
		{Journey: "ageout", WorkflowID: "ag1", Started: at("2027-02-10T17:00:00Z"), Continued: true, Superseded: true},
		{Journey: "ageout", WorkflowID: "ag1", Started: at("2027-03-10T17:00:00Z"), Continued: true},
		{Journey: "reimbursement", WorkflowID: "r1", Started: at("2027-01-05T17:00:00Z"), Deadline: at("2027-01-20T17:00:00Z"), Open: true, Overdue: true, Superseded: true},
		{Journey: "reimbursement", WorkflowID: "r1", Started: at("2027-02-05T17:00:00Z"), Deadline: at("2027-02-20T17:00:00Z"), Open: true, Overdue: true},
		{Journey: "reimbursement", WorkflowID: "r0", Started: at("2026-12-20T17:00:00Z")},
	}
	r := Build(nil, TallyJourneys(journeys, "month", d("2026-12-01"), d("2027-03-31"), zone, d("2027-01-01")), "month", d("2026-12-01"), d("2027-03-31"), false, d("2027-01-01"))
	var got []string
	for _, row := range r.Rows {
		got = append(got, strings.Join([]string{row.Journey, row.Kind, row.Period, itoa(row.Opened), itoa(row.OpenPastDue)}, "|"))
	}
	want := []string{
		"ageout||2027-01|1|0",
		"reimbursement||2027-01|1|0",
		"reimbursement||2027-02|1|0",
		"reimbursement|" + KindReimbursementPaid + "|2027-02|0|1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || r.OpenedFrom != "2027-01-01" {
		t.Errorf("rows:\n%s\nwant:\n%s\nopenedFrom %q", strings.Join(got, "\n"), strings.Join(want, "\n"), r.OpenedFrom)
	}
}

// A denial decided on time on 2027-01-28 whose notice went out late on 2027-02-03: the decision
// counts on time in January, the notice late in February, and nothing else.
func TestALateNoticeCountsUnderTheNoticeRowOnly(t *testing.T) {
	e := ev("authorization.closed", "2027-02-03", map[string]any{
		"outcome": "denied", "onTime": true, "noticeOnTime": false, "decidedAt": "2027-01-28T10:00:00-08:00",
	})
	r := Build(Closes(e), Tally{}, "month", rules.MustDate("2027-01-01"), rules.MustDate("2027-03-31"), true, rules.Date{})
	var got []string
	for _, row := range r.Rows {
		got = append(got, strings.Join([]string{row.Kind, row.Period, itoa(row.OnTime), itoa(row.Late)}, "|"))
	}
	want := []string{KindAuthDecided + "|2027-01|1|0", KindNoticeOfAction + "|2027-02|0|1"}
	if !slices.Equal(got, want) || len(r.Late) != 1 || r.Late[0].Kind != KindNoticeOfAction {
		t.Errorf("rows %v, late %+v; want %v and the notice late", got, r.Late, want)
	}
}
