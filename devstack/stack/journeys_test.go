package stack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
)

func send(t *testing.T, s *stack.Stack, id, eventType string, data map[string]any) {
	t.Helper()
	publish(t, s.JS, events.Subject(eventType), id, inbound(id, eventType, data))
}

// running waits until the visibility query finds n running journeys, and returns their ids.
func running(t *testing.T, s *stack.Stack, query string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		resp, err := s.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.Temporal.Namespace(), Query: query + " AND ExecutionStatus = 'Running'",
		})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range resp.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		if len(ids) == n {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q: %d running, want %d", query, len(ids), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func journeyData(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var ev events.JourneyEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	ev.Data["type"] = ev.Type
	return ev.Data
}

func TestEligibleDeterminationsStartExactlyOneAgeOut(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	for _, r := range []string{"R-A", "R-B"} {
		send(t, s, "sub-"+r, events.CCSReferralSubmitted, map[string]any{
			"referralId": r, "memberId": "M-IT-9", "dateOfBirth": today.AddYears(-10).String(),
			"conditionCode": "D66", "referralDate": today.String(), "county": "Yolo",
			"countyModel": "independent", "fullScopeMediCal": true,
		})
	}
	collect(t, s.JS, events.JourneyStream, "journeys.ccs-referral.opened", 2, time.Minute)
	for _, r := range []string{"R-A", "R-B"} {
		send(t, s, "det-"+r, events.CCSEligibilityDetermined, map[string]any{
			"referralId": r, "outcome": "eligible", "determinationDate": today.String(),
		})
	}
	closed := collect(t, s.JS, events.JourneyStream, "journeys.ccs-referral.closed", 2, time.Minute)
	if len(closed) != 2 {
		t.Fatalf("%d referrals closed, want 2", len(closed))
	}
	ccn := collect(t, s.JS, events.JourneyStream, "journeys.ccs-referral.network.>", 2, time.Minute)
	if len(ccn) != 2 || journeyData(t, ccn[0].Data())["network"] != "CCN" {
		t.Fatalf("CCN assignments: %d", len(ccn))
	}
	running(t, s, "CareclockJourney = 'ageout'", 1)
	// Settled: both determinations applied, still one age-out journey.
	waitAcked(t, s.JS, 4)
	running(t, s, "CareclockJourney = 'ageout'", 1)
}

