package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/common/dynamicconfig"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/internal/reliability"
	"github.com/careclock/careclock/internal/testkit"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// ageOutEnrollment, claim and overdueClaim are internal/reliability's events with the dev
// stack's key and the tests' policy.
func ageOutEnrollment(s *stack.Stack, eventID, memberID string, today rules.Date) ([]byte, []expect) {
	return reliability.AgeOutEnrollment(s.Keyer, testPolicy(), eventID, memberID, today)
}

func claim(eventID, claimID string, submitted rules.Date) []byte {
	return reliability.Claim(eventID, claimID, submitted)
}

func overdueClaim(s *stack.Stack, eventID, claimID string, today rules.Date) ([]byte, expect) {
	return reliability.OverdueClaim(s.Keyer, eventID, claimID, today)
}

// crashAfterStart is the Temporal client of a listener that dies right after it has started a
// journey: the start succeeds, then its NATS connection is gone before it can acknowledge.
type crashAfterStart struct {
	client.Client
	nc      *nats.Conn
	crashed chan struct{}
	once    sync.Once
}

func (c *crashAfterStart) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	run, err := c.Client.ExecuteWorkflow(ctx, o, wf, args...)
	if err == nil {
		c.once.Do(func() {
			c.nc.Close()
			close(c.crashed)
		})
	}
	return run, err
}

// lockedBuffer collects log lines from the listener's goroutines.
type lockedBuffer struct{ testkit.LockedBuffer }

