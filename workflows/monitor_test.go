package workflows

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// paidLateAttrs are the search attributes of the claim paid late (paidLate) at its start and
// after each upsert.
var paidLateAttrs = []string{
	"2026-11-30T10:00 reimbursement waiting next=2027-01-14T09:00 deadline=2027-01-29T09:00 (start)",
	"2027-01-14T09:00 reimbursement waiting next=2027-01-24T09:00 deadline=2027-01-29T09:00",
	"2027-01-24T09:00 reimbursement waiting next=2027-01-30T09:00 deadline=2027-01-29T09:00",
	"2027-01-30T09:00 reimbursement overdue next=2027-02-06T09:00 deadline=2027-01-29T09:00",
	"2027-02-06T09:00 reimbursement overdue next=2027-02-13T09:00 deadline=2027-01-29T09:00",
	"2027-02-10T15:00 reimbursement closed next=- deadline=2027-01-29T09:00",
}

// The search attributes a journey keeps current, at each step of its life: set at its start (its
// first workflow task then has nothing to upsert), then upserted at each reminder, the deadline
// passing, each overdue repeat, and the payment that closes it.
func TestSearchAttributesThroughAReimbursement(t *testing.T) {
	jt := paidLate(t, nil, false)
	if !slices.Equal(jt.attrs, paidLateAttrs) {
		t.Errorf("search attributes:\n  %s\nwant:\n  %s", strings.Join(jt.attrs, "\n  "), strings.Join(paidLateAttrs, "\n  "))
	}
}

// A journey cancelled by disenrollment shows it, and waits for nothing.
func TestSearchAttributesOfACancelledJourney(t *testing.T) {
	jt := newJourneyTest(t, "2026-03-01T10:00:00-08:00")
	jt.signalAt("2026-04-01T12:00:00-07:00", events.MemberDisenrolled, "e-gone",
		map[string]any{"memberId": "M-7", "effectiveDate": "2026-04-01"})
	jt.run(events.PregnancyEnded, map[string]any{"memberId": "M-7", "pregnancyEndDate": "2026-01-01"})
	want := []string{
		"2026-03-01T10:00 postpartum waiting next=2026-11-01T09:00 deadline=2026-12-31T09:00 (start)",
		"2026-04-01T12:00 postpartum cancelled next=- deadline=2026-12-31T09:00",
	}
	if !slices.Equal(jt.attrs, want) {
		t.Errorf("search attributes:\n  %s\nwant:\n  %s", strings.Join(jt.attrs, "\n  "), strings.Join(want, "\n  "))
	}
}

// The state query: facts, what was published and skipped, what is next; and the current details
// the UI shows.
func TestStateQuery(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	q := jt.queryAt("2027-01-20T12:00:00-08:00")
	jt.signalAt("2027-01-25T10:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-01-25"})
	jt.run(events.ReimbursementSubmitted, claim)
	if !q.done {
		t.Fatal("query not run")
	}
	v := q.view
	var facts ReimbursementFacts
	if err := json.Unmarshal(v.Facts, &facts); err != nil {
		t.Fatal(err)
	}
	if v.Journey != JourneyReimbursement || v.Status != StatusWaiting || v.Deadline != rules.MustDate("2027-01-29") || v.Applied != 1 {
		t.Errorf("view = %s %s %s applied %d", v.Journey, v.Status, v.Deadline, v.Applied)
	}
	if facts.ClaimID != "CLM-1001" || facts.Submitted != rules.MustDate("2026-11-30") || facts.Outcome != "" {
		t.Errorf("facts = %+v", facts)
	}
	assertRecords(t, "published", v.Published, "reimbursement.due_soon@2027-01-14 2027-01-14T09:00")
	assertRecords(t, "skipped", v.Skipped)
	assertPlanned(t, v.Ahead, "reimbursement.due_soon 2027-01-24T09:00", "reimbursement.overdue 2027-01-30T09:00 every 7")
	if v.Next == nil || v.Next.Type != "reimbursement.due_soon" || v.Next.Date != rules.MustDate("2027-01-24") {
		t.Errorf("next = %+v", v.Next)
	}
	if want := "waiting · next reimbursement.due_soon on 2027-01-24 at 09:00 PST · due 2027-01-29"; q.details != want {
		t.Errorf("current details %q, want %q", q.details, want)
	}
}

// A journey started after its reminders' deadline shows them skipped, and the late overdue
// notice it published.
func TestStateQueryOfALateJourney(t *testing.T) {
	jt := newJourneyTest(t, "2027-02-01T10:00:00-08:00")
	q := jt.queryAt("2027-02-01T12:00:00-08:00")
	jt.signalAt("2027-02-02T10:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-02-02"})
	jt.run(events.ReimbursementSubmitted, claim)
	v := q.view
	if v.Status != StatusOverdue {
		t.Errorf("status %s", v.Status)
	}
	assertRecords(t, "published", v.Published, "reimbursement.overdue@2027-01-30 2027-01-30T09:00 late")
	assertRecords(t, "skipped", v.Skipped,
		"reimbursement.due_soon@2027-01-14 2027-01-14T09:00 late", "reimbursement.due_soon@2027-01-24 2027-01-24T09:00 late")
	assertPlanned(t, v.Ahead, "reimbursement.overdue 2027-02-06T09:00 every 7")
	if want := "overdue · next reimbursement.overdue on 2027-02-06 at 09:00 PST · due 2027-01-29"; q.details != want {
		t.Errorf("current details %q, want %q", q.details, want)
	}
}

// Each journey's summary line in the UI names the journey and its deadline, never the member.
func TestSummaries(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	s := jt.route(events.ReimbursementSubmitted, claim)[0]
	if got, want := StartOptions(s, TaskQueue, jt.start).StaticSummary, "reimbursement · due 2027-01-29"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	for _, j := range Journeys {
		if deadlineNames[j] == "" {
			t.Errorf("journey %s has no deadline name", j)
		}
	}
}

func assertRecords(t *testing.T, what string, rs []Record, want ...string) {
	t.Helper()
	loc := rules.DefaultPolicy().Zone()
	var got []string
	for _, r := range rs {
		s := r.Key + " " + r.At.In(loc).Format("2006-01-02T15:04")
		if r.Late {
			s += " late"
		}
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func assertPlanned(t *testing.T, ps []rules.Planned, want ...string) {
	t.Helper()
	loc := rules.DefaultPolicy().Zone()
	var got []string
	for _, p := range ps {
		s := p.Type + " " + p.At.In(loc).Format("2006-01-02T15:04")
		if p.RepeatEveryDays > 0 {
			s += " every " + strconv.Itoa(p.RepeatEveryDays)
		}
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ahead:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
