package listener

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/internal/testkit"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

var testKeyer = func() privacy.Keyer {
	k, err := privacy.NewKeyer([]byte("careclock-listener-test-key-32-bytes"))
	if err != nil {
		panic(err)
	}
	return k
}()

// harness is a listener on an in-process JetStream with a fake Temporal.
type harness struct {
	t        *testing.T
	js       jetstream.JetStream
	temporal *fakeTemporal
	logs     *logBuffer
	l        *Listener
	stop     func()
}

// line is one log line of the listener, as the fields the tests read.
type line struct {
	Seq      uint64  `json:"seq"`
	Delivery uint64  `json:"delivery"`
	Outcome  string  `json:"outcome"`
	Type     string  `json:"type"`
	Reason   string  `json:"reason"`
	RetryIn  float64 `json:"retry_in"` // milliseconds
	Message  string  `json:"message"`
	Error    string  `json:"error"`
	raw      json.RawMessage
}

// logBuffer holds the listener's log lines.
type logBuffer struct{ testkit.LockedBuffer }

func (b *logBuffer) lines() []line {
	var out []line
	sc := bufio.NewScanner(bytes.NewReader(b.Bytes()))
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err == nil {
			l.raw = append(json.RawMessage(nil), sc.Bytes()...)
			out = append(out, l)
		}
	}
	return out
}

func newHarness(t *testing.T, set func(*Listener)) *harness {
	t.Helper()
	js := testkit.JetStream(t, testkit.StartNATS(t))
	if err := events.EnsureStreams(context.Background(), js, events.StreamSettings{Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, js: js, temporal: newFakeTemporal(), logs: &logBuffer{}}
	h.l = &Listener{
		Temporal: h.temporal, JS: js, Keyer: testKeyer, Policies: rules.DefaultBook(), TaskQueue: "careclock",
		Consumer: "listener", Log: zerolog.New(h.logs).Level(zerolog.DebugLevel),
		RetryDelay: 20 * time.Millisecond,
	}
	if set != nil {
		set(h.l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.l.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("listener: %v", err)
			}
		})
	}
	t.Cleanup(h.stop)
	return h
}

// publish stores an inbound event under a Nats-Msg-Id and returns its stream sequence.
func (h *harness) publish(subject, msgID string, body []byte) uint64 {
	h.t.Helper()
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	ack, err := h.js.PublishMsg(context.Background(), msg)
	if err != nil {
		h.t.Fatalf("publish %s: %v", subject, err)
	}
	return ack.Sequence
}

// send publishes a CloudEvent of eventType with id as its event id and Nats-Msg-Id.
func (h *harness) send(id, eventType string, data map[string]any) uint64 {
	h.t.Helper()
	return h.publish(events.Subject(eventType), id, inbound(id, eventType, data))
}

func inbound(id, eventType string, data map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"specversion": "1.0", "id": id, "source": "urn:test", "type": eventType, "data": data})
	if err != nil {
		panic(err)
	}
	return b
}

// outcomes are the outcomes logged for a stream sequence, in order.
func (h *harness) outcomes(seq uint64) []string {
	var out []string
	for _, l := range h.logs.lines() {
		if l.Seq == seq && l.Outcome != "" {
			out = append(out, l.Outcome)
		}
	}
	return out
}

