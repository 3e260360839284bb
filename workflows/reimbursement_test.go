package workflows

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// A claim submitted 2026-11-30 is due 2027-01-29 (60 days); reminders 2027-01-14 and
// 2027-01-24; overdue from 2027-01-30 every 7 days.
var claim = map[string]any{
	"claimId": "CLM-1001", "memberId": "M-1001", "submittedDate": "2026-11-30",
	"amountCents": 4250, "category": "mileage",
}

const submittedAt = "2026-11-30T10:00:00-08:00"

func TestReimbursementPaidOnTime(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	jt.signalAt("2027-01-20T11:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-01-20"})
	jt.run(events.ReimbursementSubmitted, claim)
	jt.expect(
		"2027-01-14T09:00 reimbursement.due_soon 2027-01-14 daysBefore=15 dueDate=2027-01-29",
		"2027-01-20T11:00 reimbursement.closed 2027-01-20 daysLate=0 dueDate=2027-01-29 onTime=true outcome=paid",
	)
}

func TestReimbursementPaidOnTheDueDateIsOnTime(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	jt.signalAt("2027-01-29T16:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-01-29"})
	jt.run(events.ReimbursementSubmitted, claim)
	jt.expect(
		"2027-01-14T09:00 reimbursement.due_soon 2027-01-14 daysBefore=15 dueDate=2027-01-29",
		"2027-01-24T09:00 reimbursement.due_soon 2027-01-24 daysBefore=5 dueDate=2027-01-29",
		"2027-01-29T16:00 reimbursement.closed 2027-01-29 daysLate=0 dueDate=2027-01-29 onTime=true outcome=paid",
	)
}

// paidLateEvents are the journey events of the claim paid late, on 2027-02-10 (paidLate).
var paidLateEvents = []string{
	"2027-01-14T09:00 reimbursement.due_soon 2027-01-14 daysBefore=15 dueDate=2027-01-29",
	"2027-01-24T09:00 reimbursement.due_soon 2027-01-24 daysBefore=5 dueDate=2027-01-29",
	"2027-01-30T09:00 reimbursement.overdue 2027-01-30 daysOverdue=1 dueDate=2027-01-29",
	"2027-02-06T09:00 reimbursement.overdue 2027-02-06 daysOverdue=8 dueDate=2027-01-29",
	"2027-02-10T15:00 reimbursement.closed 2027-02-10 daysLate=12 dueDate=2027-01-29 onTime=false outcome=paid",
}

// paidLate runs the claim to its payment on 2027-02-10, 12 days late, on a worker that prefers
// the versions prefer chooses (nil: careclock's default).
func paidLate(t *testing.T, prefer worker.PreferredVersionProvider, localDown bool) *journeyTest {
	jt := newJourneyTest(t, submittedAt)
	jt.preferVersions, jt.localDown = prefer, localDown
	jt.oldIDs = prefer != nil // the workers of journeys started before changeEventIDs
	jt.signalAt("2027-02-10T15:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-02-10"})
	jt.run(events.ReimbursementSubmitted, claim)
	return jt
}

func TestReimbursementOverdueRepeatsUntilPaidLate(t *testing.T) {
	paidLate(t, nil, false).expect(paidLateEvents...)
}

func TestReimbursementApprovedThenPaid(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	jt.signalAt("2027-01-10T13:00:00-08:00", events.ReimbursementDecided, "e-approved",
		map[string]any{"claimId": "CLM-1001", "decision": "approved", "decisionDate": "2027-01-10"})
	jt.signalAt("2027-02-01T13:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-02-01"})
	jt.run(events.ReimbursementSubmitted, claim)
	// Approval does not stop the clock: it runs on until paid.
	jt.expect(
		"2027-01-10T13:00 reimbursement.approved 2027-01-10 dueDate=2027-01-29",
		"2027-01-14T09:00 reimbursement.due_soon 2027-01-14 daysBefore=15 dueDate=2027-01-29",
		"2027-01-24T09:00 reimbursement.due_soon 2027-01-24 daysBefore=5 dueDate=2027-01-29",
		"2027-01-30T09:00 reimbursement.overdue 2027-01-30 daysOverdue=1 dueDate=2027-01-29",
		"2027-02-01T13:00 reimbursement.closed 2027-02-01 daysLate=3 dueDate=2027-01-29 onTime=false outcome=paid",
	)
}

