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