func TestProviderContractedEndsOnlyThatProvidersCoC(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	prov := func(ids ...string) []map[string]any {
		var out []map[string]any
		for _, id := range ids {
			out = append(out, map[string]any{"providerId": id, "contracted": false})
		}
		return out
	}
	send(t, s, "wcm-A", events.WCMTransitioned, map[string]any{"memberId": "M-A", "transitionDate": today.AddDays(-30).String(), "providers": prov("P-1", "P-2")})
	send(t, s, "wcm-B", events.WCMTransitioned, map[string]any{"memberId": "M-B", "transitionDate": today.AddDays(-30).String(), "providers": prov("P-1")})
	running(t, s, "CareclockJourney = 'coc'", 3)

	send(t, s, "contract-P-1", events.ProviderContracted, map[string]any{"providerId": "P-1", "effectiveDate": today.String()})
	ended := collect(t, s.JS, events.JourneyStream, "journeys.coc.>", 2, time.Minute)
	var got []string
	for _, m := range ended {
		d := journeyData(t, m.Data())
		got = append(got, fmt.Sprintf("%s %s %s %s", d["type"], d["memberId"], d["providerId"], d["reason"]))
	}
	sort.Strings(got)
	want := "coc.ended M-A P-1 provider_contracted|coc.ended M-B P-1 provider_contracted"
	if strings.Join(got, "|") != want {
		t.Fatalf("coc events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.ReplaceAll(want, "|", "\n"))
	}
	left := running(t, s, "CareclockJourney = 'coc'", 1)
	var st struct {
		Facts struct{ MemberID, ProviderID string } `json:"facts"`
	}
	v, err := s.Client.QueryWorkflow(context.Background(), left[0], "", "state")
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Get(&st); err != nil || st.Facts.MemberID != "M-A" || st.Facts.ProviderID != "P-2" {
		t.Fatalf("the journey left open is %+v, %v; want M-A with P-2", st.Facts, err)
	}
}

// An expedited request received 73 hours ago was due an hour ago: its deemed denial is published
// at once, late, stamped with the deadline instant; its warnings are skipped.
func TestAnExpeditedRequestReceived73HoursAgoIsDeemedDeniedAtOnce(t *testing.T) {
	s := startStack(t)
	received := time.Now().Add(-73 * time.Hour).Truncate(time.Second)
	send(t, s, "pa-1", events.AuthorizationRequested, map[string]any{"requestId": "PA-IT-1", "memberId": "M-IT-PA",
		"receivedAt": received.In(testPolicy().Zone()).Format(time.RFC3339), "urgency": "expedited", "infoComplete": true, "serviceCode": "E0784"})
	got := collect(t, s.JS, events.JourneyStream, "journeys.authorization.>", 1, time.Minute)
	d := journeyData(t, got[0].Data())
	deadline := received.Add(72 * time.Hour)
	if d["type"] != "authorization.deemed_denied" || d["late"] != true || d["urgency"] != "expedited" {
		t.Fatalf("published %v, want authorization.deemed_denied, late", d)
	}
	for _, k := range []string{"deadlineAt", "eventAt"} {
		at, err := time.Parse(time.RFC3339, fmt.Sprint(d[k]))
		if err != nil || !at.Equal(deadline) {
			t.Errorf("%s = %v, want the deadline instant %s", k, d[k], deadline.Format(time.RFC3339))
		}
	}
	time.Sleep(2 * time.Second)
	if info, err := streamInfo(t, s, events.JourneyStream); err != nil || info.State.Msgs != 1 {
		t.Errorf("journey events: %v (%v), want the deemed denial alone: the warnings are skipped", info.State.Msgs, err)
	}
}

func TestDisenrollmentCancelsEveryJourneyButWhatThePlanStillOwes(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	m := "M-IT-7"
	send(t, s, "enr", events.MemberEnrolled, map[string]any{"memberId": m, "dateOfBirth": today.AddYears(-10).String(),
		"enrollmentDate": today.String(), "county": "Yolo", "countyModel": "independent", "fullScopeMediCal": true, "ccsEligible": true})
	send(t, s, "ref", events.CCSReferralSubmitted, map[string]any{"referralId": "R-7", "memberId": m,
		"dateOfBirth": today.AddYears(-10).String(), "conditionCode": "Q21.0", "referralDate": today.String(),
		"county": "Yolo", "countyModel": "independent", "fullScopeMediCal": true})
	send(t, s, "wcm", events.WCMTransitioned, map[string]any{"memberId": m, "transitionDate": today.AddDays(-30).String(),
		"providers": []map[string]any{{"providerId": "P-7", "contracted": false}}})
	send(t, s, "preg", events.PregnancyEnded, map[string]any{"memberId": m, "pregnancyEndDate": today.AddDays(-10).String()})
	send(t, s, "reimb", events.ReimbursementSubmitted, map[string]any{"claimId": "C-7", "memberId": m,
		"submittedDate": today.String(), "amountCents": 500, "category": "transportation"})
	send(t, s, "pa", events.AuthorizationRequested, map[string]any{"requestId": "PA-7", "memberId": m,
		"receivedAt": time.Now().Format(time.RFC3339), "urgency": "standard", "infoComplete": true, "serviceCode": "97110"})
	send(t, s, "grv", events.GrievanceReceived, map[string]any{"grievanceId": "G-7", "memberId": m,
		"receivedAt": time.Now().Format(time.RFC3339), "expedited": false})
	send(t, s, "apl", events.AppealReceived, map[string]any{"appealId": "A-7", "memberId": m,
		"receivedAt": time.Now().Format(time.RFC3339), "expedited": true, "noticeDate": today.AddDays(-10).String()})
	send(t, s, "cocreq", events.CoCRequested, map[string]any{"memberId": m, "providerId": "P-8",
		"transitionDate": today.AddDays(-30).String(), "requestDate": today.String(), "urgency": "urgent"})
	running(t, s, "CareclockJourney != ''", 9)

	send(t, s, "dis", events.MemberDisenrolled, map[string]any{"memberId": m, "effectiveDate": today.String()})
	cancelled := collect(t, s.JS, events.JourneyStream, "journeys.*.cancelled", 5, time.Minute)
	var got []string
	for _, msg := range cancelled {
		got = append(got, journeyData(t, msg.Data())["type"].(string))
	}
	sort.Strings(got)
	if want := "ageout.cancelled ccs.referral.cancelled coc.cancelled coc.cancelled postpartum.cancelled"; strings.Join(got, " ") != want {
		t.Fatalf("cancelled: %v, want %s", got, want)
	}
	// The plan still owes the member a payment, a decision and two resolutions.
	var open []string
	for _, id := range running(t, s, "CareclockJourney != ''", 4) {
		desc, err := s.Client.DescribeWorkflowExecution(context.Background(), id, "")
		if err != nil {
			t.Fatal(err)
		}
		if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("left open: %v", desc.GetWorkflowExecutionInfo())
		}
		open = append(open, desc.GetWorkflowExecutionInfo().GetType().GetName())
	}
	sort.Strings(open)
	if strings.Join(open, " ") != "appeal authorization grievance reimbursement" {
		t.Fatalf("left open: %v, want the appeal, the authorization, the grievance and the reimbursement", open)
	}
}