func TestReimbursementDeniedOnTime(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	jt.signalAt("2027-01-05T10:30:00-08:00", events.ReimbursementDecided, "e-denied",
		map[string]any{"claimId": "CLM-1001", "decision": "denied", "decisionDate": "2027-01-05"})
	jt.run(events.ReimbursementSubmitted, claim)
	jt.expect("2027-01-05T10:30 reimbursement.closed 2027-01-05 appealBy=2027-03-06 dueDate=2027-01-29 onTime=true outcome=denied")
}

func TestReimbursementDeniedLate(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	jt.signalAt("2027-01-30T10:30:00-08:00", events.ReimbursementDecided, "e-denied",
		map[string]any{"claimId": "CLM-1001", "decision": "denied", "decisionDate": "2027-01-30"})
	jt.run(events.ReimbursementSubmitted, claim)
	jt.expect(
		"2027-01-14T09:00 reimbursement.due_soon 2027-01-14 daysBefore=15 dueDate=2027-01-29",
		"2027-01-24T09:00 reimbursement.due_soon 2027-01-24 daysBefore=5 dueDate=2027-01-29",
		"2027-01-30T09:00 reimbursement.overdue 2027-01-30 daysOverdue=1 dueDate=2027-01-29",
		"2027-01-30T10:30 reimbursement.closed 2027-01-30 appealBy=2027-03-31 dueDate=2027-01-29 onTime=false outcome=denied",
	)
}

func TestReimbursementResubmittedReplansFromTheNewDate(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	// Documentation completed on 2027-01-15: due 2027-03-16, reminders 2027-03-01 and 2027-03-11.
	jt.signalAt("2027-01-16T08:00:00-08:00", events.ReimbursementResubmitted, "e-resubmitted",
		map[string]any{"claimId": "CLM-1001", "submittedDate": "2027-01-15"})
	jt.signalAt("2027-03-12T12:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-03-12"})
	jt.run(events.ReimbursementSubmitted, claim)
	// 2027-03-14 is the spring DST change: 2027-03-11 is still -08:00.
	jt.expect(
		"2027-01-14T09:00 reimbursement.due_soon 2027-01-14 daysBefore=15 dueDate=2027-01-29",
		"2027-03-01T09:00 reimbursement.due_soon 2027-03-01 daysBefore=15 dueDate=2027-03-16",
		"2027-03-11T09:00 reimbursement.due_soon 2027-03-11 daysBefore=5 dueDate=2027-03-16",
		"2027-03-12T12:00 reimbursement.closed 2027-03-12 daysLate=0 dueDate=2027-03-16 onTime=true outcome=paid",
	)
}

func TestReimbursementDuplicateSignalIsAppliedOnce(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	approved := map[string]any{"claimId": "CLM-1001", "decision": "approved", "decisionDate": "2027-01-10"}
	jt.signalAt("2027-01-10T13:00:00-08:00", events.ReimbursementDecided, "e-approved", approved)
	jt.signalAt("2027-01-10T13:05:00-08:00", events.ReimbursementDecided, "e-approved", approved)
	jt.signalAt("2027-01-11T09:30:00-08:00", events.ReimbursementDecided, "e-approved", approved)
	// The start event delivered again as a signal is ignored too.
	jt.signalAt("2027-01-12T09:30:00-08:00", events.ReimbursementSubmitted, "start-1", claim)
	jt.signalAt("2027-01-12T10:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-01-12"})
	jt.run(events.ReimbursementSubmitted, claim)
	jt.expect(
		"2027-01-10T13:00 reimbursement.approved 2027-01-10 dueDate=2027-01-29",
		"2027-01-12T10:00 reimbursement.closed 2027-01-12 daysLate=0 dueDate=2027-01-29 onTime=true outcome=paid",
	)
}