func (b *lockedBuffer) lines() []map[string]any {
	var out []map[string]any
	for line := range strings.Lines(string(b.Bytes())) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// Item 1: one enrollment delivered five times — twice with the same Nats-Msg-Id, three times
// with new ones, the first of them redelivered after the listener that started its journey died
// before acknowledging — starts one journey that publishes one set of notices. A claim decision
// sent twice is applied once.
func TestDuplicateDeliveries(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	if err := s.StopListener(); err != nil {
		t.Fatal(err)
	}
	const ackWait = 3 * time.Second

	// A listener that dies after starting the journey.
	nc, js, err := s.ConnectNATS(config.RoleListener)
	if err != nil {
		t.Fatal(err)
	}
	doomed := s.NewListener()
	crash := &crashAfterStart{Client: s.Client, nc: nc, crashed: make(chan struct{})}
	doomed.Temporal, doomed.JS, doomed.Metrics, doomed.AckWait = crash, js, nil, ackWait
	ctx, stopDoomed := context.WithCancel(context.Background())
	doomedDone := make(chan error, 1)
	go func() { doomedDone <- doomed.Run(ctx) }()

	body, want := ageOutEnrollment(s, "enr-dup", "M-DUP-1", today)
	subject := events.Subject(events.MemberEnrolled)
	publish(t, s.JS, subject, "enr-dup", body)
	select {
	case <-crash.crashed:
	case <-time.After(30 * time.Second):
		t.Fatal("the first listener never started the journey")
	}
	stopDoomed()
	select {
	case err := <-doomedDone:
		if err != nil {
			t.Fatalf("crashed listener: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("crashed listener did not return")
	}

	// Copies while no listener runs: the same Nats-Msg-Id (JetStream drops it), then three resends.
	if ack := publishMsg(t, s.JS, subject, "enr-dup", body); !ack.Duplicate {
		t.Fatalf("same Nats-Msg-Id stored twice: %+v", ack)
	}
	for i := range 3 {
		publish(t, s.JS, subject, fmt.Sprintf("enr-dup-resend-%d", i), body)
	}

	// A new listener gets the unacknowledged first copy again, and the resends.
	var logs lockedBuffer
	survivor := s.NewListener()
	survivor.AckWait, survivor.Log = ackWait, zerolog.New(&logs)
	s.StartListener(survivor)
	waitAcked(t, s.JS, 4)
	running(t, s, "CareclockJourney = 'ageout'", 1)
	redelivered := 0
	for _, l := range logs.lines() {
		if l["seq"] == float64(1) && l["delivery"] == float64(2) && l["outcome"] == "duplicate" {
			redelivered++
		}
	}
	if redelivered != 1 {
		t.Errorf("first copy redelivered and recognised as a duplicate %d times, want 1", redelivered)
	}
	m := scrape(t, s)
	for outcome, n := range map[string]float64{"duplicate": 4, "started": 0} {
		if got, _ := value(m, "careclock_events_consumed_total", map[string]string{"type": events.MemberEnrolled, "outcome": outcome}); got != n {
			t.Errorf("member.enrolled %s: %v, want %v", outcome, got, n)
		}
	}

	// The same claim decision twice: two signals, applied once.
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "clm-dup", claim("clm-dup", "CLM-DUP-1", today))
	waitAcked(t, s.JS, 5)
	decision := inbound("dec-dup", events.ReimbursementDecided, map[string]any{
		"claimId": "CLM-DUP-1", "decision": "approved", "decisionDate": today.String(),
	})
	publish(t, s.JS, events.Subject(events.ReimbursementDecided), "dec-dup-1", decision)
	publish(t, s.JS, events.Subject(events.ReimbursementDecided), "dec-dup-2", decision)
	waitAcked(t, s.JS, 7)
	claimID := workflows.WorkflowID(s.Keyer, workflows.JourneyReimbursement, "CLM-DUP-1")
	want = append(want, expect{WorkflowID: claimID, EventType: "reimbursement.approved", On: today, Late: false})
	if st := stateOf(t, s, claimID); st.Applied != 2 {
		t.Errorf("claim applied %d inbound events, want 2 (submitted, approved once)", st.Applied)
	}

	applied, dead := fates(t, s, 3)
	report(t, figures{
		Scenario: "duplicates: 5 copies of an enrollment (1 redelivered after a listener crash), a decision sent twice",
		Sent:     5 + 1 + 2, Distinct: 3, Applied: applied, DeadLettered: dead,
		Journey: tallyJourneys(t, s, want, time.Minute),
	})
}

// Item 2: a batch of good and bad events. Every good one starts its journey, every bad one is
// dead-lettered with its reason and its original bytes; none is dropped.
func TestMixedBatchIsStartedOrDeadLettered(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	type input struct {
		subject string
		body    []byte
		reason  string // "" for a good event
	}
	var batch []input
	good := func(eventType string, data map[string]any) {
		id := "good-" + strconv.Itoa(len(batch))
		batch = append(batch, input{events.Subject(eventType), inbound(id, eventType, data), ""})
	}
	bad := func(subject string, body []byte, reason string) { batch = append(batch, input{subject, body, reason}) }
	enrolled := func(dob string) map[string]any {
		return map[string]any{"memberId": "M-MIX-" + strconv.Itoa(len(batch)), "dateOfBirth": dob, "enrollmentDate": today.String(),
			"county": "Yolo", "countyModel": "dependent", "fullScopeMediCal": false, "ccsEligible": true}
	}
	for i := range 4 {
		good(events.ReimbursementSubmitted, map[string]any{"claimId": fmt.Sprintf("CLM-MIX-%d", i), "memberId": "M-MIX",
			"submittedDate": today.String(), "amountCents": 100 * (i + 1), "category": "meals"})
		good(events.MemberEnrolled, enrolled(today.AddYears(-10-i).String()))
		good(events.PregnancyEnded, map[string]any{"memberId": fmt.Sprintf("M-MIX-P%d", i), "pregnancyEndDate": today.AddDays(-i).String()})
		switch i {
		case 0:
			bad(events.Subject(events.MemberEnrolled), inbound("bad-future", events.MemberEnrolled, enrolled(today.AddDays(1).String())),
				"data.dateOfBirth: in the future")
		case 1:
			bad(events.Subject(events.MemberEnrolled), inbound("bad-0001", events.MemberEnrolled, enrolled("0001-01-01")),
				"data.dateOfBirth: out of range (1900-01-01 to 2199-12-31)")
		case 2:
			bad(events.Subject(events.ReimbursementSubmitted), inbound("bad-feb31", events.ReimbursementSubmitted, map[string]any{
				"claimId": "CLM-MIX-X", "memberId": "M-MIX", "submittedDate": "2026-02-31", "amountCents": 1, "category": "meals"}),
				"data.submittedDate: not a calendar date")
		case 3:
			bad("enrollment.member.enrolled", []byte("{not json"), "not JSON")
		}
	}
	bad(events.Subject(events.MemberEnrolled), inbound("bad-subject", events.PregnancyEnded,
		map[string]any{"memberId": "M-MIX-S", "pregnancyEndDate": today.String()}), "subject does not match type pregnancy.ended")
	bad("enrollment.member.teleported", inbound("bad-type", "member.teleported", map[string]any{"memberId": "M"}), "unknown type")
	bad(events.Subject(events.ReimbursementSubmitted), inbound("bad-amount", events.ReimbursementSubmitted, map[string]any{
		"claimId": "CLM-MIX-N", "memberId": "M-MIX", "submittedDate": today.String(), "amountCents": -5, "category": "meals"}),
		"data.amountCents: must not be negative")
	bad(events.Subject(events.PregnancyEnded), inbound("bad-missing", events.PregnancyEnded, map[string]any{"memberId": "M-MIX-Q"}),
		"data.pregnancyEndDate: required")
	bad(events.Subject(events.AuthorizationRequested), inbound("bad-offset", events.AuthorizationRequested, map[string]any{
		"requestId": "PA-MIX-1", "memberId": "M-MIX", "receivedAt": "2026-11-20T10:00:00", "urgency": "expedited",
		"infoComplete": true, "serviceCode": "97110"}),
		"data.receivedAt: must be an RFC 3339 timestamp with its offset, such as 2027-03-13T10:00:00-08:00")

	want := map[string]input{} // stream sequence → a bad input
	goodOnes := 0
	for i, in := range batch {
		ack := publishMsg(t, s.JS, in.subject, "mix-"+strconv.Itoa(i), in.body)
		if in.reason == "" {
			goodOnes++
		} else {
			want[strconv.FormatUint(ack.Sequence, 10)] = in
		}
	}
	badOnes := len(want)
	waitAcked(t, s.JS, uint64(len(batch)+badOnes))
	started := len(running(t, s, "CareclockJourney IS NOT NULL", goodOnes))

	// Each dead letter carries its reason and the original bytes, and names its original.
	cons, err := s.JS.OrderedConsumer(context.Background(), events.EnrollmentStream,
		jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.DeadLetterSubject}})
	if err != nil {
		t.Fatal(err)
	}
	deadLettered := 0
	for range badOnes {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		msg, err := cons.Next(jetstream.FetchContext(ctx))
		cancel()
		if err != nil {
			t.Fatalf("%d dead letters, want %d: %v", deadLettered, badOnes, err)
		}
		seq := msg.Headers().Get(events.HeaderOriginalSeq)
		in, ok := want[seq]
		if !ok {
			t.Errorf("dead letter of sequence %s, which was a good event", seq)
			continue
		}
		delete(want, seq)
		deadLettered++
		if got := msg.Headers().Get(events.HeaderReason); got != in.reason {
			t.Errorf("dead letter of %s: reason %q, want %q", in.body, got, in.reason)
		}
		if !bytes.Equal(msg.Data(), in.body) || msg.Headers().Get(events.HeaderOriginalSubject) != in.subject {
			t.Errorf("dead letter %q from %s, want the original %q from %s", msg.Data(),
				msg.Headers().Get(events.HeaderOriginalSubject), in.body, in.subject)
		}
	}
	report(t, figures{
		Scenario: fmt.Sprintf("bad input: %d good and %d bad events in one batch", goodOnes, badOnes),
		Sent:     len(batch), Distinct: len(batch), Applied: reliability.AppliedInbound(t, s.Client, len(batch)-deadLettered), DeadLettered: deadLettered,
	})
	if started != goodOnes {
		t.Errorf("%d journeys started for %d good events", started, goodOnes)
	}
}

