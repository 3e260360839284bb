package workflows

import (
	"slices"
	"strings"
	"testing"

	"github.com/careclock/careclock/events"
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

// A standard request received Friday 2026-11-20 with its information complete is due Tuesday
// 2026-12-01 (5 business days: Thanksgiving and the day after are holidays); warned one
// business day before, Monday 2026-11-30; approved that afternoon, on time.
func TestAuthorizationStandardApprovedOnTime(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-20T10:00:00-08:00")
	jt.signalAt("2026-11-30T15:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("approved", "2026-11-30T15:00:00-08:00"))
	jt.run(events.AuthorizationRequested, authRequest("2026-11-20T10:00:00-08:00", "standard", true))
	jt.expect(
		"2026-11-30T09:00 authorization.decision_due_soon 2026-11-30 businessDaysBefore=1 dueDate=2026-12-01 urgency=standard",
		"2026-11-30T15:00 authorization.closed 2026-11-30 daysLate=0 decidedAt=2026-11-30T15:00:00-08:00 dueDate=2026-12-01 onTime=true outcome=approved urgency=standard",
	)
}

// Received incomplete on Monday 2026-11-02: due at the 14-day cap, 2026-11-16, until the
// information arrives on Wednesday 2026-11-04; then 5 business days after it, Thursday
// 2026-11-12 (Veterans Day, the 11th, is a holiday), which is earlier.
func TestAuthorizationInfoReceivedLaterShortensTheClock(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-02T10:00:00-08:00")
	jt.signalAt("2026-11-04T12:00:00-08:00", events.AuthorizationInfoReceived, "e-info",
		map[string]any{"requestId": "PA-2001", "receivedDate": "2026-11-04"})
	jt.signalAt("2026-11-12T16:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("approved", "2026-11-12T16:00:00-08:00"))
	jt.run(events.AuthorizationRequested, authRequest("2026-11-02T10:00:00-08:00", "standard", false))
	jt.expect(
		"2026-11-10T09:00 authorization.decision_due_soon 2026-11-10 businessDaysBefore=1 dueDate=2026-11-12 urgency=standard",
		"2026-11-12T16:00 authorization.closed 2026-11-12 daysLate=0 decidedAt=2026-11-12T16:00:00-08:00 dueDate=2026-11-12 onTime=true outcome=approved urgency=standard",
	)
}

// The information arrives on Tuesday 2026-11-10: 5 business days after it is 2026-11-18, past
// the 14-day cap of 2026-11-16, so the cap wins. No decision by then: deemed denied on
// 2026-11-17 at the notice hour. Denied on 2026-11-18 (2 days late); the notice of action, due
// 2026-11-20, is overdue on 2026-11-21 and sent on 2026-11-23; the member may appeal until
// 2027-01-22.
func TestAuthorizationCapWinsDeniedLateNoticeLate(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-02T10:00:00-08:00")
	jt.signalAt("2026-11-10T12:00:00-08:00", events.AuthorizationInfoReceived, "e-info",
		map[string]any{"requestId": "PA-2001", "receivedDate": "2026-11-10"})
	jt.signalAt("2026-11-18T10:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("denied", "2026-11-18T10:00:00-08:00"))
	jt.signalAt("2026-11-23T10:00:00-08:00", events.AuthorizationNoticeSent, "e-noa",
		map[string]any{"requestId": "PA-2001", "sentDate": "2026-11-23"})
	jt.run(events.AuthorizationRequested, authRequest("2026-11-02T10:00:00-08:00", "standard", false))
	jt.expect(
		"2026-11-13T09:00 authorization.decision_due_soon 2026-11-13 businessDaysBefore=1 dueDate=2026-11-16 urgency=standard",
		"2026-11-17T09:00 authorization.deemed_denied 2026-11-17 dueDate=2026-11-16 urgency=standard",
		"2026-11-21T09:00 authorization.notice_overdue 2026-11-21 decision=denied noticeDueDate=2026-11-20",
		"2026-11-23T10:00 authorization.closed 2026-11-23 appealBy=2027-01-22 daysLate=2 decidedAt=2026-11-18T10:00:00-08:00 dueDate=2026-11-16 noticeDueDate=2026-11-20 noticeOnTime=false onTime=false outcome=denied urgency=standard",
	)
	if got := jt.events[1].Data["deadline"]; got != "2026-11-16" {
		t.Errorf("deemed denial's deadline %v, want 2026-11-16", got)
	}
	if got := jt.events[2].Data["deadline"]; got != "2026-11-20" {
		t.Errorf("overdue notice's deadline %v, want the notice's due date 2026-11-20", got)
	}
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
		"2027-03-16T09:30 authorization.closed 2027-03-16 deadlineAt=2027-03-16T11:00:00-07:00 decidedAt=2027-03-16T09:30:00-07:00 decisionDeadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-16T09:30:00-07:00 hoursLate=0 onTime=true outcome=approved urgency=expedited",
	)
	if !jt.publishedAt[2].Equal(mustTime("2027-03-16T09:30:00-07:00")) || !jt.publishedAt[1].Equal(mustTime("2027-03-16T07:00:00-07:00")) {
		t.Errorf("published at %v", jt.publishedAt)
	}
}

// Expedited and missed: deemed denied at the deadline instant itself; modified 4 h 20 min later
// (5 hours started late); the notice, due Thursday 2027-03-18, sent on the 17th.
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
		"2027-03-17T10:00 authorization.closed 2027-03-17 appealBy=2027-05-16 decidedAt=2027-03-16T15:20:00-07:00 decisionDeadlineAt=2027-03-16T11:00:00-07:00 hoursLate=5 noticeDueDate=2027-03-18 noticeOnTime=true onTime=false outcome=modified urgency=expedited",
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

// One extension moves the deadline by 14 days, announced at once; a second is ignored.
func TestAuthorizationExtendedOnce(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-20T10:00:00-08:00")
	jt.signalAt("2026-11-25T10:00:00-08:00", events.AuthorizationExtended, "e-ext",
		map[string]any{"requestId": "PA-2001", "extendedOn": "2026-11-25"})
	jt.signalAt("2026-12-01T10:00:00-08:00", events.AuthorizationExtended, "e-ext-2",
		map[string]any{"requestId": "PA-2001", "extendedOn": "2026-12-01"})
	jt.signalAt("2026-12-14T12:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("approved", "2026-12-14T12:00:00-08:00"))
	jt.run(events.AuthorizationRequested, authRequest("2026-11-20T10:00:00-08:00", "standard", true))
	jt.expect(
		"2026-11-25T10:00 authorization.extension_noticed 2026-11-25 dueDate=2026-12-15 extensionDays=14 urgency=standard",
		"2026-12-14T09:00 authorization.decision_due_soon 2026-12-14 businessDaysBefore=1 dueDate=2026-12-15 urgency=standard",
		"2026-12-14T12:00 authorization.closed 2026-12-14 daysLate=0 decidedAt=2026-12-14T12:00:00-08:00 dueDate=2026-12-15 onTime=true outcome=approved urgency=standard",
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
		"2027-03-29T09:00 authorization.closed 2027-03-29 deadlineAt=2027-03-30T11:00:00-07:00 decidedAt=2027-03-29T09:00:00-07:00 decisionDeadlineAt=2027-03-30T11:00:00-07:00 eventAt=2027-03-29T09:00:00-07:00 hoursLate=0 onTime=true outcome=approved urgency=expedited",
	)
}

func TestAuthorizationWithdrawn(t *testing.T) {
	jt := newJourneyTest(t, "2027-03-13T10:00:00-08:00")
	jt.signalAt("2027-03-14T12:00:00-07:00", events.AuthorizationWithdrawn, "e-wd",
		map[string]any{"requestId": "PA-2001", "withdrawnDate": "2027-03-14"})
	jt.run(events.AuthorizationRequested, authRequest("2027-03-13T10:00:00-08:00", "expedited", true))
	jt.expect(
		"2027-03-14T12:00 authorization.closed 2027-03-14 deadlineAt=2027-03-16T11:00:00-07:00 eventAt=2027-03-14T12:00:00-07:00 outcome=withdrawn urgency=expedited",
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
		"2026-11-25T11:00 authorization.closed 2026-11-25 appealBy=2027-01-24 daysLate=0 decidedAt=2026-11-24T10:00:00-08:00 dueDate=2026-12-01 noticeDueDate=2026-11-30 noticeOnTime=true onTime=true outcome=denied urgency=standard",
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
// Tuesday 2026-11-24 moves the standard request of Friday 2026-11-20 from 2026-12-01 to
// 2026-12-02, and its warning with it.
func TestAuthorizationReplanMovesTheCalendar(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-20T10:00:00-08:00")
	jt.signalAt("2026-11-23T08:00:00-08:00", EventPolicyChanged, "policy-1",
		map[string]any{"holidays": map[string]any{"add": []string{"2026-11-24"}}})
	jt.signalAt("2026-12-02T15:00:00-08:00", events.AuthorizationDecided, "e-dec", decided("approved", "2026-12-02T15:00:00-08:00"))
	jt.run(events.AuthorizationRequested, authRequest("2026-11-20T10:00:00-08:00", "standard", true))
	jt.expect(
		"2026-12-01T09:00 authorization.decision_due_soon 2026-12-01 businessDaysBefore=1 dueDate=2026-12-02 urgency=standard",
		"2026-12-02T15:00 authorization.closed 2026-12-02 daysLate=0 decidedAt=2026-12-02T15:00:00-08:00 dueDate=2026-12-02 onTime=true outcome=approved urgency=standard",
	)
}
