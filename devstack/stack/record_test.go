package stack_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

var record = flag.Bool("record", false, "record one history of each journey into ../../workflows/testdata")

// TestRecordHistories records, from the in-process server, one finished history of each journey
// with inbound signals and a re-plan, for the replay test in workflows/. It runs only with
// -record:
//
//	go test ./devstack/stack -run TestRecordHistories -record
func TestRecordHistories(t *testing.T) {
	if !*record {
		t.Skip("records histories only with -record")
	}
	s := startStack(t, recordingKey)
	today := testPolicy().Today(time.Now())
	id := func(journey string, key ...string) string { return workflows.WorkflowID(s.Keyer, journey, key...) }
	ids := map[string]string{
		workflows.JourneyCCSReferral:   id(workflows.JourneyCCSReferral, "R-REC-1"),
		workflows.JourneyAgeOut:        id(workflows.JourneyAgeOut, "M-REC-A"),
		workflows.JourneyPostpartum:    id(workflows.JourneyPostpartum, "M-REC-B", today.AddDays(-30).String()),
		workflows.JourneyReimbursement: id(workflows.JourneyReimbursement, "CLM-REC-1"),
		workflows.JourneyCoC:           id(workflows.JourneyCoC, "M-REC-D", "P-REC-1"),
		workflows.JourneyAuthorization: id(workflows.JourneyAuthorization, "PA-REC-1"),
		workflows.JourneyGrievance:     id(workflows.JourneyGrievance, "G-REC-1"),
		workflows.JourneyAppeal:        id(workflows.JourneyAppeal, "A-REC-1"),
		"coc-requested":                id(workflows.JourneyCoC, "M-REC-E", "P-REC-2"),
	}
	full := true
	send(t, s, "r-1", events.CCSReferralSubmitted, map[string]any{
		"referralId": "R-REC-1", "memberId": "M-REC-A", "dateOfBirth": today.AddYears(-15).String(),
		"conditionCode": "D66", "referralDate": today.AddDays(-20).String(), "county": "Orange",
		"countyModel": "independent", "fullScopeMediCal": full,
	})
	send(t, s, "p-1", events.PregnancyEnded, map[string]any{"memberId": "M-REC-B", "pregnancyEndDate": today.AddDays(-30).String()})
	send(t, s, "c-1", events.ReimbursementSubmitted, map[string]any{
		"claimId": "CLM-REC-1", "memberId": "M-REC-C", "submittedDate": today.AddDays(-100).String(),
		"amountCents": 2500, "category": "lodging",
	})
	contracted := false
	send(t, s, "w-1", events.WCMTransitioned, map[string]any{"memberId": "M-REC-D", "transitionDate": today.AddDays(-300).String(),
		"providers": []map[string]any{{"providerId": "P-REC-1", "contracted": contracted}}})
	// Expedited, received 70 hours ago: both warnings are missed, the 24-hour one is superseded.
	send(t, s, "pa-1", events.AuthorizationRequested, map[string]any{"requestId": "PA-REC-1", "memberId": "M-REC-C",
		"receivedAt": time.Now().Add(-70 * time.Hour).Format(time.RFC3339), "urgency": "expedited", "infoComplete": true, "serviceCode": "E0784"})
	// A grievance received 10 days ago, its acknowledgment overdue; an appeal filed late, 200
	// days ago, whose resolution (upheld, 125 days ago) opened a State Hearing window that ended
	// 5 days ago; a continuity-of-care request 10 days ago whose decision is overdue, for a
	// period that has already run out.
	day := 24 * time.Hour
	send(t, s, "g-1", events.GrievanceReceived, map[string]any{"grievanceId": "G-REC-1", "memberId": "M-REC-C",
		"receivedAt": time.Now().Add(-10 * day).Format(time.RFC3339), "expedited": false})
	send(t, s, "ap-1", events.AppealReceived, map[string]any{"appealId": "A-REC-1", "memberId": "M-REC-C",
		"receivedAt": time.Now().Add(-200 * day).Format(time.RFC3339), "expedited": false, "noticeDate": today.AddDays(-300).String(), "requestId": "PA-REC-1"})
	send(t, s, "cr-1", events.CoCRequested, map[string]any{"memberId": "M-REC-E", "providerId": "P-REC-2",
		"transitionDate": today.AddDays(-400).String(), "requestDate": today.AddDays(-10).String(), "urgency": "immediate_risk"})
	waitAcked(t, s.JS, 8)

	// The referral is found eligible: it starts the age-out, whose birthdate is then corrected.
	send(t, s, "r-2", events.CCSEligibilityDetermined, map[string]any{"referralId": "R-REC-1", "outcome": "eligible", "determinationDate": today.String()})
	send(t, s, "c-2", events.ReimbursementDecided, map[string]any{"claimId": "CLM-REC-1", "decision": "approved", "decisionDate": today.String()})
	send(t, s, "p-2", events.PregnancyEndDateCorrected, map[string]any{"memberId": "M-REC-B",
		"previousEndDate": today.AddDays(-30).String(), "pregnancyEndDate": today.AddDays(-30).String()})
	send(t, s, "pa-2", events.AuthorizationDecided, map[string]any{"requestId": "PA-REC-1", "decision": "denied", "decidedAt": time.Now().Format(time.RFC3339)})
	send(t, s, "ap-2", events.AppealResolved, map[string]any{"appealId": "A-REC-1", "outcome": "upheld", "resolvedAt": time.Now().Add(-125 * day).Format(time.RFC3339),
		"noticeDate": today.AddDays(-123).String()})
	send(t, s, "cr-2", events.CoCDecided, map[string]any{"memberId": "M-REC-E", "providerId": "P-REC-2", "decision": "approved", "decisionDate": today.String()})
	waitAcked(t, s.JS, 14)
	running(t, s, "WorkflowId = '"+ids[workflows.JourneyAgeOut]+"'", 1)
	send(t, s, "a-2", events.MemberBirthdateCorrected, map[string]any{"memberId": "M-REC-A", "dateOfBirth": today.AddYears(-15).AddDays(-3).String()})
	waitAcked(t, s.JS, 15)

	// A re-plan, as `starter replan` sends it (an update of the whole dated policy), to every
	// open journey.
	book, err := rules.ParseBook([]byte(`{"blocks": [{"noticeHour": 0}]}`))
	if err != nil {
		t.Fatal(err)
	}
	policy, err := rules.MarshalBook(book)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []string{workflows.JourneyReimbursement, workflows.JourneyPostpartum, workflows.JourneyAgeOut, workflows.JourneyCoC, workflows.JourneyAuthorization, workflows.JourneyGrievance} {
		h, err := s.Client.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
			WorkflowID: ids[j], UpdateID: "replan-rec", UpdateName: workflows.UpdateReplan,
			Args: []any{json.RawMessage(policy)}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(context.Background(), nil)
		}
		if err != nil {
			t.Fatalf("replan %s: %v", j, err)
		}
	}

	// Each ends: paid, contracted, disenrolled.
	send(t, s, "c-3", events.ReimbursementPaid, map[string]any{"claimId": "CLM-REC-1", "paidDate": today.String()})
	send(t, s, "w-2", events.ProviderContracted, map[string]any{"providerId": "P-REC-1", "effectiveDate": today.String()})
	send(t, s, "a-3", events.MemberDisenrolled, map[string]any{"memberId": "M-REC-A", "effectiveDate": today.String()})
	send(t, s, "p-3", events.MemberDisenrolled, map[string]any{"memberId": "M-REC-B", "effectiveDate": today.String()})
	send(t, s, "pa-3", events.AuthorizationNoticeSent, map[string]any{"requestId": "PA-REC-1", "sentDate": today.String()})
	send(t, s, "g-2", events.GrievanceAcknowledged, map[string]any{"grievanceId": "G-REC-1", "acknowledgedDate": today.String()})
	send(t, s, "g-3", events.GrievanceResolved, map[string]any{"grievanceId": "G-REC-1", "resolvedAt": time.Now().Format(time.RFC3339)})
	waitAcked(t, s.JS, 22)

	for journey, wid := range ids {
		saveHistory(t, journey+".json", closedHistory(t, s, wid))
	}
	// The directories of the member whose referral, age-out journey, corrections and
	// disenrollment went through one, and of the provider whose contract ended a period: they
	// are still open, and replay as far as they went.
	saveHistory(t, "member-directory.json", runHistory(t, s, workflows.DirectoryID(workflows.DirectoryMember, workflows.MemberKey(s.Keyer, "M-REC-A")), ""))
	saveHistory(t, "provider-directory.json", runHistory(t, s, workflows.DirectoryID(workflows.DirectoryProvider, workflows.ProviderKey(s.Keyer, "P-REC-1")), ""))
}

