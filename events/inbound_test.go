package events

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/careclock/careclock/rules"
)

var today = rules.MustDate("2026-11-22")

func envelope(eventType string, data string) string {
	return `{"specversion":"1.0","id":"e-1","source":"urn:test","type":"` + eventType + `","data":` + data + `}`
}

func TestDecodeValidEvents(t *testing.T) {
	raw := envelope(ReimbursementSubmitted, `{"claimId":"C-1","memberId":"M-1","submittedDate":"2026-11-30","amountCents":4250,"category":"mileage","extra":"ignored"}`)
	ev, payload, err := Decode([]byte(raw), today)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := payload.(*ReimbursementSubmittedData)
	if !ok || d.ClaimID != "C-1" || d.SubmittedDate != rules.MustDate("2026-11-30") || *d.AmountCents != 4250 || d.Category != "mileage" {
		t.Fatalf("payload %+v", payload)
	}
	if ev.ID != "e-1" || ev.Type != ReimbursementSubmitted {
		t.Fatalf("event %+v", ev)
	}
	// The event travels as JSON (a signal) and decodes again by type.
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	again, err := As[ReimbursementSubmittedData](back)
	if err != nil || again.ClaimID != "C-1" {
		t.Fatalf("As: %+v, %v", again, err)
	}
	if _, err := As[ReimbursementPaidData](back); err == nil {
		t.Fatal("As with the wrong type succeeded")
	}

	wcm := envelope(WCMTransitioned, `{"memberId":"M-1","transitionDate":"2019-07-01","providers":[{"providerId":"P-1","contracted":false},{"providerId":"P-2","contracted":true}]}`)
	_, payload, err = Decode([]byte(wcm), today)
	if err != nil {
		t.Fatal(err)
	}
	w := payload.(*WCMTransitionedData)
	if len(w.Providers) != 2 || *w.Providers[0].Contracted || !*w.Providers[1].Contracted {
		t.Fatalf("providers %+v", w.Providers)
	}
	optional := envelope(MemberDisenrolled, `{"memberId":"M-1","effectiveDate":"2026-12-01"}`)
	if _, _, err := Decode([]byte(optional), today); err != nil {
		t.Fatalf("optional reason missing: %v", err)
	}
}

