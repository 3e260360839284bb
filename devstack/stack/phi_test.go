package stack_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/workflows"
)

// Recognizable PHI, one value per kind events.md names: member, claim, referral, authorization
// request, grievance and appeal ids, dates of birth, counties, names (and a provider id, which careclock hashes too).
var phiValues = []string{
	"M-PHI-7Q1", "M-PHI-7Q2", "M-PHI-7Q3", "M-PHI-7Q4", "M-PHI-7Q5", "M-PHI-7Q9",
	"CLM-PHI-7Q6", "R-PHI-7Q7", "P-PHI-7Q8", "PA-PHI-7QA", "M-PHI-7QB", "G-PHI-7QC", "A-PHI-7QD", "M-PHI-7QE",
	"2013-04-27", "2006-02-13",
	"Tuolumne", "Mariposa",
	"Quimby Phelps",
}

// scanner records where PHI was found.
type scanner struct {
	t     *testing.T
	found int
}

func (sc *scanner) scan(surface string, text []byte) {
	sc.t.Helper()
	for _, v := range phiValues {
		if bytes.Contains(text, []byte(v)) {
			sc.found++
			sc.t.Errorf("PHI %q in clear in %s", v, surface)
		}
	}
}

// One journey of each type, with PHI in every field that can hold it, runs through the whole
// stack; then everything Temporal, NATS and careclock keep or emit in clear is scanned for it:
// workflow ids, search attributes, memos and user metadata as stored, every history, NATS
// subjects and headers, every log line, metric labels, and the Temporal database's files. The
// payloads in the histories must be ciphertext.
func TestNoPHIInClear(t *testing.T) {
	var logs lockedBuffer
	s := startStack(t, func(o *stack.Options) {
		// Every line the stack logs, as JSON, at the level a production process runs at.
		l := zerolog.New(&logs).Level(zerolog.InfoLevel).With().Timestamp().Logger()
		o.Log = &l
	})
	today := testPolicy().Today(time.Now())
	yes, no := true, false
	sent := []struct {
		eventType string
		data      map[string]any
	}{
		{events.CCSReferralSubmitted, map[string]any{"referralId": "R-PHI-7Q7", "memberId": "M-PHI-7Q1", "dateOfBirth": "2013-04-27",
			"conditionCode": "D66", "referralDate": today.AddDays(-3).String(), "county": "Tuolumne", "countyModel": "dependent",
			"fullScopeMediCal": yes, "referrer": "Quimby Phelps"}},
		{events.MemberEnrolled, map[string]any{"memberId": "M-PHI-7Q2", "dateOfBirth": "2006-02-13", "enrollmentDate": today.String(),
			"county": "Mariposa", "countyModel": "independent", "fullScopeMediCal": yes, "ccsEligible": yes}},
		{events.PregnancyEnded, map[string]any{"memberId": "M-PHI-7Q3", "pregnancyEndDate": today.AddDays(-70).String()}},
		{events.ReimbursementSubmitted, map[string]any{"claimId": "CLM-PHI-7Q6", "memberId": "M-PHI-7Q4",
			"submittedDate": today.AddDays(-100).String(), "amountCents": 4200, "category": "lodging"}},
		{events.WCMTransitioned, map[string]any{"memberId": "M-PHI-7Q5", "transitionDate": today.AddDays(-340).String(),
			"providers": []map[string]any{{"providerId": "P-PHI-7Q8", "contracted": no}}}},
		// An expedited request due an hour ago: deemed denied at once.
		{events.AuthorizationRequested, map[string]any{"requestId": "PA-PHI-7QA", "memberId": "M-PHI-7QB",
			"receivedAt": time.Now().Add(-73 * time.Hour).Format(time.RFC3339), "urgency": "expedited", "infoComplete": yes, "serviceCode": "E0784"}},
		// A grievance and an appeal, each overdue at once: received 40 days ago.
		{events.GrievanceReceived, map[string]any{"grievanceId": "G-PHI-7QC", "memberId": "M-PHI-7QE",
			"receivedAt": time.Now().Add(-40 * 24 * time.Hour).Format(time.RFC3339), "expedited": no}},
		{events.AppealReceived, map[string]any{"appealId": "A-PHI-7QD", "memberId": "M-PHI-7QE",
			"receivedAt": time.Now().Add(-40 * 24 * time.Hour).Format(time.RFC3339), "expedited": no, "noticeDate": today.AddDays(-50).String()}},
		// Dead-lettered: its reason and headers must not repeat it.
		{events.ReimbursementSubmitted, map[string]any{"claimId": "CLM-PHI-7Q6", "memberId": "M-PHI-7Q9",
			"submittedDate": "2026-02-31", "amountCents": 1, "category": "Tuolumne"}},
	}
	for i, ev := range sent {
		id := "phi-" + string(rune('a'+i))
		send(t, s, id, ev.eventType, ev.data)
	}
	waitAcked(t, s.JS, uint64(len(sent)+1))
	// The referral's eligible determination starts the child's age-out; the claim is decided.
	send(t, s, "phi-det", events.CCSEligibilityDetermined, map[string]any{"referralId": "R-PHI-7Q7", "outcome": "eligible", "determinationDate": today.String()})
	send(t, s, "phi-dec", events.ReimbursementDecided, map[string]any{"claimId": "CLM-PHI-7Q6", "decision": "approved", "decisionDate": today.String()})
	waitAcked(t, s.JS, uint64(len(sent)+3))
	running(t, s, "CareclockJourney = 'ageout'", 2)
	// The authorization's deemed denial is one more; the continuity of care's 60-day notice, missed
	// with its 30-day one, is superseded by it and one fewer; the grievance's overdue
	// acknowledgment and resolution, and the appeal's overdue resolution, are three more.
	waitJourneyEvents(t, s, 11)

	sc := &scanner{t: t}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	listed, err := workflows.List(ctx, s.Client, workflows.Filter{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 9 {
		t.Fatalf("%d journeys, want 9 (one of each type, and the child's age-out)", len(listed))
	}
	payloads := 0
	for _, l := range listed {
		sc.scan("workflow id "+l.WorkflowID, []byte(l.WorkflowID))
		desc, err := s.Client.WorkflowService().DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
			Namespace: s.Temporal.Namespace(), Execution: &commonpb.WorkflowExecution{WorkflowId: l.WorkflowID},
		})
		if err != nil {
			t.Fatal(err)
		}
		// Search attributes, memo, user metadata (summary, details), pending activities, as stored.
		sc.scan("description of "+l.WorkflowID, wire(t, desc))
		summary := desc.GetExecutionConfig().GetUserMetadata().GetSummary()
		if summary == nil || string(summary.GetMetadata()["encoding"]) != privacy.EncodingEncrypted {
			t.Errorf("%s: summary stored as %v, want ciphertext", l.WorkflowID, summary.GetMetadata())
		}
		h := runHistory(t, s, l.WorkflowID, "")
		sc.scan("history of "+l.WorkflowID, wire(t, h))
		payloads += encryptedPayloads(t, l.WorkflowID, h)
	}
	t.Logf("%d payloads in %d histories, all ciphertext", payloads, len(listed))

	for _, stream := range []string{events.EnrollmentStream, events.JourneyStream} {
		n := 0
		cons, err := s.JS.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			quiet, stop := context.WithTimeout(ctx, 2*time.Second)
			msg, err := cons.Next(jetstream.FetchContext(quiet))
			stop()
			if err != nil {
				break
			}
			n++
			var head bytes.Buffer
			head.WriteString(msg.Subject())
			for k, vs := range msg.Headers() {
				head.WriteString(" " + k + ": " + strings.Join(vs, ", "))
			}
			sc.scan("NATS subject and headers on "+stream, head.Bytes())
		}
		t.Logf("%s: %d messages' subjects and headers scanned", stream, n)
	}

	var labels bytes.Buffer
	for name, f := range scrape(t, s) {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				labels.WriteString(name + "{" + l.GetName() + "=" + l.GetValue() + "} ")
			}
		}
	}
	sc.scan("metric labels", labels.Bytes())

	files, err := filepath.Glob(filepath.Join(s.DataDir(), "temporal.db*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("temporal database files: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc.scan("Temporal database file "+filepath.Base(f), b)
	}
	logText := logs.Bytes()
	lines := strings.Count(string(logText), "\n")
	sc.scan("logs", logText)
	t.Logf("%d log lines, %d metric label bytes, %d database files scanned; %d PHI values found", lines, labels.Len(), len(files), sc.found)
}

// wire is a message in Temporal's wire and storage encoding, where a payload's bytes (a search
// attribute's JSON, say) appear as they are, not base64 as in protojson.
func wire(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encryptedPayloads checks that every payload in a history (but search attributes) is
// ciphertext, and counts them.
func encryptedPayloads(t *testing.T, workflowID string, h proto.Message) int {
	t.Helper()
	n := 0
	var walk func(m proto.Message)
	walk = func(m proto.Message) {
		if _, ok := m.(*commonpb.SearchAttributes); ok {
			return // never encrypted, by design; scanned for PHI with the rest of the history
		}
		if p, ok := m.(*commonpb.Payload); ok {
			n++
			if enc := string(p.GetMetadata()["encoding"]); enc != privacy.EncodingEncrypted {
				t.Errorf("%s: a payload stored as %s, not ciphertext", workflowID, enc)
			}
			return
		}
		m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := range v.List().Len() {
					walk(v.List().Get(i).Message().Interface())
				}
			case fd.IsMap() && fd.MapValue().Message() != nil:
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					walk(mv.Message().Interface())
					return true
				})
			case fd.Message() != nil && !fd.IsMap():
				walk(v.Message().Interface())
			}
			return true
		})
	}
	walk(h)
	return n
}