func TestReimbursementStartedLate(t *testing.T) {
	// The event arrives 2027-03-01, long after the due date: both reminders are skipped (their
	// deadline passed), the overdue escalation is published once, late, at its latest date.
	jt := newJourneyTest(t, "2027-03-01T10:00:00-08:00")
	jt.signalAt("2027-03-09T10:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-03-09"})
	jt.run(events.ReimbursementSubmitted, claim)
	jt.expect(
		"2027-03-01T10:00 reimbursement.overdue 2027-02-27 late daysOverdue=29 dueDate=2027-01-29",
		"2027-03-06T09:00 reimbursement.overdue 2027-03-06 daysOverdue=36 dueDate=2027-01-29",
		"2027-03-09T10:00 reimbursement.closed 2027-03-09 daysLate=39 dueDate=2027-01-29 onTime=false outcome=paid",
	)
}

func TestReimbursementStartedOnTheReminderDay(t *testing.T) {
	// Started after 09:00 on a reminder's date: published at once, not late (the same day).
	jt := newJourneyTest(t, "2027-01-14T15:00:00-08:00")
	jt.signalAt("2027-01-15T10:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-01-15"})
	jt.run(events.ReimbursementSubmitted, claim)
	jt.expect(
		"2027-01-14T15:00 reimbursement.due_soon 2027-01-14 daysBefore=15 dueDate=2027-01-29",
		"2027-01-15T10:00 reimbursement.closed 2027-01-15 daysLate=0 dueDate=2027-01-29 onTime=true outcome=paid",
	)
}

func TestReimbursementReplansOnAPolicyChange(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	// On 2027-01-02 the operator shortens dueDays to 45 (`starter replan`): due 2027-01-14,
	// reminders 2026-12-30 (passed: late) and 2027-01-09; overdue from 2027-01-15.
	p := rules.DefaultPolicy()
	p.Reimbursement.DueDays = 45
	jt.signalAt("2027-01-02T08:00:00-08:00", EventPolicyChanged, "policy-45", p)
	jt.signalAt("2027-01-16T10:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-01-16"})
	jt.run(events.ReimbursementSubmitted, claim)
	jt.expect(
		"2027-01-02T08:00 reimbursement.due_soon 2026-12-30 late daysBefore=15 dueDate=2027-01-14",
		"2027-01-09T09:00 reimbursement.due_soon 2027-01-09 daysBefore=5 dueDate=2027-01-14",
		"2027-01-15T09:00 reimbursement.overdue 2027-01-15 daysOverdue=1 dueDate=2027-01-14",
		"2027-01-16T10:00 reimbursement.closed 2027-01-16 daysLate=2 dueDate=2027-01-14 onTime=false outcome=paid",
	)
}