// Item 3: NATS stops while journeys are publishing and comes back on the same store. Every
// journey event is on the stream exactly once: the publish activity retries, and JetStream drops
// a retry whose first attempt was stored (same Nats-Msg-Id).
func TestNATSRestartWhilePublishing(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	const members = 30
	var want []expect
	for i := range members {
		body, w := ageOutEnrollment(s, fmt.Sprintf("enr-%d", i), fmt.Sprintf("M-NATS-%d", i), today)
		publish(t, s.JS, events.Subject(events.MemberEnrolled), fmt.Sprintf("enr-%d", i), body)
		want = append(want, w...)
	}
	// Stop NATS as soon as publishing has begun.
	var before uint64
	deadline := time.Now().Add(time.Minute)
	for before < 5 {
		info, err := streamInfo(t, s, events.JourneyStream)
		if err != nil {
			t.Fatal(err)
		}
		before = info.State.Msgs
		if time.Now().After(deadline) {
			t.Fatalf("journeys did not start publishing: %d events", before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.StopNATS()
	t.Logf("NATS stopped with %d of %d journey events stored", before, len(want))
	if before >= uint64(len(want)) {
		t.Fatalf("every journey event was published before NATS stopped; the test needs more journeys")
	}
	time.Sleep(3 * time.Second)
	if err := s.StartNATS(); err != nil {
		t.Fatal(err)
	}
	tally := tallyJourneys(t, s, want, 2*time.Minute)
	waitAcked(t, s.JS, members)
	retried := 0
	for i := range members {
		retried += publishRetries(t, s, workflows.WorkflowID(s.Keyer, workflows.JourneyAgeOut, fmt.Sprintf("M-NATS-%d", i)))
	}
	applied, dead := fates(t, s, members)
	report(t, figures{
		Scenario: fmt.Sprintf("NATS restart: stopped for 3 s with %d of %d journey events published (%d publish attempts retried)", before, len(want), retried),
		Sent:     members, Distinct: members, Applied: applied, DeadLettered: dead,
		Journey: tally,
	})
}

// proxy forwards TCP connections to a target until it is cut: the network between a process and
// Temporal, so that a test can make the process vanish without a word to the server.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	cut    bool
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			if !p.track(in, out) {
				return
			}
			go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
	t.Cleanup(p.Cut)
	return p
}

func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	p.conns = append(p.conns, conns...)
	return true
}

func (p *proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes the listener and every connection through it.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	_ = p.ln.Close()
	for _, c := range p.conns {
		_ = c.Close()
	}
}

// Item 4: the worker dies in the middle of publishing a journey event, and more events arrive
// while no worker runs. A new worker publishes each one once: the one that was in flight after
// its activity's timeout, the others at once — late when their date has passed.
func TestWorkerCrashMidJourney(t *testing.T) {
	// The interrupted event is published by the publish activity's second attempt, after its
	// 30 s start-to-close timeout.
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	s.StopWorker()

	// A worker whose publish hangs, reaching Temporal through a connection the test can cut.
	p := startProxy(t, s.Temporal.HostPort())
	opts := client.Options{HostPort: p.Addr(), Namespace: s.Temporal.Namespace(), Logger: quietSDK{}}
	connect.Encrypt(&opts, s.Keyring)
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	doomed := worker.New(c, "careclock-test", worker.Options{PreferredVersionProvider: workflows.PreferVersions()})
	workflows.Register(doomed)
	inFlight := make(chan string, 16)
	doomed.RegisterActivityWithOptions(func(ctx context.Context, ev events.JourneyEvent) error {
		inFlight <- ev.ID
		<-ctx.Done() // the process dies before it publishes
		return ctx.Err()
	}, activity.RegisterOptions{Name: "Publish"})
	if err := doomed.Start(); err != nil {
		t.Fatal(err)
	}

	body, first := overdueClaim(s, "clm-1", "CLM-CRASH-1", today)
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "clm-1", body)
	select {
	case id := <-inFlight:
		t.Logf("worker killed while publishing %s", id)
	case <-time.After(30 * time.Second):
		t.Fatal("the doomed worker never started publishing")
	}
	p.Cut()
	stopped := make(chan struct{})
	go func() { doomed.Stop(); c.Close(); close(stopped) }()
	t.Cleanup(func() { <-stopped })

	// While no worker runs: a claim due yesterday (overdue today, on time) and an enrollment
	// whose notices are all past due.
	due := workflows.WorkflowID(s.Keyer, workflows.JourneyReimbursement, "CLM-CRASH-2")
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "clm-2", claim("clm-2", "CLM-CRASH-2", today.AddDays(-61)))
	enrollment, notices := ageOutEnrollment(s, "enr-1", "M-CRASH-3", today)
	publish(t, s.JS, events.Subject(events.MemberEnrolled), "enr-1", enrollment)
	waitAcked(t, s.JS, 3)
	time.Sleep(2 * time.Second)
	if info, err := streamInfo(t, s, events.JourneyStream); err != nil || info.State.Msgs != 0 {
		t.Fatalf("journey events while no worker ran: %v %v", info.State.Msgs, err)
	}

	if err := s.StartWorker(); err != nil {
		t.Fatal(err)
	}
	want := append([]expect{first, {WorkflowID: due, EventType: "reimbursement.overdue", On: today, Late: false}}, notices...)
	tally := tallyJourneys(t, s, want, 90*time.Second)
	if got, want := publications(t, s, first.WorkflowID), []publication{{attempt: 2}}; !slices.Equal(got, want) {
		t.Errorf("the interrupted journey's history records publications %+v, want %+v", got, want)
	}
	applied, dead := fates(t, s, 3)
	report(t, figures{
		Scenario: "worker crash: killed while publishing, 2 events arrive while no worker runs",
		Sent:     3, Distinct: 3, Applied: applied, DeadLettered: dead,
		Journey: tally,
	})
}

