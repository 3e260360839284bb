package stack_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
)

// 1,000 poison events sent among 1,000 valid ones (issue 25): far-future timestamps, bodies over
// the listener's limit, 10 KB ids. Every valid event is applied, every poison one dead-lettered
// once with its reason, and ingestion never stops. (A body over NATS's own max_payload, 1 MB in
// deploy/nats/nats.conf, is refused to its producer by NATS and never reaches careclock.)
func TestPoisonEventsAmongValidOnes(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	reasons := map[string]string{} // stream sequence → the reason its dead letter must give
	valid := 0
	for i := range 1000 {
		publishMsg(t, s.JS, events.Subject(events.ReimbursementSubmitted), fmt.Sprintf("valid-%d", i),
			inbound(fmt.Sprintf("valid-%d", i), events.ReimbursementSubmitted, map[string]any{
				"claimId": fmt.Sprintf("CLM-PSN-%d", i), "memberId": "M-PSN", "submittedDate": today.String(), "amountCents": 100, "category": "meals"}))
		valid++
		var (
			subject, id string
			body        []byte
			reason      string
		)
		switch i % 3 {
		case 0:
			id = fmt.Sprintf("far-%d", i)
			subject, body = events.Subject(events.AuthorizationRequested), inbound(id, events.AuthorizationRequested, map[string]any{
				"requestId": fmt.Sprintf("PA-PSN-%d", i), "memberId": "M-PSN", "receivedAt": "9999-12-31T00:00:00Z",
				"urgency": "standard", "infoComplete": true, "serviceCode": "97110"})
			reason = "data.receivedAt: out of range (1900-01-01 to 2199-12-31)"
		case 1:
			id = fmt.Sprintf("big-%d", i)
			subject, body = events.Subject(events.ReimbursementSubmitted), inbound(id, events.ReimbursementSubmitted, map[string]any{
				"claimId": fmt.Sprintf("CLM-BIG-%d", i), "memberId": "M-PSN", "submittedDate": today.String(), "amountCents": 1,
				"category": "meals", "note": strings.Repeat("x", 100_000)})
			reason = "event of " + strconv.Itoa(len(body)) + " bytes; the limit is 65536 (CARECLOCK_MAX_EVENT_BYTES)"
		case 2:
			id = fmt.Sprintf("%s-%05d", strings.Repeat("i", 10_000), i)
			subject, body = events.Subject(events.ReimbursementSubmitted), inbound(id, events.ReimbursementSubmitted, map[string]any{
				"claimId": fmt.Sprintf("CLM-LONG-%d", i), "memberId": "M-PSN", "submittedDate": today.String(), "amountCents": 1, "category": "meals"})
			reason = "id of 10006 bytes; the limit is 256 (CARECLOCK_MAX_ID_LENGTH)"
		}
		ack := publishMsg(t, s.JS, subject, fmt.Sprintf("poison-%d", i), body)
		reasons[strconv.FormatUint(ack.Sequence, 10)] = reason
	}
	waitAcked(t, s.JS, uint64(valid+2*len(reasons)))

	cons, err := s.JS.OrderedConsumer(context.Background(), events.EnrollmentStream,
		jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.DeadLetterSubject}})
	if err != nil {
		t.Fatal(err)
	}
	deadLettered, poison := 0, len(reasons)
	for deadLettered < poison {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		msg, err := cons.Next(jetstream.FetchContext(ctx))
		cancel()
		if err != nil {
			t.Fatalf("%d dead letters, want %d: %v", deadLettered, poison, err)
		}
		seq := msg.Headers().Get(events.HeaderOriginalSeq)
		want, ok := reasons[seq]
		if !ok {
			t.Fatalf("dead letter of sequence %s, a valid event or one dead-lettered twice", seq)
		}
		delete(reasons, seq)
		deadLettered++
		if got := msg.Headers().Get(events.HeaderReason); got != want {
			t.Errorf("dead letter of %s: reason %q, want %q", seq, got, want)
		}
	}
	if len(reasons) != 0 {
		t.Errorf("%d poison events not dead-lettered", len(reasons))
	}
	applied := startedClaims(t, s, valid)
	report(t, figures{
		Scenario: fmt.Sprintf("poison: %d valid events among %d poison ones (far-future timestamps, 100 KB bodies, 10 KB ids)", valid, deadLettered),
		Sent:     valid + deadLettered, Distinct: valid + deadLettered, Applied: applied, DeadLettered: deadLettered,
	})
	if applied != valid {
		t.Errorf("%d of %d valid events applied", applied, valid)
	}
}

// startedClaims counts the claims' journeys in visibility, waiting up to a minute for it to
// catch up with want: each valid event starts one journey, so this is the count applied (a
// state query of each of 1,000 journeys, as the other fault tests count, is too slow on SQLite
// with the production topology's tests beside it).
func startedClaims(t *testing.T, s *stack.Stack, want int) int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		resp, err := s.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: s.Temporal.Namespace(), Query: "CareclockJourney = 'reimbursement'",
		})
		cancel()
		n := int(resp.GetCount())
		if err == nil && n >= want || time.Now().After(deadline) {
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		time.Sleep(time.Second)
	}
}
