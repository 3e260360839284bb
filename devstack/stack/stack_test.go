package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/internal/reliability"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// testPolicy is the tests' policy: the defaults, with notices at midnight, so that an event
// dated today is already due whatever the hour the tests run at.
func testPolicy() rules.Policy {
	p := rules.DefaultPolicy()
	p.NoticeHour = 0
	return p
}

// startStack runs the whole embedded stack on free ports in a temporary data directory, with
// testPolicy. change, if given, adjusts the options first.
func startStack(t *testing.T, change ...func(*stack.Options)) *stack.Stack {
	t.Helper()
	dir := t.TempDir()
	// testPolicy's one change over the built-in dated policy, whose other values it keeps.
	policy, err := json.Marshal(map[string]any{"noticeHour": testPolicy().NoticeHour})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{
		DataDir: dir, TaskQueue: "careclock-test",
		Consumer: "careclock-listener", StreamReplicas: 1, LogLevel: "info",
		PolicyFile: filepath.Join(dir, "policy.json"),
	}
	if err := os.WriteFile(cfg.PolicyFile, policy, 0o600); err != nil {
		t.Fatal(err)
	}
	out := &untilCleanup{w: t.Output()}
	t.Cleanup(out.close) // registered first, so it runs after the stack has stopped
	log := zerolog.New(zerolog.ConsoleWriter{Out: out, NoColor: true}).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	opts := stack.Options{Config: cfg, UIPort: -1, Log: &log}
	for _, c := range change {
		c(&opts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := stack.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop stack: %v", err)
		}
	})
	// Runs before the stack stops: every journey event the test made it publish is held to
	// the event contract. (A test that stops NATS for good has nothing left to read.)
	t.Cleanup(func() {
		if s.NC != nil && s.NC.IsConnected() {
			reliability.ContractedStream(t, s.JS)
		}
	})
	return s
}

// untilCleanup writes the stack's logs to the test's output until the test ends, then drops
// them: the embedded Temporal server leaves gRPC dial goroutines behind that log after Stop,
// and a write to a finished test's output panics.
type untilCleanup struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (u *untilCleanup) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return len(p), nil
	}
	return u.w.Write(p)
}

func (u *untilCleanup) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.closed = true
}

func inbound(id, eventType string, data map[string]any) []byte {
	return reliability.Inbound(id, eventType, data)
}

func publish(t *testing.T, js jetstream.JetStream, subject, msgID string, body []byte) {
	t.Helper()
	publishMsg(t, js, subject, msgID, body)
}

// publishMsg publishes with a Nats-Msg-Id and returns JetStream's acknowledgement.
func publishMsg(t *testing.T, js jetstream.JetStream, subject, msgID string, body []byte) *jetstream.PubAck {
	t.Helper()
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	ack, err := js.PublishMsg(context.Background(), msg)
	if err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
	return ack
}

// collect reads every message on subjects of stream until want have arrived and the stream is
// quiet, or the deadline passes.
func collect(t *testing.T, js jetstream.JetStream, stream, filter string, want int, within time.Duration) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		t.Fatalf("consumer on %s: %v", stream, err)
	}
	var got []jetstream.Msg
	for len(got) < want {
		msg, err := cons.Next(jetstream.FetchContext(ctx))
		if err != nil {
			t.Fatalf("waiting for %d messages on %s, got %d: %v", want, filter, len(got), err)
		}
		got = append(got, msg)
	}
	// Anything more that arrives shortly after is a duplicate the test must see.
	quiet, cancelQuiet := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancelQuiet()
	for {
		msg, err := cons.Next(jetstream.FetchContext(quiet))
		if err != nil {
			return got
		}
		got = append(got, msg)
	}
}