// publication is one attempt at publishing a journey event that a journey's history records:
// by local activity (a marker) or through the publish activity.
type publication struct {
	local   bool
	attempt int32
	failed  bool
}

// publications lists the publications a journey's history records, in order: each local
// activity marker with its attempt, and each start of the publish activity.
func publications(t *testing.T, s *stack.Stack, workflowID string) []publication {
	t.Helper()
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), privacy.Codec{Keys: s.Keyring})
	var out []publication
	for _, ev := range runHistory(t, s, workflowID, "").GetEvents() {
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			out = append(out, publication{attempt: a.GetAttempt()})
		}
		if m := ev.GetMarkerRecordedEventAttributes(); m != nil && m.GetMarkerName() == "LocalActivity" {
			var data struct{ Attempt int32 }
			if err := dc.FromPayloads(m.GetDetails()["data"], &data); err != nil {
				t.Fatalf("local activity marker of %s: %v", workflowID, err)
			}
			out = append(out, publication{local: true, attempt: data.Attempt, failed: m.GetFailure() != nil})
		}
	}
	return out
}

// publishRetries counts the publish attempts beyond the first in a journey's history.
func publishRetries(t *testing.T, s *stack.Stack, workflowID string) int {
	t.Helper()
	n := 0
	for _, p := range publications(t, s, workflowID) {
		n += int(p.attempt) - 1
	}
	return n
}

