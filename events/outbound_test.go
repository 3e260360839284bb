package events

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/careclock/careclock/rules"
)

func TestJourneySubject(t *testing.T) {
	cases := map[[2]string]string{
		{"reimbursement", "reimbursement.overdue"}:          "journeys.reimbursement.overdue",
		{"ccs-referral", "ccs.referral.opened"}:             "journeys.ccs-referral.opened",
		{"ccs-referral", "ccs.network.assignment_required"}: "journeys.ccs-referral.network.assignment_required",
		{"coc", "coc.ending"}:                               "journeys.coc.ending",
		{"ageout", "ageout.aged_out"}:                       "journeys.ageout.aged_out",
		{"postpartum", "postpartum.coverage_ending"}:        "journeys.postpartum.coverage_ending",
	}
	for in, want := range cases {
		if got := JourneySubject(in[0], in[1]); got != want {
			t.Errorf("JourneySubject(%s, %s) = %s, want %s", in[0], in[1], got, want)
		}
	}
}

func TestNewJourneyEventIsDeterministicAndCarriesTheCommonData(t *testing.T) {
	at := time.Date(2027, 1, 30, 17, 0, 0, 0, time.UTC)
	o := Occurrence{
		Journey: "reimbursement", WorkflowID: "reimbursement-abc", MemberID: "M-1", Type: "reimbursement.overdue",
		Key: "reimbursement.overdue@2027-01-30", On: rules.MustDate("2027-01-30"), Deadline: rules.MustDate("2027-01-29"),
		At: at, Fields: map[string]any{"daysOverdue": 1, "late": "must not override"},
	}
	a, err := json.Marshal(NewJourneyEvent(o))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(NewJourneyEvent(o))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"specversion":"1.0","id":"reimbursement-abc:reimbursement.overdue@2027-01-30","source":"/careclock/journeys/reimbursement","type":"reimbursement.overdue","subject":"reimbursement-abc","time":"2027-01-30T17:00:00Z","datacontenttype":"application/json","data":{"daysOverdue":1,"deadline":"2027-01-29","eventDate":"2027-01-30","journey":"reimbursement","late":false,"memberId":"M-1","workflowId":"reimbursement-abc"}}`
	if string(a) != want || string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", a, want)
	}
	subject, err := NewJourneyEvent(o).NATSSubject()
	if err != nil || subject != "journeys.reimbursement.overdue" {
		t.Fatalf("subject %s, %v", subject, err)
	}
	if _, err := (JourneyEvent{ID: "x"}).NATSSubject(); err == nil {
		t.Fatal("an event without a journey has a subject")
	}
}

// A journey opened again under its workflow id (a re-enrolled member's age-out) numbers its run
// in its events' ids, so that JetStream does not take them for copies of the first run's.
func TestJourneyEventIDOfRun(t *testing.T) {
	on := rules.MustDate("2026-12-01")
	id := "ageout-0123456789abcdef0123456789abcdef"
	for run, want := range map[int]string{0: id + ":ageout.notice@2026-12-01#1", 1: id + ":ageout.notice@2026-12-01#1", 2: id + ":ageout.notice@2026-12-01#1.r2", 12: id + ":ageout.notice@2026-12-01#1.r12"} {
		got := JourneyEventIDOfRun(id, "ageout.notice", on, 1, run)
		if got != want || !JourneyEventIDPattern.MatchString(got) {
			t.Errorf("run %d: %q (pattern %v), want %q", run, got, JourneyEventIDPattern.MatchString(got), want)
		}
	}
	if JourneyEventIDPattern.MatchString(id + ":ageout.notice@2026-12-01#1.0") {
		t.Error("the pattern takes the id form of events before numbered ids")
	}
}