func TestDecodeRejectsWithAReasonThatNamesTheFieldNotTheValue(t *testing.T) {
	reimb := func(data string) string { return envelope(ReimbursementSubmitted, data) }
	cases := []struct{ name, raw, reason string }{
		{"not JSON", `{"specversion":`, "not JSON"},
		{"empty", ``, "not JSON"},
		{"a JSON array", `[1,2]`, "not a CloudEvent"},
		{"no specversion", `{"id":"1","source":"s","type":"reimbursement.paid","data":{}}`, `not a CloudEvent: specversion must be "1.0"`},
		{"no id", `{"specversion":"1.0","source":"s","type":"reimbursement.paid","data":{}}`, "not a CloudEvent: id is required"},
		{"no source", `{"specversion":"1.0","id":"1","type":"reimbursement.paid","data":{}}`, "not a CloudEvent: source is required"},
		{"bad time", `{"specversion":"1.0","id":"1","source":"s","type":"reimbursement.paid","time":"yesterday","data":{}}`, "not a CloudEvent: time must be RFC 3339"},
		{"xml", `{"specversion":"1.0","id":"1","source":"s","type":"reimbursement.paid","datacontenttype":"application/xml","data":{}}`, "datacontenttype must be application/json"},
		{"unknown type", envelope("member.teleported", `{}`), "unknown type"},
		{"no data", `{"specversion":"1.0","id":"1","source":"s","type":"reimbursement.paid"}`, "data: must be a JSON object"},
		{"data not an object", envelope(ReimbursementPaid, `"C-1"`), "data: must be a JSON object"},
		{"missing field", reimb(`{"memberId":"M-1","submittedDate":"2026-11-30","amountCents":1,"category":"meals"}`), "data.claimId: required"},
		{"null field", reimb(`{"claimId":null,"memberId":"M-1","submittedDate":"2026-11-30","amountCents":1,"category":"meals"}`), "data.claimId: required"},
		{"empty string", reimb(`{"claimId":"","memberId":"M-1","submittedDate":"2026-11-30","amountCents":1,"category":"meals"}`), "data.claimId: must not be empty"},
		{"wrong type", reimb(`{"claimId":17,"memberId":"M-1","submittedDate":"2026-11-30","amountCents":1,"category":"meals"}`), "data.claimId: wrong type (want a string)"},
		{"31 February", reimb(`{"claimId":"C","memberId":"M-1","submittedDate":"2026-02-31","amountCents":1,"category":"meals"}`), "data.submittedDate: not a calendar date"},
		{"year 0001", reimb(`{"claimId":"C","memberId":"M-1","submittedDate":"0001-01-01","amountCents":1,"category":"meals"}`), "data.submittedDate: out of range"},
		{"US date", reimb(`{"claimId":"C","memberId":"M-1","submittedDate":"11/30/2026","amountCents":1,"category":"meals"}`), "data.submittedDate: not a date"},
		{"date as number", reimb(`{"claimId":"C","memberId":"M-1","submittedDate":20261130,"amountCents":1,"category":"meals"}`), "data.submittedDate: wrong type (want a YYYY-MM-DD string)"},
		{"fractional cents", reimb(`{"claimId":"C","memberId":"M-1","submittedDate":"2026-11-30","amountCents":1.5,"category":"meals"}`), "data.amountCents: wrong type (want a whole number)"},
		{"negative cents", reimb(`{"claimId":"C","memberId":"M-1","submittedDate":"2026-11-30","amountCents":-5,"category":"meals"}`), "data.amountCents: must not be negative"},
		{"unknown category", reimb(`{"claimId":"C","memberId":"M-1","submittedDate":"2026-11-30","amountCents":5,"category":"spa"}`), "data.category: must be one of transportation, mileage, meals, lodging, parking, tolls"},
		{"birth in the future", envelope(MemberBirthdateCorrected, `{"memberId":"M-1","dateOfBirth":"2026-11-23"}`), "data.dateOfBirth: in the future"},
		{"bad county model", envelope(MemberCountyChanged, `{"memberId":"M-1","county":"Yolo","countyModel":"federal","effectiveDate":"2026-11-01"}`), "data.countyModel: must be one of independent, dependent"},
		{"missing boolean", envelope(MemberEnrolled, `{"memberId":"M-1","dateOfBirth":"2010-01-01","enrollmentDate":"2026-01-01","county":"Yolo","countyModel":"independent","fullScopeMediCal":true}`), "data.ccsEligible: required"},
		{"no providers", envelope(WCMTransitioned, `{"memberId":"M-1","transitionDate":"2019-07-01","providers":[]}`), "data.providers: must not be empty"},
		{"provider without id", envelope(WCMTransitioned, `{"memberId":"M-1","transitionDate":"2019-07-01","providers":[{"contracted":false}]}`), "data.providers[0].providerId: required"},
		{"timestamp without its offset", envelope(AuthorizationRequested, `{"requestId":"PA-1","memberId":"M-1","receivedAt":"2027-04-02T10:00:00","urgency":"expedited","infoComplete":true,"serviceCode":"97110"}`), "data.receivedAt: must be an RFC 3339 timestamp with its offset"},
		{"timestamp as a date", envelope(AuthorizationDecided, `{"requestId":"PA-1","decision":"approved","decidedAt":"2027-04-02"}`), "data.decidedAt: must be an RFC 3339 timestamp with its offset"},
		{"timestamp as a number", envelope(AuthorizationDecided, `{"requestId":"PA-1","decision":"approved","decidedAt":1795000000}`), "data.decidedAt: must be an RFC 3339 timestamp with its offset"},
		{"open-ended sentinel timestamp", envelope(AuthorizationRequested, `{"requestId":"PA-1","memberId":"M-1","receivedAt":"9999-12-31T00:00:00Z","urgency":"expedited","infoComplete":true,"serviceCode":"97110"}`), "data.receivedAt: out of range (1900-01-01 to 2199-12-31)"},
		{"timestamp in year 1899", envelope(GrievanceReceived, `{"grievanceId":"G-1","memberId":"M-1","receivedAt":"1899-12-31T08:00:00Z","expedited":false}`), "data.receivedAt: out of range (1900-01-01 to 2199-12-31)"},
		{"time in year 9999", `{"specversion":"1.0","id":"1","source":"s","type":"reimbursement.paid","time":"9999-12-31T00:00:00Z","data":{}}`, "not a CloudEvent: time out of range"},
		{"missing timestamp", envelope(AuthorizationDecided, `{"requestId":"PA-1","decision":"approved"}`), "data.decidedAt: required"},
		{"bad urgency", envelope(AuthorizationRequested, `{"requestId":"PA-1","memberId":"M-1","receivedAt":"2027-03-13T10:00:00-08:00","urgency":"urgent","infoComplete":true,"serviceCode":"97110"}`), "data.urgency: must be one of standard, expedited"},
		{"bad decision", envelope(AuthorizationDecided, `{"requestId":"PA-1","decision":"pended","decidedAt":"2027-03-13T10:00:00-08:00"}`), "data.decision: must be one of approved, denied, modified"},
		{"bad outcome", envelope(CCSEligibilityDetermined, `{"referralId":"R-1","outcome":"maybe","determinationDate":"2026-11-01"}`), "data.outcome: must be one of eligible, ineligible"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Decode([]byte(c.raw), today)
			if err == nil || !strings.HasPrefix(err.Error(), c.reason) {
				t.Fatalf("error %v, want %q", err, c.reason)
			}
			for _, phi := range []string{"M-1", "C-1", "PA-1", "2027-04-02", "2026-02-31", "2026-11-23", "Yolo", "11/30/2026"} {
				if strings.Contains(err.Error(), phi) {
					t.Errorf("reason %q repeats the value %q", err, phi)
				}
			}
		})
	}
}

