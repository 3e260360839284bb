package stack_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/workflows"
)

// Member-wide facts sent right after the facts that start the journeys they concern reach every
// one of them, whatever the timing (issue 25): 100 members enrolled and disenrolled back to back,
// 20 county changes right after their referrals, 20 provider contracts right after their
// transitions; every age-out cancelled, every referral transferred, every continuity-of-care
// period ended, none left running. Once with the worker running, once with it stopped while the
// events arrive and started after the listener has taken them all.
func TestMemberWideFactsReachEveryJourneyBackToBack(t *testing.T) {
	for _, stopped := range []bool{false, true} {
		t.Run(map[bool]string{false: "worker running", true: "worker stopped while they arrive"}[stopped], func(t *testing.T) {
			s := startStack(t)
			if stopped {
				s.StopWorker()
			}
			n := sendBackToBack(t, s)
			waitAcked(t, s.JS, n)
			if stopped {
				if err := s.StartWorker(); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct {
				filter string
				want   int
			}{
				{"journeys.ageout.cancelled", 100},
				{"journeys.ccs-referral.transferred", 20},
				{"journeys.coc.ended", 20},
			} {
				if got := collect(t, s.JS, events.JourneyStream, c.filter, c.want, 2*time.Minute); len(got) != c.want {
					t.Errorf("%s: %d journey events, want %d", c.filter, len(got), c.want)
				}
			}
			// And nothing else: the referrals' openings, and not one notice of a journey that
			// should have been cancelled or ended first.
			if got := collect(t, s.JS, events.JourneyStream, "journeys.>", 160, 10*time.Second); len(got) != 160 {
				t.Errorf("%d journey events in all, want 160: 100 cancelled, 20 opened, 20 transferred, 20 ended", len(got))
			}
			for _, journey := range []string{workflows.JourneyAgeOut, workflows.JourneyCoC} {
				if left := openJourneys(t, s, journey); left != 0 {
					t.Errorf("%d %s journeys left running, want 0", left, journey)
				}
			}
		})
	}
}

// sendBackToBack publishes the events of TestMemberWideFactsReachEveryJourneyBackToBack without
// waiting between them and returns how many.
func sendBackToBack(t *testing.T, s *stack.Stack) uint64 {
	t.Helper()
	today := testPolicy().Today(time.Now())
	n := uint64(0)
	put := func(id, eventType string, data map[string]any) {
		send(t, s, id, eventType, data)
		n++
	}
	for i := range 100 {
		m := fmt.Sprintf("M-BB-%d", i)
		put("enr-"+m, events.MemberEnrolled, map[string]any{"memberId": m, "dateOfBirth": today.AddYears(-10).String(),
			"enrollmentDate": today.AddDays(-30).String(), "county": "Yolo", "countyModel": "independent", "fullScopeMediCal": true, "ccsEligible": true})
		put("dis-"+m, events.MemberDisenrolled, map[string]any{"memberId": m, "effectiveDate": today.String()})
	}
	for i := range 20 {
		m := fmt.Sprintf("M-CC-%d", i)
		put("ref-"+m, events.CCSReferralSubmitted, map[string]any{"referralId": "R-" + m, "memberId": m,
			"dateOfBirth": today.AddYears(-10).String(), "conditionCode": "Q21.0", "referralDate": today.AddDays(-3).String(),
			"county": "Yolo", "countyModel": "independent", "fullScopeMediCal": true})
		put("cty-"+m, events.MemberCountyChanged, map[string]any{"memberId": m, "county": "Sacramento", "countyModel": "dependent",
			"effectiveDate": today.String()})
	}
	for i := range 20 {
		m, p := fmt.Sprintf("M-PC-%d", i), fmt.Sprintf("P-PC-%d", i)
		put("wcm-"+m, events.WCMTransitioned, map[string]any{"memberId": m, "transitionDate": today.AddDays(-30).String(),
			"providers": []map[string]any{{"providerId": p, "contracted": false}}})
		put("con-"+p, events.ProviderContracted, map[string]any{"providerId": p, "effectiveDate": today.String()})
	}
	return n
}

// openJourneys counts the running journeys of a type, by describing each workflow visibility
// lists (a journey that has ended is not running, whatever visibility lags).
func openJourneys(t *testing.T, s *stack.Stack, journey string) int {
	t.Helper()
	ctx := context.Background()
	resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.Temporal.Namespace(), Query: fmt.Sprintf("CareclockJourney = '%s'", journey), PageSize: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	open := 0
	seen := map[string]bool{}
	for _, e := range resp.GetExecutions() {
		id := e.GetExecution().GetWorkflowId()
		if seen[id] {
			continue
		}
		seen[id] = true
		desc, err := s.Client.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			t.Fatal(err)
		}
		if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			open++
		}
	}
	if len(seen) == 0 {
		t.Fatalf("no %s journey listed", journey)
	}
	return open
}
