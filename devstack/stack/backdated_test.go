package stack_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// journeyTypes are the types of the journey events on subjects matching filter, in stream order,
// once at least want have arrived and none more came for a few seconds.
func journeyTypes(t *testing.T, s *stack.Stack, filter string, want int) []string {
	t.Helper()
	var got []string
	for _, m := range collect(t, s.JS, events.JourneyStream, filter, want, time.Minute) {
		got = append(got, journeyData(t, m.Data())["type"].(string)+" "+journeyData(t, m.Data())["eventDate"].(string))
	}
	return got
}

// paidClaim sends a claim submitted 100 days ago and its payment dated 10 days ago, back to
// back, as a producer that sends what it has together (docs/rules.md, Time: "A claim paid on
// 2026-11-22 never gets an overdue notice dated 2026-11-28", and "a missed notice whose purpose
// is over is not sent"). Due 40 days ago, overdue from 39 days ago every 7 days: when the payment
// took effect the claim stood overdue since 11 days ago, but the journey knows of the payment
// when it would publish that notice late, so it publishes only the close (paid, 30 days late).
func paidClaimEvents(today rules.Date) []string {
	return []string{"reimbursement.closed " + today.AddDays(-10).String()}
}

func paidClaim(t *testing.T, s *stack.Stack, claimID string, today rules.Date) {
	t.Helper()
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "sub-"+claimID, claim("sub-"+claimID, claimID, today.AddDays(-100)))
	send(t, s, "paid-"+claimID, events.ReimbursementPaid, map[string]any{"claimId": claimID, "paidDate": today.AddDays(-10).String()})
}

// Twenty claims submitted 100 days ago with their payments of 10 days ago sent together: 20
// reimbursement.closed (paid, late) and no reimbursement.overdue at all.
func TestABackDatedPaymentSentWithItsClaimClosesItFirst(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	const n = 20
	for i := range n {
		paidClaim(t, s, "CLM-TOGETHER-"+string(rune('A'+i)), today)
	}
	for _, m := range collect(t, s.JS, events.JourneyStream, "journeys.reimbursement.closed", n, time.Minute) {
		if d := journeyData(t, m.Data()); d["outcome"] != "paid" || d["onTime"] != false || d["daysLate"] != float64(30) {
			t.Errorf("closed %v, want paid, 30 days late", d)
		}
	}
	got := journeyTypes(t, s, "journeys.reimbursement.>", n)
	slices.Sort(got)
	want := slices.Repeat(paidClaimEvents(today), n)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("journey events %v, want %d of %v and nothing else", got, n, paidClaimEvents(today))
	}
}

// The same while no worker runs: when one comes back, each journey's first task holds its start
// and its payment.
func TestABackDatedPaymentThatArrivedWhileNoWorkerRanClosesItFirst(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	s.StopWorker()
	paidClaim(t, s, "CLM-OUTAGE", today)
	waitAcked(t, s.JS, 2)
	if err := s.StartWorker(); err != nil {
		t.Fatal(err)
	}
	if got := journeyTypes(t, s, "journeys.reimbursement.>", 1); !slices.Equal(got, paidClaimEvents(today)) {
		t.Fatalf("journey events %v, want %v", got, paidClaimEvents(today))
	}
}

// docs/rules.md, Member-wide events: a member re-enrolled after a disenrollment gets the journeys a
// new member gets; an eligible referral after a cancelled age-out starts one; a redelivered copy
// of the first enrollment starts nothing.
func TestReEnrollmentStartsTheAgeOutJourneyAgain(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	m := "M-IT-CHURN"
	id := workflows.WorkflowID(s.Keyer, workflows.JourneyAgeOut, m)
	enrollment := func(eventID string, on rules.Date) []byte {
		return inbound(eventID, events.MemberEnrolled, map[string]any{"memberId": m, "dateOfBirth": today.AddYears(-10).String(),
			"enrollmentDate": on.String(), "county": "Yolo", "countyModel": "independent", "fullScopeMediCal": true, "ccsEligible": true})
	}
	disenroll := func(eventID string, on rules.Date) {
		send(t, s, eventID, events.MemberDisenrolled, map[string]any{"memberId": m, "effectiveDate": on.String()})
	}
	publish(t, s.JS, events.Subject(events.MemberEnrolled), "enr-1", enrollment("enr-1", today.AddDays(-60)))
	running(t, s, "WorkflowId = '"+id+"'", 1)
	disenroll("dis-1", today.AddDays(-30))
	collect(t, s.JS, events.JourneyStream, "journeys.ageout.cancelled", 1, time.Minute)

	// Re-enrolled: a new run.
	publish(t, s.JS, events.Subject(events.MemberEnrolled), "enr-2", enrollment("enr-2", today.AddDays(-5)))
	running(t, s, "WorkflowId = '"+id+"'", 1)
	if runs := waitRuns(t, s, id, 2); len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}

	// A copy of the first enrollment, sent again after JetStream's duplicate window (another
	// Nats-Msg-Id), once the second run is cancelled too: nothing starts.
	disenroll("dis-2", today.AddDays(-1))
	collect(t, s.JS, events.JourneyStream, "journeys.ageout.cancelled", 2, time.Minute)
	publish(t, s.JS, events.Subject(events.MemberEnrolled), "enr-1-again", enrollment("enr-1", today.AddDays(-60)))
	waitAcked(t, s.JS, 5)

	// An eligible referral: a third run.
	send(t, s, "ref", events.CCSReferralSubmitted, map[string]any{"referralId": "R-CHURN", "memberId": m,
		"dateOfBirth": today.AddYears(-10).String(), "conditionCode": "Q21.0", "referralDate": today.String(),
		"county": "Yolo", "countyModel": "independent", "fullScopeMediCal": true})
	send(t, s, "det", events.CCSEligibilityDetermined, map[string]any{"referralId": "R-CHURN", "outcome": "eligible", "determinationDate": today.String()})
	collect(t, s.JS, events.JourneyStream, "journeys.ccs-referral.closed", 1, time.Minute)
	running(t, s, "WorkflowId = '"+id+"'", 1)
	runs := waitRuns(t, s, id, 3)
	if len(runs) != 3 {
		t.Fatalf("%d runs, want 3: two enrollments and the referral, not the copy", len(runs))
	}
	desc, err := s.Client.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := desc.GetWorkflowExecutionInfo().GetParentExecution().GetWorkflowId(); got != workflows.WorkflowID(s.Keyer, workflows.JourneyCCSReferral, "R-CHURN") {
		t.Errorf("the third run was started by %q, want the referral", got)
	}
}