func TestSubmittedReimbursementPublishesItsPastDueEventLate(t *testing.T) {
	s := startStack(t)
	p := testPolicy()
	today := p.Today(time.Now())
	// Submitted 100 days ago: due 40 days ago, overdue from 39 days ago every 7 days, so its
	// latest occurrence was 4 days ago (daysOverdue 36) and the reminders are skipped.
	submitted := today.AddDays(-100)
	body := inbound("evt-1", events.ReimbursementSubmitted, map[string]any{
		"claimId": "CLM-IT-1", "memberId": "M-IT-1", "submittedDate": submitted.String(),
		"amountCents": 1200, "category": "parking",
	})
	start := time.Now().Add(-time.Second)
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "evt-1", body)

	msgs := collect(t, s.JS, events.JourneyStream, "journeys.reimbursement.>", 1, time.Minute)
	if len(msgs) != 1 {
		t.Fatalf("got %d journey events, want exactly 1", len(msgs))
	}
	m := msgs[0]
	var ev events.JourneyEvent
	if err := json.Unmarshal(m.Data(), &ev); err != nil {
		t.Fatal(err)
	}
	if m.Subject() != "journeys.reimbursement.overdue" || ev.Type != "reimbursement.overdue" {
		t.Fatalf("subject %s type %s", m.Subject(), ev.Type)
	}
	wantDate := today.AddDays(-4).String()
	checks := map[string]any{
		"late": true, "eventDate": wantDate, "deadline": today.AddDays(-40).String(),
		"daysOverdue": float64(36), "memberId": "M-IT-1", "journey": "reimbursement",
	}
	for k, want := range checks {
		if ev.Data[k] != want {
			t.Errorf("data.%s = %v, want %v", k, ev.Data[k], want)
		}
	}
	if ev.ID != ev.Subject+":reimbursement.overdue@"+wantDate+"#1" || m.Headers().Get(jetstream.MsgIDHeader) != ev.ID {
		t.Errorf("id %q, Nats-Msg-Id %q, subject %q", ev.ID, m.Headers().Get(jetstream.MsgIDHeader), ev.Subject)
	}
	// time is when careclock published it, today; scheduledAt when it was due (docs/events.md).
	if ev.Time.Before(start) || ev.Time.After(time.Now()) {
		t.Errorf("time %s, want the instant it was published, after %s", ev.Time, start)
	}
	if want := p.At(rules.MustDate(wantDate)).Format(time.RFC3339); ev.Data["scheduledAt"] != want {
		t.Errorf("scheduledAt %v, want the notice hour of %s: %s", ev.Data["scheduledAt"], wantDate, want)
	}
}

func TestSameEventThreeTimesStartsOneJourney(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	body := inbound("evt-dup", events.ReimbursementSubmitted, map[string]any{
		"claimId": "CLM-IT-2", "memberId": "M-IT-2", "submittedDate": today.AddDays(-61).String(),
		"amountCents": 900, "category": "tolls",
	})
	for i := range 3 {
		publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), fmt.Sprintf("copy-%d", i), body)
	}
	// Submitted 61 days ago: due yesterday, so the first overdue is today.
	msgs := collect(t, s.JS, events.JourneyStream, "journeys.reimbursement.>", 1, time.Minute)
	if len(msgs) != 1 {
		t.Fatalf("got %d journey events, want exactly 1", len(msgs))
	}
	waitAcked(t, s.JS, 3)
	resp, err := s.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.Temporal.Namespace(), Query: "CareclockJourney = 'reimbursement'",
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.GetExecutions()); n != 1 {
		t.Fatalf("%d reimbursement journeys, want 1", n)
	}
}

func TestMalformedEventIsDeadLettered(t *testing.T) {
	s := startStack(t)
	body := inbound("evt-bad", events.ReimbursementSubmitted, map[string]any{
		"claimId": "CLM-IT-3", "memberId": "M-IT-3", "submittedDate": "2026-02-31",
		"amountCents": 100, "category": "meals",
	})
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "evt-bad", body)
	notJSON := []byte("{not json")
	publish(t, s.JS, "enrollment.member.enrolled", "evt-garbage", notJSON)

	msgs := collect(t, s.JS, events.EnrollmentStream, events.DeadLetterSubject, 2, time.Minute)
	if len(msgs) != 2 {
		t.Fatalf("%d dead letters, want 2", len(msgs))
	}
	// Keyed by original subject: the two are applied in parallel, in either order.
	want := map[string]struct {
		reason string
		body   []byte
	}{
		"enrollment.reimbursement.submitted": {"data.submittedDate: not a calendar date", body},
		"enrollment.member.enrolled":         {"not JSON", notJSON},
	}
	for _, m := range msgs {
		subject := m.Headers().Get(events.HeaderOriginalSubject)
		w, ok := want[subject]
		if !ok {
			t.Errorf("dead letter from unexpected subject %q", subject)
			continue
		}
		delete(want, subject)
		if got := m.Headers().Get(events.HeaderReason); got != w.reason {
			t.Errorf("dead letter of %s: reason %q, want %q", subject, got, w.reason)
		}
		if string(m.Data()) != string(w.body) {
			t.Errorf("dead letter of %s: body %q, want the original bytes", subject, m.Data())
		}
	}
	waitAcked(t, s.JS, 4) // both originals and both dead letters
	journeys, err := s.JS.Stream(context.Background(), events.JourneyStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := journeys.Info(context.Background()); err != nil || info.State.Msgs != 0 {
		t.Fatalf("journey stream: %+v, %v; want no journey events", info, err)
	}
}