// recordingKey makes the stack encrypt with the replay test's key (workflows/testdata/codec.keys),
// copied to a file only its owner reads, as a secret must be. (testdata/local-publish was
// recorded while CARECLOCK_LOCAL_PUBLISH existed; it replays, and is not recorded again.)
func recordingKey(o *stack.Options) {
	b, err := os.ReadFile(filepath.Join("..", "..", "workflows", "testdata", "codec.keys"))
	if err != nil {
		panic(err) // the fixture is in the repository
	}
	path := filepath.Join(o.Config.DataDir, "recording.keys")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		panic(err)
	}
	o.Config.CodecKeysFile = path
}

// saveHistory writes a history for the replay test in workflows/.
func saveHistory(t *testing.T, name string, h *historypb.History) {
	t.Helper()
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("..", "..", "workflows", "testdata", name)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events → %s", len(h.GetEvents()), file)
}

// runHistory is the whole history of one run.
func runHistory(t *testing.T, s *stack.Stack, workflowID, runID string) *historypb.History {
	t.Helper()
	var h historypb.History
	it := s.Client.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	return &h
}

// closedHistory waits until the workflow has closed and returns its whole history.
func closedHistory(t *testing.T, s *stack.Stack, workflowID string) *historypb.History {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		h := runHistory(t, s, workflowID, "")
		last := h.GetEvents()[len(h.GetEvents())-1].GetEventType()
		if last == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has not completed (last event %s)", workflowID, last)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