// `starter replan` sends a policy as an update: the journey re-plans at once, as with the signal.
// A policy that does not read is refused with the reason and changes nothing; a later one, and the
// first one again, are applied in turn (A, B, A: the journey ends on A).
func TestReimbursementReplansOnAnUpdate(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	bad := jt.replanAt("2026-12-20T08:00:00-08:00", "replan-bad", map[string]any{"reimbursement": map[string]any{"dueDays": 0}})
	p45 := rules.DefaultPolicy()
	p45.Reimbursement.DueDays = 45
	p50 := rules.DefaultPolicy()
	p50.Reimbursement.DueDays = 50
	a := jt.replanAt("2027-01-01T08:00:00-08:00", "replan-a", p45)
	b := jt.replanAt("2027-01-01T08:30:00-08:00", "replan-b", p50)
	again := jt.replanAt("2027-01-02T08:00:00-08:00", "replan-a-again", p45)
	jt.signalAt("2027-01-16T10:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-01-16"})
	jt.run(events.ReimbursementSubmitted, claim)
	// B (50 days: due 2027-01-19, reminder 2027-01-04 ahead) publishes nothing before A again
	// (45 days: due 2027-01-14, reminder 2026-12-30 late, 2027-01-09, overdue 2027-01-15).
	jt.expect(
		"2027-01-01T08:00 reimbursement.due_soon 2026-12-30 late daysBefore=15 dueDate=2027-01-14",
		"2027-01-09T09:00 reimbursement.due_soon 2027-01-09 daysBefore=5 dueDate=2027-01-14",
		"2027-01-15T09:00 reimbursement.overdue 2027-01-15 daysOverdue=1 dueDate=2027-01-14",
		"2027-01-16T10:00 reimbursement.closed 2027-01-16 daysLate=2 dueDate=2027-01-14 onTime=false outcome=paid",
	)
	if bad.accepted || bad.err == nil || !strings.Contains(bad.err.Error(), "reimbursement.dueDays") {
		t.Errorf("a policy with dueDays 0: accepted %v, error %v; want it refused, naming the key", bad.accepted, bad.err)
	}
	for _, u := range []*pendingUpdate{a, b, again} {
		if !u.accepted || u.err != nil {
			t.Errorf("%s: accepted %v, error %v", u.id, u.accepted, u.err)
		}
	}
}

// With a spread window, every notice of the journey moves by the journey's own offset, and the
// published event's instant says so; an event on a signal is not moved.
func TestReimbursementNoticesMoveByTheJourneysPlaceInTheSpread(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	jt.policy.NoticeSpreadMinutes = 60
	offset := jt.policy.ForJourney(WorkflowID(testKeyer, JourneyReimbursement, "CLM-1001")).NoticeOffsetSeconds
	if offset < 60 {
		t.Fatalf("fixture: offset %ds is in the window's first minute; pick another claim", offset)
	}
	jt.signalAt("2027-02-01T15:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-02-01"})
	jt.run(events.ReimbursementSubmitted, claim)
	at := fmt.Sprintf("T09:%02d", offset/60)
	jt.expect(
		"2027-01-14"+at+" reimbursement.due_soon 2027-01-14 daysBefore=15 dueDate=2027-01-29",
		"2027-01-24"+at+" reimbursement.due_soon 2027-01-24 daysBefore=5 dueDate=2027-01-29",
		"2027-01-30"+at+" reimbursement.overdue 2027-01-30 daysOverdue=1 dueDate=2027-01-29",
		"2027-02-01T15:00 reimbursement.closed 2027-02-01 daysLate=3 dueDate=2027-01-29 onTime=false outcome=paid",
	)
	for _, ev := range jt.events[:3] {
		d, err := rules.ParseDate(ev.Data["eventDate"].(string))
		if err != nil {
			t.Fatal(err)
		}
		want := rules.DefaultPolicy().At(d).Add(time.Duration(offset) * time.Second)
		if !ev.Time.Equal(want) {
			t.Errorf("%s: time %s, want %s (09:00 + %ds)", ev.Type, ev.Time, want, offset)
		}
	}
}

// A re-plan to a policy with a spread places the running journey in the window, at the place it
// would have had from its start.
func TestReimbursementReplannedToASpreadTakesItsPlace(t *testing.T) {
	jt := newJourneyTest(t, submittedAt)
	p := rules.DefaultPolicy()
	p.NoticeSpreadMinutes = 60
	offset := p.ForJourney(WorkflowID(testKeyer, JourneyReimbursement, "CLM-1001")).NoticeOffsetSeconds
	jt.signalAt("2027-01-20T08:00:00-08:00", EventPolicyChanged, "policy-spread", p)
	jt.signalAt("2027-01-26T10:00:00-08:00", events.ReimbursementPaid, "e-paid",
		map[string]any{"claimId": "CLM-1001", "paidDate": "2027-01-26"})
	jt.run(events.ReimbursementSubmitted, claim)
	jt.expect(
		"2027-01-14T09:00 reimbursement.due_soon 2027-01-14 daysBefore=15 dueDate=2027-01-29",
		fmt.Sprintf("2027-01-24T09:%02d reimbursement.due_soon 2027-01-24 daysBefore=5 dueDate=2027-01-29", offset/60),
		"2027-01-26T10:00 reimbursement.closed 2027-01-26 daysLate=0 dueDate=2027-01-29 onTime=true outcome=paid",
	)
}