// settled waits until seq has a final outcome (anything but retried) and returns it with its
// log line.
func (h *harness) settled(seq uint64, within time.Duration) (string, line) {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, l := range h.logs.lines() {
			if l.Seq == seq && l.Outcome != "" && l.Outcome != OutcomeRetried {
				return l.Outcome, l
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("event %d not settled within %s; outcomes %v", seq, within, h.outcomes(seq))
	return "", line{}
}

// waitFor polls cond until it holds.
func (h *harness) waitFor(what string, within time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// deadLetter is one message on enrollment.deadletter.
type deadLetter struct {
	reason, subject, seq string
	data                 []byte
}

func (h *harness) deadLetters() []deadLetter {
	h.t.Helper()
	ctx := context.Background()
	cons, err := h.js.OrderedConsumer(ctx, events.EnrollmentStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.DeadLetterSubject},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(1000)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []deadLetter
	for m := range batch.Messages() {
		out = append(out, deadLetter{
			reason: m.Headers().Get(events.HeaderReason), subject: m.Headers().Get(events.HeaderOriginalSubject),
			seq: m.Headers().Get(events.HeaderOriginalSeq), data: m.Data(),
		})
	}
	return out
}

func claimData(claimID, submitted string) map[string]any {
	return map[string]any{
		"claimId": claimID, "memberId": "M-" + claimID, "submittedDate": submitted, "amountCents": 1500, "category": "mileage",
	}
}

func claimID(claim string) string {
	return workflows.WorkflowID(testKeyer, workflows.JourneyReimbursement, claim)
}

func today() string { return rules.DefaultPolicy().Today(time.Now()).String() }

// Every outcome of one event, each with the exact log outcome, the journeys it reached and the
// dead letters it left.
func TestEveryOutcome(t *testing.T) {
	h := newHarness(t, nil)
	started := h.send("e-1", events.ReimbursementSubmitted, claimData("CLM-1", today()))
	duplicate := h.send("e-2", events.ReimbursementSubmitted, claimData("CLM-1", today()))
	signalled := h.send("e-3", events.ReimbursementPaid, map[string]any{"claimId": "CLM-1", "paidDate": today()})
	noEffect := h.send("e-4", events.MemberEnrolled, map[string]any{
		"memberId": "M-4", "dateOfBirth": "2015-01-01", "enrollmentDate": today(), "county": "Yolo",
		"countyModel": "independent", "fullScopeMediCal": true, "ccsEligible": false,
	})
	notJSON := h.publish("enrollment.reimbursement.paid", "bad-1", []byte("M-100234 paid"))
	wrongSubject := h.publish("enrollment.reimbursement.paid", "bad-2",
		inbound("e-5", events.ReimbursementSubmitted, claimData("CLM-5", today())))
	missing := h.send("e-6", events.ReimbursementSubmitted, map[string]any{"claimId": "CLM-6"})
	badDate := h.send("e-7", events.ReimbursementPaid, map[string]any{"claimId": "CLM-1", "paidDate": "2026-02-30"})
	unknownType := h.publish("enrollment.member.moved", "bad-3", inbound("e-8", "member.moved", map[string]any{"memberId": "M-8"}))

	want := map[uint64]string{
		started: OutcomeStarted, duplicate: OutcomeDuplicate, signalled: OutcomeSignalled, noEffect: OutcomeNoEffect,
		notJSON: OutcomeDeadLettered, wrongSubject: OutcomeDeadLettered, missing: OutcomeDeadLettered,
		badDate: OutcomeDeadLettered, unknownType: OutcomeDeadLettered,
	}
	for _, seq := range slices.Sorted(func(yield func(uint64) bool) {
		for s := range want {
			if !yield(s) {
				return
			}
		}
	}) {
		if got, _ := h.settled(seq, 10*time.Second); got != want[seq] {
			t.Errorf("event %d: %s, want %s", seq, got, want[seq])
		}
	}
	// A dead letter's log line carries the type its metric is labelled with: "unknown" for a type
	// careclock does not know or an event it cannot read, never what the producer wrote.
	for seq, label := range map[uint64]string{
		started: events.ReimbursementSubmitted, notJSON: events.ReimbursementPaid, unknownType: "unknown",
		badDate: events.ReimbursementPaid,
	} {
		if _, l := h.settled(seq, time.Second); l.Type != label {
			t.Errorf("event %d logged with type %q, want the metric's label %q", seq, l.Type, label)
		}
	}
	runs, applied := h.temporal.runsOf(claimID("CLM-1"))
	if runs != 1 || !slices.Equal(applied, []string{"e-1", "e-3"}) {
		t.Errorf("CLM-1: %d runs, applied %v; want 1 run that applied e-1 and e-3", runs, applied)
	}

	dls := h.deadLetters()
	reasons := map[string]string{}
	for _, d := range dls {
		reasons[d.seq] = d.reason
	}
	for seq, reason := range map[uint64]string{
		notJSON: "not JSON", wrongSubject: "subject does not match type reimbursement.submitted",
		missing: "memberId", badDate: "paidDate", unknownType: "unknown type",
	} {
		got := reasons[fmt.Sprint(seq)]
		if !strings.Contains(got, reason) {
			t.Errorf("dead letter of event %d: reason %q, want it to mention %q", seq, got, reason)
		}
		if strings.Contains(got, "M-100234") || strings.Contains(got, "2026-02-30") {
			t.Errorf("dead letter reason %q carries a value", got)
		}
	}
	if len(dls) != 5 {
		t.Errorf("%d dead letters, want 5", len(dls))
	}
	for _, d := range dls {
		if d.seq == fmt.Sprint(notJSON) && string(d.data) != "M-100234 paid" {
			t.Errorf("dead letter keeps %q, want the original bytes", d.data)
		}
	}
	// The dead letters share the stream: the listener passes them by.
	last, _ := h.js.Stream(context.Background(), events.EnrollmentStream)
	info, err := last.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := h.settled(info.State.LastSeq, 10*time.Second); got != OutcomeIgnored {
		t.Errorf("a dead letter passing by: %s, want %s", got, OutcomeIgnored)
	}
}

// Poison events among valid ones: each is dead-lettered once with its reason, none is retried
// for ever, and every valid event around them is applied.
func TestPoisonEventsAreDeadLetteredAndIngestGoesOn(t *testing.T) {
	h := newHarness(t, func(l *Listener) { l.MaxEventBytes = 4096; l.MaxIDLength = 64 })
	h.temporal.refuse[claimID("CLM-REFUSED")] = true
	poison := map[uint64]string{}
	var valid []uint64
	for i := range 20 {
		valid = append(valid, h.send(fmt.Sprintf("ok-%d", i), events.ReimbursementSubmitted, claimData(fmt.Sprintf("CLM-%d", i), today())))
		switch i % 5 {
		case 0:
			big := claimData(fmt.Sprintf("CLM-BIG-%d", i), today())
			big["note"] = strings.Repeat("x", 8192)
			poison[h.send(fmt.Sprintf("big-%d", i), events.ReimbursementSubmitted, big)] = "event of 8"
		case 1:
			id := fmt.Sprintf("%s%03d", strings.Repeat("i", 97), i)
			poison[h.publish(events.Subject(events.ReimbursementSubmitted), fmt.Sprintf("long-%d", i),
				inbound(id, events.ReimbursementSubmitted, claimData(fmt.Sprintf("CLM-LONG-%d", i), today())))] = "id of 100 bytes; the limit is 64 (CARECLOCK_MAX_ID_LENGTH)"
		case 2:
			poison[h.send(fmt.Sprintf("far-%d", i), events.AuthorizationRequested, map[string]any{
				"requestId": fmt.Sprintf("PA-%d", i), "memberId": "M-1", "receivedAt": "9999-12-31T00:00:00Z",
				"urgency": "standard", "infoComplete": true, "serviceCode": "97110",
			})] = "data.receivedAt: out of range (1900-01-01 to 2199-12-31)"
		case 3:
			poison[h.send(fmt.Sprintf("refused-%d", i), events.ReimbursementSubmitted, claimData("CLM-REFUSED", today()))] =
				"refused by Temporal as invalid (tried 4 times): InvalidArgument"
		}
	}
	for _, seq := range valid {
		if got, _ := h.settled(seq, 10*time.Second); got != OutcomeStarted {
			t.Errorf("valid event %d: %s, want started", seq, got)
		}
	}
	for seq := range poison {
		if got, _ := h.settled(seq, 10*time.Second); got != OutcomeDeadLettered {
			t.Errorf("poison event %d: %s, want dead_lettered", seq, got)
		}
		all := h.outcomes(seq)
		switch {
		case strings.HasPrefix(poison[seq], "refused by Temporal"):
			// Tried again a few times first (and held behind the earlier refusals of its
			// journey, which all these share).
			if len(all) < invalidAttempts || all[len(all)-1] != OutcomeDeadLettered {
				t.Errorf("poison event %d: outcomes %v, want %d or more ending dead_lettered", seq, all, invalidAttempts)
			}
		case len(all) != 1:
			t.Errorf("poison event %d: outcomes %v, want dead_lettered at the first delivery", seq, all)
		}
	}
	dls := h.deadLetters()
	if len(dls) != len(poison) {
		t.Errorf("%d dead letters, want %d", len(dls), len(poison))
	}
	for _, d := range dls {
		var seq uint64
		fmt.Sscan(d.seq, &seq)
		if want := poison[seq]; !strings.HasPrefix(d.reason, want) {
			t.Errorf("dead letter of %d: reason %q, want %q", seq, d.reason, want)
		}
		if len(d.data) < 100 {
			t.Errorf("dead letter of %d keeps %d bytes, want the whole original", seq, len(d.data))
		}
	}
}

// While Temporal is unreachable an event is retried with doubling delays, then applied once.
func TestRetriedWithBackoffWhileTemporalIsDown(t *testing.T) {
	h := newHarness(t, nil)
	h.temporal.setDown(serviceerror.NewUnavailable("connection refused"))
	seq := h.send("e-1", events.ReimbursementSubmitted, claimData("CLM-1", today()))
	h.waitFor("4 retries", 10*time.Second, func() bool { return len(h.outcomes(seq)) >= 4 })
	h.temporal.setDown(nil)
	if got, _ := h.settled(seq, 10*time.Second); got != OutcomeStarted {
		t.Fatalf("after the outage: %s, want started", got)
	}
	var delays []float64
	for _, l := range h.logs.lines() {
		if l.Seq == seq && l.Outcome == OutcomeRetried {
			delays = append(delays, l.RetryIn)
		}
	}
	if !slices.Equal(delays[:4], []float64{20, 40, 80, 160}) {
		t.Errorf("retry delays %v ms, want 20, 40, 80, 160 …", delays)
	}
	if runs, _ := h.temporal.runsOf(claimID("CLM-1")); runs != 1 {
		t.Errorf("%d runs, want 1", runs)
	}
}

// An event for a journey that does not exist is tried NotFoundAttempts times, then
// dead-lettered with the reason.
func TestNotFoundIsRetriedThenDeadLettered(t *testing.T) {
	h := newHarness(t, func(l *Listener) { l.NotFoundAttempts = 3 })
	seq := h.send("e-1", events.ReimbursementPaid, map[string]any{"claimId": "CLM-NONE", "paidDate": today()})
	got, line := h.settled(seq, 10*time.Second)
	if got != OutcomeDeadLettered || line.Reason != "no open journey for this event (tried 3 times)" {
		t.Fatalf("%s %q, want dead_lettered after 3 tries", got, line.Reason)
	}
	if all := h.outcomes(seq); !slices.Equal(all, []string{OutcomeRetried, OutcomeRetried, OutcomeDeadLettered}) {
		t.Errorf("outcomes %v, want retried twice, then dead_lettered", all)
	}
	dls := h.deadLetters()
	if len(dls) != 1 || dls[0].seq != fmt.Sprint(seq) || dls[0].subject != "enrollment.reimbursement.paid" {
		t.Errorf("dead letters %+v, want one for event %d", dls, seq)
	}
}

// After an outage longer than the budget (more deliveries than NotFoundAttempts refused because
// Temporal was down), an event whose journey is not started yet is still retried until its
// start arrives: deliveries are not not-found attempts.
func TestAnOutageDoesNotUseUpTheNotFoundBudget(t *testing.T) {
	h := newHarness(t, func(l *Listener) { l.NotFoundAttempts = 3 })
	h.temporal.setDown(serviceerror.NewUnavailable("connection refused"))
	paid := h.send("e-paid", events.ReimbursementPaid, map[string]any{"claimId": "CLM-1", "paidDate": today()})
	h.waitFor("6 deliveries during the outage", 20*time.Second, func() bool { return len(h.outcomes(paid)) >= 6 })
	h.temporal.setDown(nil)
	// The first attempt after the outage finds no journey: retried, not dead-lettered.
	h.waitFor("a not-found attempt", 20*time.Second, func() bool {
		return slices.ContainsFunc(h.logs.lines(), func(l line) bool {
			return l.Seq == paid && strings.Contains(l.Error, "no open journey yet (attempt 1)")
		})
	})
	start := h.send("e-sub", events.ReimbursementSubmitted, claimData("CLM-1", today()))
	if got, _ := h.settled(start, 10*time.Second); got != OutcomeStarted {
		t.Fatalf("start: %s", got)
	}
	if got, l := h.settled(paid, 20*time.Second); got != OutcomeSignalled {
		t.Fatalf("paid after the outage: %s %q, want signalled", got, l.Reason)
	}
	if _, applied := h.temporal.runsOf(claimID("CLM-1")); !slices.Equal(applied, []string{"e-sub", "e-paid"}) {
		t.Errorf("applied %v", applied)
	}
	if dls := h.deadLetters(); len(dls) != 0 {
		t.Errorf("dead letters %+v, want none", dls)
	}
}

// A start that fails at first and its two signals behind it: the signals wait for the start and
// are applied after it, in stream order, each once.
func TestAStartAndItsSignalsKeepTheirOrderUnderRedelivery(t *testing.T) {
	h := newHarness(t, nil)
	id := claimID("CLM-1")
	h.temporal.failStarts[id] = 3
	start := h.send("e-sub", events.ReimbursementSubmitted, claimData("CLM-1", today()))
	decided := h.send("e-dec", events.ReimbursementDecided, map[string]any{"claimId": "CLM-1", "decision": "approved", "decisionDate": today()})
	paid := h.send("e-paid", events.ReimbursementPaid, map[string]any{"claimId": "CLM-1", "paidDate": today()})
	for seq, want := range map[uint64]string{start: OutcomeStarted, decided: OutcomeSignalled, paid: OutcomeSignalled} {
		if got, _ := h.settled(seq, 15*time.Second); got != want {
			t.Errorf("event %d: %s, want %s", seq, got, want)
		}
	}
	if got, want := h.temporal.journeyLog(), []string{"start " + id, "signal " + id + " e-dec", "signal " + id + " e-paid"}; !slices.Equal(got, want) {
		t.Errorf("calls that reached the journey:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if n := len(h.outcomes(start)); n != 4 {
		t.Errorf("start: %d outcomes, want 3 retries and started", n)
	}
}

// A signal that fails at first holds back the later signals of its journey: a decision retried
// is still applied before the payment that followed it.
func TestARetriedSignalHoldsBackTheLaterOnes(t *testing.T) {
	h := newHarness(t, nil)
	id := claimID("CLM-1")
	start := h.send("e-sub", events.ReimbursementSubmitted, claimData("CLM-1", today()))
	if got, _ := h.settled(start, 10*time.Second); got != OutcomeStarted {
		t.Fatalf("start: %s", got)
	}
	h.temporal.failSignals["e-dec"] = 3
	decided := h.send("e-dec", events.ReimbursementDecided, map[string]any{"claimId": "CLM-1", "decision": "approved", "decisionDate": today()})
	paid := h.send("e-paid", events.ReimbursementPaid, map[string]any{"claimId": "CLM-1", "paidDate": today()})
	for _, seq := range []uint64{decided, paid} {
		if got, _ := h.settled(seq, 15*time.Second); got != OutcomeSignalled {
			t.Errorf("event %d: %s, want signalled", seq, got)
		}
	}
	if _, applied := h.temporal.runsOf(id); !slices.Equal(applied, []string{"e-sub", "e-dec", "e-paid"}) {
		t.Errorf("applied %v, want the start, the decision, then the payment", applied)
	}
	if n := len(h.outcomes(paid)); n < 2 {
		t.Errorf("the payment was never held back: outcomes %v", h.outcomes(paid))
	}
}

// One journey whose Temporal calls hang, with 200 more events queued behind it, delays no other
// journey: with two events applied at once, 20 other journeys all start while it hangs. (With a
// queue per worker and journeys hashed onto them, half of them waited behind the hung one.)
func TestASlowJourneyDoesNotDelayTheOthers(t *testing.T) {
	h := newHarness(t, func(l *Listener) { l.Concurrency = 2 })
	slow := claimID("CLM-SLOW")
	gate := make(chan struct{})
	var release sync.Once
	open := func() { release.Do(func() { close(gate) }) }
	t.Cleanup(open) // before the listener stops, should the test fail first
	h.temporal.gates[slow] = gate
	h.send("slow-start", events.ReimbursementSubmitted, claimData("CLM-SLOW", today()))
	var behind []uint64
	for i := range 200 {
		behind = append(behind, h.send(fmt.Sprintf("slow-%d", i), events.ReimbursementResubmitted,
			map[string]any{"claimId": "CLM-SLOW", "submittedDate": today()}))
	}
	var others []uint64
	for i := range 20 {
		others = append(others, h.send(fmt.Sprintf("other-%d", i), events.ReimbursementSubmitted, claimData(fmt.Sprintf("CLM-OTHER-%d", i), today())))
	}
	for i, seq := range others {
		if got, _ := h.settled(seq, 5*time.Second); got != OutcomeStarted {
			t.Errorf("other journey %d: %s, want started while the slow one hangs", i, got)
		}
	}
	open()
	for _, seq := range behind {
		if got, _ := h.settled(seq, 30*time.Second); got != OutcomeSignalled {
			t.Fatalf("event %d behind the slow one: %s", seq, got)
		}
	}
	if runs, applied := h.temporal.runsOf(slow); runs != 1 || len(applied) != 201 {
		t.Errorf("slow journey: %d runs, %d events applied, want 1 and 201", runs, len(applied))
	}
}

// Events held longer than the ack wait, one being applied and the others queued behind it, are
// kept alive: none is delivered twice.
func TestHeldEventsOutliveTheAckWaitWithoutRedelivery(t *testing.T) {
	h := newHarness(t, func(l *Listener) { l.AckWait = time.Second })
	slow := claimID("CLM-SLOW")
	gate := make(chan struct{})
	h.temporal.gates[slow] = gate
	seqs := []uint64{h.send("slow-start", events.ReimbursementSubmitted, claimData("CLM-SLOW", today()))}
	for i := range 5 {
		seqs = append(seqs, h.send(fmt.Sprintf("slow-%d", i), events.ReimbursementResubmitted,
			map[string]any{"claimId": "CLM-SLOW", "submittedDate": today()}))
	}
	time.Sleep(3500 * time.Millisecond) // 3.5 ack waits
	close(gate)
	for _, seq := range seqs {
		h.settled(seq, 10*time.Second)
		if all := h.outcomes(seq); len(all) != 1 {
			t.Errorf("event %d: outcomes %v, want one", seq, all)
		}
	}
	for _, l := range h.logs.lines() {
		if l.Delivery > 1 {
			t.Errorf("event %d delivered %d times: %s", l.Seq, l.Delivery, l.raw)
		}
	}
	if got := h.temporal.journeyLog(); len(got) != 6 {
		t.Errorf("%d calls reached the journey, want 6: %v", len(got), got)
	}
}

func enrolledData(member, enrolled string) map[string]any {
	return map[string]any{
		"memberId": member, "dateOfBirth": "2012-06-01", "enrollmentDate": enrolled, "county": "Yolo",
		"countyModel": "independent", "fullScopeMediCal": true, "ccsEligible": true,
	}
}

// A member enrolled again after the disenrollment that cancelled their age-out journey gets a
// new one; a copy of the first enrollment, an enrollment dated before the cancellation, and an
// enrollment while the journey runs start nothing.
func TestReEnrollmentReopensACancelledAgeOut(t *testing.T) {
	h := newHarness(t, nil)
	id := workflows.WorkflowID(testKeyer, workflows.JourneyAgeOut, "M-1")
	steps := []struct {
		name, msgID, eventID, enrolled string
		before                         func()
		want                           string
		runs                           int
	}{
		{"first enrollment", "m-1", "enr-1", "2026-01-01", nil, OutcomeStarted, 1},
		{"again while it runs", "m-2", "enr-2", "2026-03-01", nil, OutcomeDuplicate, 1},
		{"copy of the first after the cancellation", "m-3", "enr-1", "2026-01-01", func() {
			h.temporal.end(id, workflows.Outcome{Status: workflows.StatusCancelled, EndedOn: rules.MustDate("2026-06-30")})
		}, OutcomeDuplicate, 1},
		{"dated before the cancellation", "m-4", "enr-3", "2026-06-29", nil, OutcomeDuplicate, 1},
		{"re-enrolled on the cancellation date", "m-5", "enr-4", "2026-06-30", nil, OutcomeStarted, 2},
		{"a journey that ended without an outcome (before the change)", "m-6", "enr-5", "2026-09-01", func() {
			h.temporal.end(id, workflows.Outcome{})
		}, OutcomeDuplicate, 2},
		{"a journey that aged out", "m-7", "enr-6", "2026-10-01", func() {
			h.temporal.end(id, workflows.Outcome{Status: workflows.StatusClosed})
		}, OutcomeDuplicate, 2},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		seq := h.publish(events.Subject(events.MemberEnrolled), s.msgID, inbound(s.eventID, events.MemberEnrolled, enrolledData("M-1", s.enrolled)))
		if got, _ := h.settled(seq, 10*time.Second); got != s.want {
			t.Errorf("%s: %s, want %s", s.name, got, s.want)
		}
		if runs, _ := h.temporal.runsOf(id); runs != s.runs {
			t.Errorf("%s: %d runs, want %d", s.name, runs, s.runs)
		}
	}
	// The run opened again knows it is the second, and its events' ids say so.
	h.temporal.mu.Lock()
	defer h.temporal.mu.Unlock()
	if r := h.temporal.runs[id]; r[0].run != 0 || r[1].run != 2 {
		t.Errorf("runs numbered %d and %d, want 0 (the first) and 2", r[0].run, r[1].run)
	}
}

// The listener stops once the events in hand are settled, and loses none.
func TestStopSettlesWhatItHolds(t *testing.T) {
	h := newHarness(t, nil)
	var seqs []uint64
	for i := range 50 {
		seqs = append(seqs, h.send(fmt.Sprintf("e-%d", i), events.ReimbursementSubmitted, claimData(fmt.Sprintf("CLM-%d", i), today())))
	}
	h.waitFor("the first settled", 10*time.Second, func() bool { return len(h.outcomes(seqs[0])) > 0 })
	h.stop()
	settled := 0
	for _, seq := range seqs {
		if n := len(h.outcomes(seq)); n > 0 {
			settled++
		}
	}
	cons, err := h.js.Consumer(context.Background(), events.EnrollmentStream, "listener")
	if err != nil {
		t.Fatal(err)
	}
	var info *jetstream.ConsumerInfo
	h.waitFor("every held event acknowledged", 5*time.Second, func() bool {
		info, err = cons.Info(context.Background())
		return err == nil && info.NumAckPending == 0
	})
	if settled+int(info.NumPending) != len(seqs) {
		t.Errorf("%d settled + %d never delivered, want %d", settled, info.NumPending, len(seqs))
	}
}

// A member's enrollment and disenrollment sent back to back: the age-out journey is started and
// registered with the member's directory before the disenrollment reaches the directory, in
// stream order, for every member; no visibility query decides whom it reaches.
func TestMemberWideFactsGoToTheMembersDirectoryInOrder(t *testing.T) {
	h := newHarness(t, nil)
	var last []uint64
	for i := range 20 {
		m := fmt.Sprintf("M-%d", i)
		h.send("enr-"+m, events.MemberEnrolled, enrolledData(m, "2026-01-01"))
		last = append(last, h.send("dis-"+m, events.MemberDisenrolled, map[string]any{"memberId": m, "effectiveDate": today()}))
	}
	for _, seq := range last {
		if got, _ := h.settled(seq, 10*time.Second); got != OutcomeSignalled {
			t.Errorf("disenrollment %d: %s, want signalled (to the member's directory)", seq, got)
		}
	}
	log := h.temporal.journeyLog()
	for i := range 20 {
		m := fmt.Sprintf("M-%d", i)
		ageout := workflows.WorkflowID(testKeyer, workflows.JourneyAgeOut, m)
		dir := workflows.DirectoryID(workflows.DirectoryMember, workflows.MemberKey(testKeyer, m))
		want := []string{"start " + ageout, "directory " + dir + " register " + ageout, "directory " + dir + " fact dis-" + m}
		var got []string
		for _, l := range log {
			if strings.Contains(l, ageout) || strings.Contains(l, dir) {
				got = append(got, l)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", m, got, want)
		}
	}
}

// A refusal a deployment still settling gives (the namespace's search attributes not registered
// yet) is retried like an outage, never dead-lettered.
func TestASearchAttributeNotYetRegisteredIsNoPoison(t *testing.T) {
	err := fmt.Errorf("start x: %w", serviceerror.NewInvalidArgument("Namespace careclock has no mapping defined for search attribute CareclockStatus"))
	if Permanent(err) {
		t.Error("a search attribute not registered yet is taken for a poison event")
	}
	if !Permanent(fmt.Errorf("start x: %w", serviceerror.NewInvalidArgument("BlobSizeLimitError"))) {
		t.Error("an input over Temporal's size limit is not taken for a poison event")
	}
}

// CARECLOCK_DIRECTORY_LOOKUP off: a directory the listener starts skips the look-up of journeys
// started before directories existed.
func TestDirectoriesStartWithoutALookUpWhenOff(t *testing.T) {
	h := newHarness(t, func(l *Listener) { l.SkipDirectoryLookup = true })
	seq := h.send("dis-1", events.MemberDisenrolled, map[string]any{"memberId": "M-1", "effectiveDate": today()})
	h.settled(seq, 10*time.Second)
	dir := workflows.DirectoryID(workflows.DirectoryMember, workflows.MemberKey(testKeyer, "M-1"))
	if got := h.temporal.journeyLog(); !slices.Equal(got, []string{"directory " + dir + " started without a look-up", "directory " + dir + " fact dis-1"}) {
		t.Errorf("%v", got)
	}
}