// pendingTimer is when a journey's unfired timer is due, from its history.
func pendingTimer(t *testing.T, s *stack.Stack, workflowID string) time.Time {
	t.Helper()
	timers := map[string]time.Time{}
	for _, ev := range runHistory(t, s, workflowID, "").GetEvents() {
		if a := ev.GetTimerStartedEventAttributes(); a != nil {
			timers[a.GetTimerId()] = ev.GetEventTime().AsTime().Add(a.GetStartToFireTimeout().AsDuration())
		}
		if a := ev.GetTimerFiredEventAttributes(); a != nil {
			delete(timers, a.GetTimerId())
		}
		if a := ev.GetTimerCanceledEventAttributes(); a != nil {
			delete(timers, a.GetTimerId())
		}
	}
	if len(timers) != 1 {
		t.Fatalf("%s has %d pending timers, want 1", workflowID, len(timers))
	}
	for _, at := range timers {
		return at
	}
	return time.Time{}
}

// waitJourneyEvents waits until the journey stream holds n events.
func waitJourneyEvents(t *testing.T, s *stack.Stack, n uint64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		info, err := streamInfo(t, s, events.JourneyStream)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d journey events, want %d", info.State.Msgs, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Item 5: the Temporal server stops and starts again on the same SQLite file. Open journeys are
// still waiting for the same next event, with their timers due at the same instant, and go on:
// a payment closes one, a new claim publishes its overdue notice.
func TestTemporalRestartKeepsSchedules(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	fresh := workflows.WorkflowID(s.Keyer, workflows.JourneyReimbursement, "CLM-RS-1")
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "clm-1", claim("clm-1", "CLM-RS-1", today))
	body, overdue := overdueClaim(s, "clm-2", "CLM-RS-2", today)
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "clm-2", body)
	enrollment, notices := ageOutEnrollment(s, "enr-1", "M-RS-3", today)
	publish(t, s.JS, events.Subject(events.MemberEnrolled), "enr-1", enrollment)
	waitAcked(t, s.JS, 3)
	waitJourneyEvents(t, s, uint64(1+len(notices)))

	ids := []string{fresh, overdue.WorkflowID, notices[0].WorkflowID}
	before := map[string]journeyState{}
	for _, id := range ids {
		before[id] = stateOf(t, s, id)
	}

	if err := s.StopTemporal(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := s.StartTemporal(); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	for {
		resp, err := s.Client.DescribeTaskQueue(context.Background(), "careclock-test", enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil && len(resp.GetPollers()) > 0 {
			t.Logf("pollers back after %s: %d", time.Since(start), len(resp.GetPollers()))
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("no pollers: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, id := range ids {
		was, now := before[id], stateOf(t, s, id)
		if was.Next == nil || now.Next == nil || *was.Next != *now.Next || len(now.Published) != len(was.Published) || now.Status != was.Status {
			t.Errorf("%s: before the restart %+v, after %+v", id, was, now)
			continue
		}
		if at := pendingTimer(t, s, id); at.Sub(now.Next.At).Abs() > 5*time.Second {
			t.Errorf("%s: timer due %s, want %s (%s)", id, at, now.Next.At, now.Next.Type)
		}
	}
	publish(t, s.JS, events.Subject(events.ReimbursementPaid), "paid-1", inbound("paid-1", events.ReimbursementPaid,
		map[string]any{"claimId": "CLM-RS-1", "paidDate": today.String()}))
	body, overdue4 := overdueClaim(s, "clm-4", "CLM-RS-4", today)
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "clm-4", body)
	waitAcked(t, s.JS, 5)
	want := append([]expect{overdue, overdue4, {WorkflowID: fresh, EventType: "reimbursement.closed", On: today, Late: false}}, notices...)
	applied, dead := fates(t, s, 5)
	report(t, figures{
		Scenario: "Temporal restart: 3 journeys open, then a payment and a new claim",
		Sent:     5, Distinct: 5, Applied: applied, DeadLettered: dead,
		Journey: tallyJourneys(t, s, want, time.Minute),
	})
}

// Item 6: Temporal is unreachable while events arrive. The listener acknowledges none of those
// it needs Temporal for (only a bad one, dead-lettered without it), retries, and applies every
// one once Temporal is back.
func TestListenerWaitsForTemporal(t *testing.T) {
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	if err := s.StopListener(); err != nil {
		t.Fatal(err)
	}
	l := s.NewListener()
	l.AckWait = 6 * time.Second // gives up on a start after 5 s, so that it retries during the outage
	s.StartListener(l)
	open := workflows.WorkflowID(s.Keyer, workflows.JourneyReimbursement, "CLM-TU-0")
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "clm-0", claim("clm-0", "CLM-TU-0", today))
	waitAcked(t, s.JS, 1)

	if err := s.StopTemporal(); err != nil {
		t.Fatal(err)
	}
	var want []expect
	for i := range 4 {
		id := fmt.Sprintf("clm-%d", i+1)
		body, w := overdueClaim(s, id, fmt.Sprintf("CLM-TU-%d", i+1), today)
		publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), id, body)
		want = append(want, w)
	}
	publish(t, s.JS, events.Subject(events.ReimbursementDecided), "dec-0", inbound("dec-0", events.ReimbursementDecided,
		map[string]any{"claimId": "CLM-TU-0", "decision": "approved", "decisionDate": today.String()}))
	want = append(want, expect{WorkflowID: open, EventType: "reimbursement.approved", On: today, Late: false})
	publish(t, s.JS, "enrollment.member.enrolled", "garbage", []byte("{not json"))

	time.Sleep(12 * time.Second)
	cons, err := s.JS.Consumer(context.Background(), events.EnrollmentStream, "careclock-listener")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream != 1 || info.NumAckPending+int(info.NumPending) < 5 {
		t.Errorf("while Temporal was down: ack floor %d, %d pending acknowledgement, %d not delivered; want floor 1 and the 5 events unacknowledged",
			info.AckFloor.Stream, info.NumAckPending, info.NumPending)
	}
	if js, err := streamInfo(t, s, events.JourneyStream); err != nil || js.State.Msgs != 0 {
		t.Errorf("journey events while Temporal was down: %v", err)
	}
	m := scrape(t, s)
	var retried float64
	for _, typ := range []string{events.ReimbursementSubmitted, events.ReimbursementDecided} {
		n, _ := value(m, "careclock_events_consumed_total", map[string]string{"type": typ, "outcome": "retried"})
		retried += n
	}
	t.Logf("while Temporal was down for 12 s: %v deliveries not applied and left for redelivery", retried)
	if retried == 0 {
		t.Error("no delivery was retried while Temporal was down")
	}

	if err := s.StartTemporal(); err != nil {
		t.Fatal(err)
	}
	waitAcked(t, s.JS, 8) // 7 inbound and a dead letter
	applied, dead := fates(t, s, 7)
	report(t, figures{
		Scenario: fmt.Sprintf("Temporal unreachable for 12 s while 6 events arrive (%v deliveries retried)", retried),
		Sent:     7, Distinct: 7, Applied: applied, DeadLettered: dead,
		Journey: tallyJourneys(t, s, want, time.Minute),
	})
}