// By default every journey event is published through the publish activity.
func TestJourneyEventsArePublishedThroughTheActivityByDefault(t *testing.T) {
	jt := paidLate(t, nil, false)
	jt.expect(paidLateEvents...)
	assertVia(t, jt, "activity")
}

// With CARECLOCK_LOCAL_PUBLISH every journey event is published by a local activity, in the
// workflow task that decided it: the same events on the same instants.
func TestJourneyEventsArePublishedInTheWorkflowTaskWithLocalPublish(t *testing.T) {
	jt := paidLate(t, preferVersions(true), false)
	jt.expect(paidLateEvents...)
	assertVia(t, jt, "local")
}

// When the local activity cannot publish within its 30 s, the event is handed to the publish
// activity, which retries on the server: every event is still published, once and on its day.
func TestPublishFallsBackToTheActivity(t *testing.T) {
	jt := paidLate(t, preferVersions(true), true)
	jt.expect(paidLateEvents...)
	assertVia(t, jt, "activity")
}

// A journey on the path from before changeLocalPublish (DefaultVersion, as every journey
// recorded before it) upserts every search attribute at every step: its first task upserts what
// its start already set.
func TestJourneysBeforeTheChangeUpsertEveryAttribute(t *testing.T) {
	jt := paidLate(t, func(worker.PreferredVersionProviderInput) *worker.VersionPreference {
		return &worker.VersionPreference{Version: workflow.DefaultVersion}
	}, false)
	assertVia(t, jt, "activity")
	want := slices.Insert(slices.Clone(paidLateAttrs), 1,
		"2026-11-30T10:00 reimbursement waiting next=2027-01-14T09:00 deadline=2027-01-29T09:00")
	if !slices.Equal(jt.attrs, want) {
		t.Errorf("search attributes:\n  %s\nwant:\n  %s", strings.Join(jt.attrs, "\n  "), strings.Join(want, "\n  "))
	}
}

// assertVia asserts that every journey event of jt was published the one way.
func assertVia(t *testing.T, jt *journeyTest, how string) {
	t.Helper()
	if want := slices.Repeat([]string{how}, len(jt.published)); len(jt.published) == 0 || !slices.Equal(jt.via, want) {
		t.Errorf("%d journey events published via %v, want all %s", len(jt.published), jt.via, how)
	}
}

// Every journey event's id is <workflowId>:<type>@<date>#<n>, for a scheduled notice and for an
// event published at once alike; a journey started before changeEventIDs keeps the old forms.
func TestJourneyEventIDs(t *testing.T) {
	id := WorkflowID(testKeyer, JourneyReimbursement, "CLM-1001")
	paidLate(t, nil, false).expectIDs(id,
		"reimbursement.due_soon@2027-01-14#1", "reimbursement.due_soon@2027-01-24#1",
		"reimbursement.overdue@2027-01-30#1", "reimbursement.overdue@2027-02-06#1", "reimbursement.closed@2027-02-10#1")
	paidLate(t, preferVersions(true), true).expectIDs(id, // on local publish: the old forms
		"reimbursement.due_soon@2027-01-14", "reimbursement.due_soon@2027-01-24",
		"reimbursement.overdue@2027-01-30", "reimbursement.overdue@2027-02-06", "reimbursement.closed@2027-02-10#2.0")
}