func TestDateOfBirthTodayIsNotInTheFuture(t *testing.T) {
	raw := envelope(MemberBirthdateCorrected, `{"memberId":"M-1","dateOfBirth":"2026-11-22"}`)
	if _, _, err := Decode([]byte(raw), today); err != nil {
		t.Fatal(err)
	}
}

func TestEveryTypeHasDataAndAnInboundSubject(t *testing.T) {
	for typ := range dataTypes {
		if Subject(typ) != "enrollment."+typ || !Known(typ) {
			t.Errorf("%s: subject %s", typ, Subject(typ))
		}
	}
	if Known("reimbursement.overdue") {
		t.Error("an outbound type is known as inbound")
	}
}

func TestPeek(t *testing.T) {
	id, subject, err := Peek([]byte(`{"id":"e-1","type":"reimbursement.paid","data":{"paidDate":"2026-02-31"}}`))
	if err != nil || id != "e-1" || subject != "enrollment.reimbursement.paid" {
		t.Errorf("Peek = %q %q %v", id, subject, err) // the data is not validated here
	}
	if id, _, err := Peek([]byte(`{"id":"e-2"}`)); err == nil || id != "e-2" {
		t.Errorf("no type: id %q, err %v", id, err)
	}
	if _, _, err := Peek([]byte(`{not json`)); err == nil {
		t.Error("not JSON accepted")
	}
}

// A journey reads its events leniently (Payload): what the listener's rules would refuse today
// still reads, so that tightening a rule changes what the listener takes, never what a journey
// that already took an event decides when it is replayed.
func TestPayloadReadsWithoutTheRules(t *testing.T) {
	e := Event{Type: ReimbursementSubmitted, Data: []byte(`{"claimId":"C-1","memberId":"M-1","submittedDate":"2026-11-30","amountCents":-5,"category":"spa"}`)}
	if _, _, err := Decode(mustJSON(t, e), today); err == nil {
		t.Fatal("the listener took a negative amount and an unknown category")
	}
	p, err := e.Payload()
	if err != nil {
		t.Fatal(err)
	}
	d := p.(*ReimbursementSubmittedData)
	if d.ClaimID != "C-1" || *d.AmountCents != -5 || d.Category != "spa" || d.SubmittedDate.String() != "2026-11-30" {
		t.Errorf("read %+v", d)
	}
	if _, err := (Event{Type: ReimbursementPaid, Data: []byte(`{"paidDate":17}`)}).Payload(); err == nil || strings.Contains(err.Error(), "17") {
		t.Errorf("data of the wrong type: %v, want an error that does not repeat the value", err)
	}
}

func mustJSON(t *testing.T, e Event) []byte {
	t.Helper()
	e.SpecVersion, e.ID, e.Source = "1.0", "1", "s"
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