// quietSDK drops the SDK's logs of the doomed worker, which fill the output with failed polls.
type quietSDK struct{}

func (quietSDK) Debug(string, ...any) {}
func (quietSDK) Info(string, ...any)  {}
func (quietSDK) Warn(string, ...any)  {}
func (quietSDK) Error(string, ...any) {}

// Item 7: a journey continues as new — here because the server suggests it after 10 history
// events instead of thousands — with everything it has applied and published. A decision
// delivered again after the new run began is still recognised, and nothing is published twice.
// With -record, both runs' histories are saved for the replay test.
func TestContinueAsNewKeepsState(t *testing.T) {
	s := startStack(t, func(o *stack.Options) {
		o.TemporalDynamicConfig = dynamicconfig.StaticClient{
			dynamicconfig.HistoryCountSuggestContinueAsNew.Key(): []dynamicconfig.ConstrainedValue{{Value: 10}},
		}
		if *record {
			recordingKey(o)
		}
	})
	today := testPolicy().Today(time.Now())
	id := workflows.WorkflowID(s.Keyer, workflows.JourneyReimbursement, "CLM-CAN-1")
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "clm-1", claim("clm-1", "CLM-CAN-1", today.AddDays(-20)))
	waitAcked(t, s.JS, 1)
	decision := inbound("dec-1", events.ReimbursementDecided, map[string]any{
		"claimId": "CLM-CAN-1", "decision": "approved", "decisionDate": today.String(),
	})
	publish(t, s.JS, events.Subject(events.ReimbursementDecided), "dec-1", decision)
	waitAcked(t, s.JS, 2)
	runs := waitRuns(t, s, id, 2)

	publish(t, s.JS, events.Subject(events.ReimbursementDecided), "dec-1-again", decision)
	publish(t, s.JS, events.Subject(events.ReimbursementPaid), "paid-1", inbound("paid-1", events.ReimbursementPaid,
		map[string]any{"claimId": "CLM-CAN-1", "paidDate": today.String()}))
	waitAcked(t, s.JS, 4)
	final := closedHistory(t, s, id)
	if st := stateOf(t, s, id); st.Applied != 3 || st.Status != workflows.StatusClosed {
		t.Errorf("after continue-as-new: applied %d (want 3: submitted, approved, paid), status %s", st.Applied, st.Status)
	}
	applied, dead := fates(t, s, 3)
	report(t, figures{
		Scenario: "continue-as-new between a decision and its second delivery",
		Sent:     4, Distinct: 3, Applied: applied, DeadLettered: dead,
		Journey: tallyJourneys(t, s, []expect{
			{WorkflowID: id, EventType: "reimbursement.approved", On: today}, {WorkflowID: id, EventType: "reimbursement.closed", On: today},
		}, time.Minute),
	})

	if *record {
		first := runHistory(t, s, id, runs[len(runs)-1])
		if last := first.GetEvents()[len(first.GetEvents())-1].GetEventType(); last != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW {
			t.Fatalf("first run ended with %s", last)
		}
		saveHistory(t, "reimbursement-continued-as-new.json", first)
		saveHistory(t, "reimbursement-after-continue-as-new.json", final)
	}
}

// waitRuns waits until a workflow id has at least n runs, and returns their run ids, newest first.
func waitRuns(t *testing.T, s *stack.Stack, workflowID string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := s.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.Temporal.Namespace(), Query: "WorkflowId = '" + workflowID + "'",
		})
		if err != nil {
			t.Fatal(err)
		}
		var runs []string
		for _, e := range resp.GetExecutions() {
			runs = append(runs, e.GetExecution().GetRunId())
		}
		if len(runs) >= n {
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d runs, want %d", workflowID, len(runs), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
