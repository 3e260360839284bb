package workflows

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// authRequest is an authorization.requested's data.
func authRequest(receivedAt, urgency string, complete bool) map[string]any {
	return map[string]any{
		"requestId": "PA-2001", "memberId": "M-2001", "receivedAt": receivedAt, "urgency": urgency,
		"infoComplete": complete, "serviceCode": "97110",
	}
}

func decided(decision, at string) map[string]any {
	return map[string]any{"requestId": "PA-2001", "decision": decision, "decidedAt": at}
}

// A standard request received Friday 2026-11-20 with its information complete is due Friday
// 2026-11-27: 7 calendar days (the day after Thanksgiving: a calendar-day deadline does not move
// off a holiday) is earlier than 5 business days (Tuesday 2026-12-01). Warned one business day
// before, Wednesday 2026-11-25 (Thanksgiving is a holiday); approved on the due date, on time.
func TestAuthorizationStandardApprovedOnTime(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-20T10:00:00-08:00")
	jt.signalAt("2026-11-27T15:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("approved", "2026-11-27T15:00:00-08:00"))
	jt.run(events.AuthorizationRequested, authRequest("2026-11-20T10:00:00-08:00", "standard", true))
	jt.expect(
		"2026-11-25T09:00 authorization.decision_due_soon 2026-11-25 businessDaysBefore=1 dueDate=2026-11-27 urgency=standard",
		"2026-11-27T15:00 authorization.closed 2026-11-27 daysLate=0 decidedAt=2026-11-27T15:00:00-08:00 dueDate=2026-11-27 extended=false onTime=true outcome=approved receivedAt=2026-11-20T10:00:00-08:00 urgency=standard",
	)
}

// No decision by the due date: deemed denied on the due date itself at 17:00 (42 CFR
// §438.404(c)(5): on the date the timeframe expires). A decision later that day is still on time.
func TestAuthorizationDeemedDeniedOnTheDueDate(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-20T10:00:00-08:00")
	jt.signalAt("2026-11-27T17:30:00-08:00", events.AuthorizationDecided, "e-dec", decided("approved", "2026-11-27T17:30:00-08:00"))
	jt.run(events.AuthorizationRequested, authRequest("2026-11-20T10:00:00-08:00", "standard", true))
	jt.expect(
		"2026-11-25T09:00 authorization.decision_due_soon 2026-11-25 businessDaysBefore=1 dueDate=2026-11-27 urgency=standard",
		"2026-11-27T17:00 authorization.deemed_denied 2026-11-27 dueDate=2026-11-27 urgency=standard",
		"2026-11-27T17:30 authorization.closed 2026-11-27 daysLate=0 decidedAt=2026-11-27T17:30:00-08:00 dueDate=2026-11-27 extended=false onTime=true outcome=approved receivedAt=2026-11-20T10:00:00-08:00 urgency=standard",
	)
	if !jt.publishedAt[1].Equal(mustTime("2026-11-28T01:00:00Z")) {
		t.Errorf("deemed denial at %v, want 2026-11-27T17:00-08:00", jt.publishedAt[1])
	}
}

// The cap is the one in force on the received date (docs/rules.md, Rules in force on a date): an
// incomplete request received on 2025-12-30 keeps 14 days (due 2026-01-13), the same received on
// 2026-01-02 has 7 (due 2026-01-09), both heard of on 2026-01-05.
func TestAuthorizationCapInForceOnTheReceivedDate(t *testing.T) {
	for _, c := range []struct{ received, due, from string }{
		{"2025-12-30T10:00:00-08:00", "2026-01-13", "beginning"},
		{"2025-12-31T23:59:00-08:00", "2026-01-14", "beginning"},
		{"2026-01-01T00:00:00-08:00", "2026-01-08", "2026-01-01"},
		{"2026-01-02T10:00:00-08:00", "2026-01-09", "2026-01-01"},
	} {
		jt := newJourneyTest(t, "2026-01-05T10:00:00-08:00")
		s := jt.route(events.AuthorizationRequested, authRequest(c.received, "standard", false))[0]
		st := s.Input.(State[AuthorizationFacts])
		if s.Deadline.String() != c.due || rules.BlockName(st.PolicyFrom) != c.from || rules.BlockName(s.PolicyFrom) != c.from {
			t.Errorf("received %s: due %s under the block from %s, want %s from %s", c.received, s.Deadline, rules.BlockName(st.PolicyFrom), c.due, c.from)
		}
		if st.PolicyOn.String() != c.received[:10] {
			t.Errorf("received %s: policyOn %s", c.received, st.PolicyOn)
		}
	}
}

// Received on Saturday 2027-01-09 without its information: due at the 7-day cap, Saturday
// 01-16, until the information arrives on Sunday 01-10; then 5 business days after it, Friday
// 01-15, which is earlier.
func TestAuthorizationInfoReceivedLaterShortensTheClock(t *testing.T) {
	jt := newJourneyTest(t, "2027-01-09T10:00:00-08:00")
	jt.signalAt("2027-01-10T12:00:00-08:00", events.AuthorizationInfoReceived, "e-info",
		map[string]any{"requestId": "PA-2001", "receivedDate": "2027-01-10"})
	jt.signalAt("2027-01-15T12:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("approved", "2027-01-15T12:00:00-08:00"))
	jt.run(events.AuthorizationRequested, authRequest("2027-01-09T10:00:00-08:00", "standard", false))
	jt.expect(
		"2027-01-14T09:00 authorization.decision_due_soon 2027-01-14 businessDaysBefore=1 dueDate=2027-01-15 urgency=standard",
		"2027-01-15T12:00 authorization.closed 2027-01-15 daysLate=0 decidedAt=2027-01-15T12:00:00-08:00 dueDate=2027-01-15 extended=false onTime=true outcome=approved receivedAt=2027-01-09T10:00:00-08:00 urgency=standard",
	)
}

// The information arrives on Tuesday 2026-11-10, after the 7-day cap of 2026-11-09, so the cap
// stands: deemed denied on 2026-11-09 at 17:00. Denied on 2026-11-18, 9 days late: the notice
// of action is due that same day (the earlier of 2 business days and the decision deadline,
// never before the decision), overdue on 2026-11-19, sent on 2026-11-23; the member may appeal
// until 2027-01-22.
func TestAuthorizationCapWinsDeniedLateNoticeLate(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-02T10:00:00-08:00")
	jt.signalAt("2026-11-10T12:00:00-08:00", events.AuthorizationInfoReceived, "e-info",
		map[string]any{"requestId": "PA-2001", "receivedDate": "2026-11-10"})
	jt.signalAt("2026-11-18T10:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("denied", "2026-11-18T10:00:00-08:00"))
	jt.signalAt("2026-11-23T10:00:00-08:00", events.AuthorizationNoticeSent, "e-noa",
		map[string]any{"requestId": "PA-2001", "sentDate": "2026-11-23"})
	jt.run(events.AuthorizationRequested, authRequest("2026-11-02T10:00:00-08:00", "standard", false))
	jt.expect(
		"2026-11-06T09:00 authorization.decision_due_soon 2026-11-06 businessDaysBefore=1 dueDate=2026-11-09 urgency=standard",
		"2026-11-09T17:00 authorization.deemed_denied 2026-11-09 dueDate=2026-11-09 urgency=standard",
		"2026-11-19T09:00 authorization.notice_overdue 2026-11-19 decision=denied noticeDueDate=2026-11-18",
		"2026-11-23T10:00 authorization.closed 2026-11-23 appealBy=2027-01-22 daysLate=9 decidedAt=2026-11-18T10:00:00-08:00 dueDate=2026-11-09 extended=false noticeDueDate=2026-11-18 noticeOnTime=false onTime=false outcome=denied receivedAt=2026-11-02T10:00:00-08:00 urgency=standard",
	)
	if got := jt.events[1].Data["deadline"]; got != "2026-11-09" {
		t.Errorf("deemed denial's deadline %v, want 2026-11-09", got)
	}
	if got := jt.events[2].Data["deadline"]; got != "2026-11-18" {
		t.Errorf("overdue notice's deadline %v, want the notice's due date 2026-11-18", got)
	}
}

// A denial on time: its notice may not fall after the decision deadline. Denied Tuesday
// 2026-11-24 on a request due Friday 11-27: 2 business days would be Monday 11-30, so the notice
// is due 11-27, overdue on the 28th, and sent late on the 30th.
func TestAuthorizationNoticeNoLaterThanTheDecisionDeadline(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-20T10:00:00-08:00")
	jt.signalAt("2026-11-24T10:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("denied", "2026-11-24T10:00:00-08:00"))
	jt.signalAt("2026-11-30T11:00:00-08:00", events.AuthorizationNoticeSent, "e-noa",
		map[string]any{"requestId": "PA-2001", "sentDate": "2026-11-30"})
	jt.run(events.AuthorizationRequested, authRequest("2026-11-20T10:00:00-08:00", "standard", true))
	jt.expect(
		"2026-11-28T09:00 authorization.notice_overdue 2026-11-28 decision=denied noticeDueDate=2026-11-27",
		"2026-11-30T11:00 authorization.closed 2026-11-30 appealBy=2027-01-29 daysLate=0 decidedAt=2026-11-24T10:00:00-08:00 dueDate=2026-11-27 extended=false noticeDueDate=2026-11-27 noticeOnTime=false onTime=true outcome=denied receivedAt=2026-11-20T10:00:00-08:00 urgency=standard",
	)
}

// A journey started under the rule before rule2026 keeps it whatever code runs it: with the
// 14-day policy it took, the deemed denial is the day after the due date at the notice hour, the
// notice is due 2 business days after the decision, and closed carries no metrics fields.
func TestAuthorizationStartedBeforeRule2026KeepsItsRule(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-02T10:00:00-08:00")
	jt.book = rules.BookOf(rules.DefaultPolicy(), rules.Date{})
	jt.signalAt("2026-11-10T12:00:00-08:00", events.AuthorizationInfoReceived, "e-info",
		map[string]any{"requestId": "PA-2001", "receivedDate": "2026-11-10"})
	jt.signalAt("2026-11-18T10:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("denied", "2026-11-18T10:00:00-08:00"))
	jt.signalAt("2026-11-23T10:00:00-08:00", events.AuthorizationNoticeSent, "e-noa",
		map[string]any{"requestId": "PA-2001", "sentDate": "2026-11-23"})
	s := jt.route(events.AuthorizationRequested, authRequest("2026-11-02T10:00:00-08:00", "standard", false))[0]
	jt.runStart(withState(s, func(st *State[AuthorizationFacts]) { st.Facts.Rule = 0 }))
	jt.expect(
		"2026-11-13T09:00 authorization.decision_due_soon 2026-11-13 businessDaysBefore=1 dueDate=2026-11-16 urgency=standard",
		"2026-11-17T09:00 authorization.deemed_denied 2026-11-17 dueDate=2026-11-16 urgency=standard",
		"2026-11-21T09:00 authorization.notice_overdue 2026-11-21 decision=denied noticeDueDate=2026-11-20",
		"2026-11-23T10:00 authorization.closed 2026-11-23 appealBy=2027-01-22 daysLate=2 decidedAt=2026-11-18T10:00:00-08:00 dueDate=2026-11-16 noticeDueDate=2026-11-20 noticeOnTime=false onTime=false outcome=denied urgency=standard",
	)
}

// Expedited, received 2027-03-13T10:00-08:00: due 72 hours later, 2027-03-16T11:00-07:00 across
// the spring change; warned 24 and 4 hours before, at those instants; approved in time.
func TestAuthorizationExpeditedMet(t *testing.T) {
	jt := newJourneyTest(t, "2027-03-13T10:00:00-08:00")
	jt.signalAt("2027-03-16T09:30:00-07:00", events.AuthorizationDecided, "e-dec", decided("approved", "2027-03-16T09:30:00-07:00"))
	jt.run(events.AuthorizationRequested, authRequest("2027-03-13T10:00:00-08:00", "expedited", true))
	jt.expect(
		"2027-03-15T11:00 authorization.decision_due_soon 2027-03-15 deadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-15T11:00:00-07:00 hoursBefore=24 urgency=expedited",
		"2027-03-16T07:00 authorization.decision_due_soon 2027-03-16 deadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-16T07:00:00-07:00 hoursBefore=4 urgency=expedited",
		"2027-03-16T09:30 authorization.closed 2027-03-16 deadlineAt=2027-03-16T11:00:00-07:00 decidedAt=2027-03-16T09:30:00-07:00 decisionDeadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-16T09:30:00-07:00 extended=false hoursLate=0 onTime=true outcome=approved receivedAt=2027-03-13T10:00:00-08:00 urgency=expedited",
	)
	if !jt.publishedAt[2].Equal(mustTime("2027-03-16T09:30:00-07:00")) || !jt.publishedAt[1].Equal(mustTime("2027-03-16T07:00:00-07:00")) {
		t.Errorf("published at %v", jt.publishedAt)
	}
}

// Expedited and missed: deemed denied at the deadline instant itself; modified 4 h 20 min later
// (5 hours started late); the notice is due by the deadline's date, 2027-03-16, but never before
// the decision: due that day, overdue on the 17th at 09:00, and sent at 10:00.
func TestAuthorizationExpeditedMissed(t *testing.T) {
	jt := newJourneyTest(t, "2027-03-13T10:00:00-08:00")
	jt.signalAt("2027-03-16T15:20:00-07:00", events.AuthorizationDecided, "e-dec", decided("modified", "2027-03-16T15:20:00-07:00"))
	jt.signalAt("2027-03-17T10:00:00-07:00", events.AuthorizationNoticeSent, "e-noa",
		map[string]any{"requestId": "PA-2001", "sentDate": "2027-03-17"})
	before := jt.queryAt("2027-03-16T10:00:00-07:00")
	after := jt.queryAt("2027-03-16T12:00:00-07:00")
	start := jt.route(events.AuthorizationRequested, authRequest("2027-03-13T10:00:00-08:00", "expedited", true))[0]
	if got, want := StartOptions(start, TaskQueue, jt.start).StaticSummary, "authorization · decision due 2027-03-16 11:00 PDT"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	jt.runStart(start)
	// The search attributes hold the deadline instant; the journey is overdue from it on.
	if want := "2027-03-13T10:00 authorization waiting next=2027-03-15T11:00 deadline=2027-03-16T11:00 (start)"; jt.attrs[0] != want {
		t.Errorf("attributes at start %q, want %q", jt.attrs[0], want)
	}
	if !strings.HasPrefix(before.details, "waiting") || !strings.HasSuffix(before.details, "decision due 2027-03-16 11:00 PDT") ||
		before.view.DeadlineAt.IsZero() {
		t.Errorf("an hour before the deadline: %q, deadlineAt %v", before.details, before.view.DeadlineAt)
	}
	if after.view.Status != StatusOverdue {
		t.Errorf("an hour after the deadline: status %s, want overdue", after.view.Status)
	}
	jt.expect(
		"2027-03-15T11:00 authorization.decision_due_soon 2027-03-15 deadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-15T11:00:00-07:00 hoursBefore=24 urgency=expedited",
		"2027-03-16T07:00 authorization.decision_due_soon 2027-03-16 deadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-16T07:00:00-07:00 hoursBefore=4 urgency=expedited",
		"2027-03-16T11:00 authorization.deemed_denied 2027-03-16 deadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-16T11:00:00-07:00 urgency=expedited",
		"2027-03-17T09:00 authorization.notice_overdue 2027-03-17 decision=modified noticeDueDate=2027-03-16",
		"2027-03-17T10:00 authorization.closed 2027-03-17 appealBy=2027-05-16 decidedAt=2027-03-16T15:20:00-07:00 decisionDeadlineAt=2027-03-16T11:00:00-07:00 extended=false hoursLate=5 noticeDueDate=2027-03-16 noticeOnTime=false onTime=false outcome=modified receivedAt=2027-03-13T10:00:00-08:00 urgency=expedited",
	)
	if !jt.publishedAt[2].Equal(mustTime("2027-03-16T18:00:00Z")) {
		t.Errorf("deemed denial at %v, want exactly 2027-03-16T18:00:00Z", jt.publishedAt[2])
	}
}

// The autumn change repeats 01:00–02:00 on 1 November 2026: a request received at 01:30 PDT and
// one at 01:30 PST are an hour apart, and so are their deemed denials.
func TestAuthorizationExpeditedInTheRepeatedHour(t *testing.T) {
	for _, c := range []struct{ received, deemed string }{
		{"2026-11-01T01:30:00-07:00", "2026-11-04T08:30:00Z"},
		{"2026-11-01T01:30:00-08:00", "2026-11-04T09:30:00Z"},
	} {
		jt := newJourneyTest(t, c.received)
		jt.signalAt("2026-11-05T10:00:00-08:00", events.AuthorizationWithdrawn, "e-wd",
			map[string]any{"requestId": "PA-2001", "withdrawnDate": "2026-11-05"})
		jt.run(events.AuthorizationRequested, authRequest(c.received, "expedited", true))
		if len(jt.events) != 4 || jt.events[2].Type != "authorization.deemed_denied" || !jt.publishedAt[2].Equal(mustTime(c.deemed)) {
			t.Errorf("received %s: %v at %v, want deemed denied at %s", c.received, jt.published, jt.publishedAt, c.deemed)
		}
	}
}

// One extension moves the deadline of 2026-11-27 by 14 days, to 2026-12-11, announced at once; a
// second is ignored; closed says the timeframe was extended.
func TestAuthorizationExtendedOnce(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-20T10:00:00-08:00")
	jt.signalAt("2026-11-24T10:00:00-08:00", events.AuthorizationExtended, "e-ext",
		map[string]any{"requestId": "PA-2001", "extendedOn": "2026-11-24"})
	jt.signalAt("2026-12-01T10:00:00-08:00", events.AuthorizationExtended, "e-ext-2",
		map[string]any{"requestId": "PA-2001", "extendedOn": "2026-12-01"})
	jt.signalAt("2026-12-10T12:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("approved", "2026-12-10T12:00:00-08:00"))
	jt.run(events.AuthorizationRequested, authRequest("2026-11-20T10:00:00-08:00", "standard", true))
	jt.expect(
		"2026-11-24T10:00 authorization.extension_noticed 2026-11-24 dueDate=2026-12-11 extensionDays=14 urgency=standard",
		"2026-12-10T09:00 authorization.decision_due_soon 2026-12-10 businessDaysBefore=1 dueDate=2026-12-11 urgency=standard",
		"2026-12-10T12:00 authorization.closed 2026-12-10 daysLate=0 decidedAt=2026-12-10T12:00:00-08:00 dueDate=2026-12-11 extended=true onTime=true outcome=approved receivedAt=2026-11-20T10:00:00-08:00 urgency=standard",
	)
}

// An expedited extension is 14 × 24 hours.
func TestAuthorizationExpeditedExtended(t *testing.T) {
	jt := newJourneyTest(t, "2027-03-13T10:00:00-08:00")
	jt.signalAt("2027-03-14T10:00:00-07:00", events.AuthorizationExtended, "e-ext",
		map[string]any{"requestId": "PA-2001", "extendedOn": "2027-03-14"})
	jt.signalAt("2027-03-29T09:00:00-07:00", events.AuthorizationDecided, "e-dec", decided("approved", "2027-03-29T09:00:00-07:00"))
	jt.run(events.AuthorizationRequested, authRequest("2027-03-13T10:00:00-08:00", "expedited", true))
	jt.expect(
		"2027-03-14T10:00 authorization.extension_noticed 2027-03-14 deadlineAt=2027-03-30T11:00:00-07:00 dueDate=2027-03-30 eventAt=2027-03-14T10:00:00-07:00 extensionDays=14 urgency=expedited",
		"2027-03-29T09:00 authorization.closed 2027-03-29 deadlineAt=2027-03-30T11:00:00-07:00 decidedAt=2027-03-29T09:00:00-07:00 decisionDeadlineAt=2027-03-30T11:00:00-07:00 eventAt=2027-03-29T09:00:00-07:00 extended=true hoursLate=0 onTime=true outcome=approved receivedAt=2027-03-13T10:00:00-08:00 urgency=expedited",
	)
}

func TestAuthorizationWithdrawn(t *testing.T) {
	jt := newJourneyTest(t, "2027-03-13T10:00:00-08:00")
	jt.signalAt("2027-03-14T12:00:00-07:00", events.AuthorizationWithdrawn, "e-wd",
		map[string]any{"requestId": "PA-2001", "withdrawnDate": "2027-03-14"})
	jt.run(events.AuthorizationRequested, authRequest("2027-03-13T10:00:00-08:00", "expedited", true))
	jt.expect(
		"2027-03-14T12:00 authorization.closed 2027-03-14 deadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-14T12:00:00-07:00 extended=false outcome=withdrawn receivedAt=2027-03-13T10:00:00-08:00 urgency=expedited",
	)
}

// A second decision (a different event, not a redelivery) is ignored: the denial stands, and
// its notice closes the journey.
func TestAuthorizationDuplicateDecisionIgnored(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-20T10:00:00-08:00")
	jt.signalAt("2026-11-24T10:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("denied", "2026-11-24T10:00:00-08:00"))
	jt.signalAt("2026-11-25T09:30:00-08:00", events.AuthorizationDecided, "e-dec-2", decided("approved", "2026-11-25T09:30:00-08:00"))
	jt.signalAt("2026-11-25T11:00:00-08:00", events.AuthorizationNoticeSent, "e-noa",
		map[string]any{"requestId": "PA-2001", "sentDate": "2026-11-25"})
	jt.run(events.AuthorizationRequested, authRequest("2026-11-20T10:00:00-08:00", "standard", true))
	jt.expect(
		"2026-11-25T11:00 authorization.closed 2026-11-25 appealBy=2027-01-24 daysLate=0 decidedAt=2026-11-24T10:00:00-08:00 dueDate=2026-11-27 extended=false noticeDueDate=2026-11-27 noticeOnTime=true onTime=true outcome=denied receivedAt=2026-11-20T10:00:00-08:00 urgency=standard",
	)
}

// Disenrollment cancels a member's journeys but not an authorization (or a reimbursement).
func TestDisenrollmentLeavesAuthorizationsOpen(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-20T10:00:00-08:00")
	route := jt.routeAll(events.MemberDisenrolled, map[string]any{"memberId": "M-2001", "effectiveDate": "2026-11-20"})
	if len(route.Directories) != 1 || route.Directories[0].Kind != DirectoryMember {
		t.Fatalf("disenrollment goes to %+v, want the member's directory", route.Directories)
	}
	ev := *route.Directories[0].Request.Fact
	for _, j := range Journeys {
		want := !slices.Contains([]string{JourneyReimbursement, JourneyAuthorization, JourneyGrievance, JourneyAppeal}, j)
		if got := concerns(ev, j); got != want {
			t.Errorf("a disenrollment concerns %s: %v, want %v", j, got, want)
		}
	}
}

// The holiday calendar is part of the journey's policy: a re-plan that closes the plan on
// Tuesday 2027-01-12 moves the complete request of Sunday 2027-01-10 from Friday 01-15 (5
// business days) to the 7-day cap, Sunday 01-17 (5 business days would now be Tuesday 01-19,
// past Martin Luther King Jr. Day), and its warning from Thursday to Friday.
func TestAuthorizationReplanMovesTheCalendar(t *testing.T) {
	jt := newJourneyTest(t, "2027-01-10T10:00:00-08:00")
	jt.signalAt("2027-01-11T08:00:00-08:00", EventPolicyChanged, "policy-1",
		map[string]any{"holidays": map[string]any{"add": []string{"2027-01-12"}}})
	jt.signalAt("2027-01-15T15:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("approved", "2027-01-15T15:00:00-08:00"))
	jt.run(events.AuthorizationRequested, authRequest("2027-01-10T10:00:00-08:00", "standard", true))
	jt.expect(
		"2027-01-15T09:00 authorization.decision_due_soon 2027-01-15 businessDaysBefore=1 dueDate=2027-01-17 urgency=standard",
		"2027-01-15T15:00 authorization.closed 2027-01-15 daysLate=0 decidedAt=2027-01-15T15:00:00-08:00 dueDate=2027-01-17 extended=false onTime=true outcome=approved receivedAt=2027-01-10T10:00:00-08:00 urgency=standard",
	)
}

// Replan sends the whole dated policy; a journey takes the block in force on its received date,
// not today's: a request received 2025-12-30 keeps the 14-day cap (due 2026-01-13) under a new
// file that moves the notice hour to 08:00.
func TestReplanKeepsTheBlockOfTheStartingDate(t *testing.T) {
	book, err := rules.ParseBook([]byte(`{"blocks": [{"noticeHour": 8}]}`))
	if err != nil {
		t.Fatal(err)
	}
	data, err := rules.MarshalBook(book)
	if err != nil {
		t.Fatal(err)
	}
	jt := newJourneyTest(t, "2026-01-05T10:00:00-08:00")
	jt.replanAt("2026-01-06T10:00:00-08:00", "replan-1", json.RawMessage(data))
	view := jt.queryAt("2026-01-06T11:00:00-08:00")
	jt.signalAt("2026-01-13T12:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("approved", "2026-01-13T12:00:00-08:00"))
	jt.run(events.AuthorizationRequested, authRequest("2025-12-30T10:00:00-08:00", "standard", false))
	jt.expect(
		"2026-01-12T08:00 authorization.decision_due_soon 2026-01-12 businessDaysBefore=1 dueDate=2026-01-13 urgency=standard",
		"2026-01-13T12:00 authorization.closed 2026-01-13 daysLate=0 decidedAt=2026-01-13T12:00:00-08:00 dueDate=2026-01-13 extended=false onTime=true outcome=approved receivedAt=2025-12-30T10:00:00-08:00 urgency=standard",
	)
	if view.view.PolicyFrom != "beginning" {
		t.Errorf("describe's policyFrom %q, want beginning", view.view.PolicyFrom)
	}
}

// A journey recorded before policies were dated has no policyOn: a replan takes the block in
// force on its received date all the same. Received 2026-01-02 under the 14-day policy it
// started with (due 2026-01-16), it moves to the 7-day cap of the block from 2026-01-01 (due
// 2026-01-09), keeping the rule it started with (the deemed denial the day after, at 09:00).
func TestReplanOfAStateWithoutPolicyOnTakesTheBlockOfItsReceivedDate(t *testing.T) {
	data, err := rules.MarshalBook(rules.DefaultBook())
	if err != nil {
		t.Fatal(err)
	}
	jt := newJourneyTest(t, "2026-01-05T10:00:00-08:00")
	jt.book = rules.BookOf(rules.DefaultPolicy(), rules.Date{})
	jt.replanAt("2026-01-05T11:00:00-08:00", "replan-1", json.RawMessage(data))
	jt.signalAt("2026-01-12T12:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("approved", "2026-01-12T12:00:00-08:00"))
	s := jt.route(events.AuthorizationRequested, authRequest("2026-01-02T10:00:00-08:00", "standard", false))[0]
	view := jt.queryAt("2026-01-05T12:00:00-08:00")
	jt.runStart(withState(s, func(st *State[AuthorizationFacts]) {
		st.Facts.Rule, st.PolicyOn, st.PolicyFrom = 0, rules.Date{}, rules.Date{}
	}))
	jt.expect(
		"2026-01-08T09:00 authorization.decision_due_soon 2026-01-08 businessDaysBefore=1 dueDate=2026-01-09 urgency=standard",
		"2026-01-10T09:00 authorization.deemed_denied 2026-01-10 dueDate=2026-01-09 urgency=standard",
		"2026-01-12T12:00 authorization.closed 2026-01-12 daysLate=3 decidedAt=2026-01-12T12:00:00-08:00 dueDate=2026-01-09 onTime=false outcome=approved urgency=standard",
	)
	if view.view.PolicyFrom != "2026-01-01" {
		t.Errorf("policyFrom %q after the replan, want 2026-01-01", view.view.PolicyFrom)
	}
}