// waitAcked waits until the listener has acknowledged the first n enrollment messages.
func waitAcked(t *testing.T, js jetstream.JetStream, n uint64) {
	t.Helper()
	reliability.WaitAcked(t, js, "careclock-listener", n, time.Minute)
}

// `starter replan`'s update on the server: a journey takes a policy that reads and re-plans (its
// plan ahead moves), and refuses one that does not, with the reason, keeping its own.
func TestReplanUpdateOnTheServer(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "evt-replan", inbound("evt-replan", events.ReimbursementSubmitted, map[string]any{
		"claimId": "CLM-IT-RP", "memberId": "M-IT-RP", "submittedDate": today.String(), "amountCents": 900, "category": "tolls",
	}))
	waitAcked(t, s.JS, 1)
	id := workflows.WorkflowID(s.Keyer, workflows.JourneyReimbursement, "CLM-IT-RP")
	ctx := context.Background()
	update := func(updateID string, policy any) error {
		b, err := json.Marshal(policy)
		if err != nil {
			t.Fatal(err)
		}
		h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: id, UpdateID: updateID, UpdateName: workflows.UpdateReplan,
			Args: []any{json.RawMessage(b)}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err != nil {
			return err
		}
		return h.Get(ctx, nil)
	}
	state := func() workflows.View[json.RawMessage] {
		v, err := s.Client.QueryWorkflow(ctx, id, "", workflows.QueryState)
		if err != nil {
			t.Fatal(err)
		}
		var view workflows.View[json.RawMessage]
		if err := v.Get(&view); err != nil {
			t.Fatal(err)
		}
		return view
	}
	firstAhead := func() string {
		view := state()
		return view.Ahead[0].Type + " " + view.Ahead[0].Date.String()
	}
	if got, want := firstAhead(), "reimbursement.due_soon "+today.AddDays(60-15).String(); got != want {
		t.Fatalf("before: %s, want %s", got, want)
	}
	p := testPolicy()
	p.Reimbursement.DueDays = 30
	if err := update("replan-30", p); err != nil {
		t.Fatalf("a policy that reads: %v", err)
	}
	if got, want := firstAhead(), "reimbursement.due_soon "+today.AddDays(30-15).String(); got != want {
		t.Errorf("after: %s, want %s", got, want)
	}
	err := update("replan-bad", map[string]any{"reimbursement": map[string]any{"dueDays": -1}})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !strings.Contains(app.Message(), "reimbursement.dueDays") {
		t.Errorf("a policy that does not read: %v, want it refused naming reimbursement.dueDays", err)
	}
	if got, want := firstAhead(), "reimbursement.due_soon "+today.AddDays(30-15).String(); got != want {
		t.Errorf("after the refused one: %s, want %s", got, want)
	}
	// What `starter replan` sends now: the whole dated policy. The claim, submitted today, takes
	// the block in force today, the plan's own from 2026-06-01.
	book, err := rules.ParseBook([]byte(`{"blocks": [{"noticeHour": 0}, {"from": "2026-06-01", "reimbursement": {"dueDays": 45}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	data, err := rules.MarshalBook(book)
	if err != nil {
		t.Fatal(err)
	}
	if err := update("replan-book", json.RawMessage(data)); err != nil {
		t.Fatalf("a dated policy: %v", err)
	}
	if got, want := firstAhead(), "reimbursement.due_soon "+today.AddDays(45-15).String(); got != want {
		t.Errorf("after the dated policy: %s, want %s", got, want)
	}
	if got := state().PolicyFrom; got != "2026-06-01" {
		t.Errorf("policyFrom %q, want 2026-06-01", got)
	}
}
