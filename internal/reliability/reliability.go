// Package reliability counts what became of every inbound event and every journey event in a
// fault test, on the dev stack and on the production topology alike, and reports each scenario
// as a row of the reliability table (docs/reliability.md). Only tests import it.
//
// With CARECLOCK_RELIABILITY_REPORT set to a file, Report appends each row to it (test.sh
// prints the file).
package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/client"

	"github.com/careclock/careclock/contract"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// Figures is one scenario's row.
type Figures struct {
	Scenario string
	// Inbound events: copies published by producers, distinct events (CloudEvents ids) among
	// them, and what became of the distinct events, measured in Temporal and on the dead-letter
	// subject.
	Sent, Distinct, Applied, DeadLettered int
	// Journey events: what the rules call for, and what is on the journey stream.
	Journey Tally
}

// Lost is distinct inbound events neither applied nor dead-lettered.
func (f Figures) Lost() int { return max(0, f.Distinct-f.Applied-f.DeadLettered) }

// Twice is applied or dead-lettered events beyond the distinct ones.
func (f Figures) Twice() int { return max(0, f.Applied+f.DeadLettered-f.Distinct) }

// Row is the figures as a row of docs/reliability.md's table.
func (f Figures) Row() string {
	return fmt.Sprintf("| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d |", f.Scenario,
		f.Sent, f.Distinct, f.Applied, f.DeadLettered, f.Twice(), f.Lost(),
		f.Journey.Expected, f.Journey.Once, f.Journey.Duplicated, f.Journey.Missing)
}

// Report fails the test on anything lost or done twice, and records the row.
func Report(t testing.TB, f Figures) {
	t.Helper()
	t.Log(f.Row())
	if f.Lost() != 0 || f.Twice() != 0 {
		t.Errorf("%s: %d distinct inbound events, %d applied and %d dead-lettered: %d lost, %d applied twice",
			f.Scenario, f.Distinct, f.Applied, f.DeadLettered, f.Lost(), f.Twice())
	}
	if f.Journey.Duplicated != 0 || f.Journey.Missing != 0 {
		t.Errorf("%s: journey events %+v", f.Scenario, f.Journey)
	}
	path := os.Getenv("CARECLOCK_RELIABILITY_REPORT")
	if path == "" || t.Failed() {
		return
	}
	file, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("reliability report: %v", err)
	}
	defer file.Close()
	if _, err := fmt.Fprintln(file, f.Row()); err != nil {
		t.Fatalf("reliability report: %v", err)
	}
}

// Expect is one journey event the rules call for: which journey, what, on which date, and
// whether it is published late.
type Expect struct {
	WorkflowID, EventType string
	On                    rules.Date
	Late                  bool
}

func (e Expect) String() string {
	return fmt.Sprintf("%s@%s late=%t (%s)", e.EventType, e.On, e.Late, e.WorkflowID)
}

// Tally compares the journey stream with what was expected: expected events found once, copies
// beyond the first and events nobody expected (duplicated), and expected events absent
// (missing).
type Tally struct{ Expected, Once, Duplicated, Missing int }

// JourneyEvents reads the whole journey stream until every expected event is there or within
// passes, then for 3 s more, so that a late copy is seen too. It reads with an ordered
// consumer's message iterator, which follows a 3-replica stream across leader changes.
func JourneyEvents(t testing.TB, js jetstream.JetStream, want []Expect, within time.Duration) Tally {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, events.JourneyStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("consumer on %s: %v", events.JourneyStream, err)
	}
	key := func(workflowID, eventType, on string) string { return workflowID + " " + eventType + "@" + on }
	pending := map[string]Expect{}
	for _, w := range want {
		pending[key(w.WorkflowID, w.EventType, w.On.String())] = w
	}
	tally := Tally{Expected: len(want), Missing: len(want)}
	msgs := make(chan jetstream.Msg)
	go read(ctx, cons, msgs)
	var quiet <-chan time.Time // once everything expected is in: 3 s more
	for {
		if len(pending) == 0 && quiet == nil {
			quiet = time.After(3 * time.Second)
		}
		var msg jetstream.Msg
		select {
		case msg = <-msgs:
		case <-quiet:
		case <-ctx.Done():
		}
		if msg == nil {
			break
		}
		ev := Contracted(t, msg.Data())
		on, _ := ev.Data["eventDate"].(string)
		k := key(ev.Subject, ev.Type, on)
		w, ok := pending[k]
		if !ok {
			t.Errorf("unexpected or second journey event %s (id %s)", k, ev.ID)
			tally.Duplicated++
			continue
		}
		delete(pending, k)
		tally.Once++
		tally.Missing--
		if late, _ := ev.Data["late"].(bool); late != w.Late {
			t.Errorf("%s: late = %t, want %t", k, late, w.Late)
		}
	}
	for _, w := range pending {
		t.Errorf("journey event never published: %s", w)
	}
	return tally
}

// read sends every message of cons to out until ctx ends.
func read(ctx context.Context, cons jetstream.Consumer, out chan<- jetstream.Msg) {
	it, err := cons.Messages()
	if err != nil {
		return
	}
	go func() { <-ctx.Done(); it.Stop() }()
	for {
		msg, err := it.Next()
		if err != nil {
			return
		}
		select {
		case out <- msg:
		case <-ctx.Done():
			return
		}
	}
}

// Contracted decodes a journey event from the journey stream and holds it to the event contract:
// a CloudEvent whose data validates against its type's schema (contract/).
func Contracted(t testing.TB, raw []byte) events.JourneyEvent {
	t.Helper()
	var ev events.JourneyEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("journey event %s: %v", raw, err)
	}
	if ev.SpecVersion != "1.0" || ev.ID == "" || ev.Source == "" || ev.Subject == "" || ev.Time.IsZero() || ev.DataContentType != "application/json" {
		t.Errorf("journey event %s is not a whole CloudEvent", ev.ID)
	}
	var data struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	if err := contract.Validate(contract.Journeys, ev.Type, data.Data); err != nil {
		t.Errorf("journey event %s against its schema: %v", ev.ID, err)
	}
	return ev
}

// ContractedStream holds every event on the journey stream to the event contract (Contracted),
// and returns how many it read.
func ContractedStream(t testing.TB, js jetstream.JetStream) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, events.JourneyStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := int(info.State.Msgs)
	if n == 0 {
		return 0
	}
	cons, err := js.OrderedConsumer(ctx, events.JourneyStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		msg, err := cons.Next(jetstream.FetchContext(ctx))
		if err != nil {
			t.Fatalf("journey event %d of %d: %v", i+1, n, err)
		}
		Contracted(t, msg.Data())
	}
	return n
}

// AppliedInbound counts the inbound events Temporal applied: for every journey (the current run
// of each workflow id), the events in its state's applied list, its start event included.
//
// A listener acknowledges an event once Temporal has accepted it, and Temporal lists a journey
// and applies a signal a moment after that (longer just after the server restarts), so it counts
// again until it finds want or 30 s have passed, and returns what it found last: fewer than want
// is an event lost, more is one applied twice.
func AppliedInbound(t testing.TB, c client.Client, want int) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := appliedNow(t, c)
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func appliedNow(t testing.TB, c client.Client) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listed, err := workflows.List(ctx, c, workflows.Filter{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range workflows.Current(listed) {
		n += StateOf(t, c, l.WorkflowID).Applied
	}
	return n
}

// State is the part of a journey's state query the fault tests read.
type State struct {
	Status    string             `json:"status"`
	Applied   int                `json:"applied"`
	Next      *rules.Planned     `json:"next"`
	Published []workflows.Record `json:"published"`
}

// StateOf queries a journey's state.
func StateOf(t testing.TB, c client.Client, workflowID string) State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := c.QueryWorkflow(ctx, workflowID, "", workflows.QueryState)
	if err != nil {
		t.Fatalf("query %s: %v", workflowID, err)
	}
	var st State
	if err := v.Get(&st); err != nil {
		t.Fatalf("state of %s: %v", workflowID, err)
	}
	return st
}

// DeadLetters reads every dead letter on the enrollment stream: original sequence → reason. It
// counts them first, then reads that many: a new consumer on a 3-replica stream can take more
// than a second to deliver its first message, so a quiet second proves nothing.
func DeadLetters(t testing.TB, js jetstream.JetStream) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, events.EnrollmentStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(events.DeadLetterSubject))
	if err != nil {
		t.Fatal(err)
	}
	n := info.State.Subjects[events.DeadLetterSubject]
	out := map[string]string{}
	if n == 0 {
		return out
	}
	cons, err := js.OrderedConsumer(ctx, events.EnrollmentStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.DeadLetterSubject}})
	if err != nil {
		t.Fatal(err)
	}
	msgs := make(chan jetstream.Msg)
	go read(ctx, cons, msgs)
	for range n {
		select {
		case msg := <-msgs:
			out[msg.Headers().Get(events.HeaderOriginalSeq)] = msg.Headers().Get(events.HeaderReason)
		case <-ctx.Done():
			t.Fatalf("read %d of %d dead letters: %v", len(out), n, ctx.Err())
		}
	}
	return out
}

// WaitAcked waits until consumer has acknowledged the first n enrollment messages.
func WaitAcked(t testing.TB, js jetstream.JetStream, consumer string, n uint64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		info, err := ackState(js, consumer)
		switch {
		case err == nil && info.AckFloor.Stream >= n && info.NumAckPending == 0:
			return
		case time.Now().After(deadline) && err != nil:
			t.Fatalf("consumer %s: %v", consumer, err)
		case time.Now().After(deadline):
			t.Fatalf("listener acknowledged up to %d of %d (pending %d)", info.AckFloor.Stream, n, info.NumAckPending)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ackState(js jetstream.JetStream, consumer string) (*jetstream.ConsumerInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, events.EnrollmentStream, consumer)
	if err != nil {
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("not created yet: %w", err)
		}
		return nil, err
	}
	return cons.Info(ctx)
}

// Source is the CloudEvent source of the plan system that sends eventType, as deploy/systems.json
// lists them (deploy/compose_test.go holds the two together).
func Source(eventType string) string {
	for prefix, system := range map[string]string{
		"member.": "enrollment", "wcm.": "enrollment", "provider.": "enrollment",
		"ccs.": "care-management", "coc.": "care-management", "pregnancy.": "care-management",
		"reimbursement.": "claims", "authorization.": "utilization", "grievance.": "member-services", "appeal.": "member-services",
	} {
		if strings.HasPrefix(eventType, prefix) {
			return "urn:plan:" + system
		}
	}
	return "urn:test"
}

// Inbound is an inbound CloudEvent as producers send it, from the system that sends its type.
func Inbound(id, eventType string, data map[string]any) []byte {
	b, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": Source(eventType), "type": eventType, "data": data,
	})
	if err != nil {
		panic(err) // a map of strings, numbers and booleans always marshals
	}
	return b
}

// Claim is a reimbursement.submitted event for a claim submitted on submitted.
func Claim(eventID, claimID string, submitted rules.Date) []byte {
	return Inbound(eventID, events.ReimbursementSubmitted, map[string]any{
		"claimId": claimID, "memberId": "M-" + claimID, "submittedDate": submitted.String(),
		"amountCents": 1500, "category": "mileage",
	})
}

// OverdueClaim is a claim submitted 100 days ago and its one journey event under the default
// rules: the overdue notice of 4 days ago (due 40 days ago, overdue every 7 days from the day
// after), published late; the reminders before it are skipped.
func OverdueClaim(k privacy.Keyer, eventID, claimID string, today rules.Date) ([]byte, Expect) {
	id := workflows.WorkflowID(k, workflows.JourneyReimbursement, claimID)
	return Claim(eventID, claimID, today.AddDays(-100)), Expect{WorkflowID: id, EventType: "reimbursement.overdue", On: today.AddDays(-4), Late: true}
}

// AgeOutEnrollment is a member.enrolled event of a CCS-eligible member whose 21st birthday is
// in 20 days, and the journey events it calls for under policy: of the notices before it, all
// already due, the latest, published at once and late; the earlier ones are superseded by it
// (docs/rules.md, Time).
func AgeOutEnrollment(k privacy.Keyer, policy rules.Policy, eventID, memberID string, today rules.Date) ([]byte, []Expect) {
	birthday := today.AddDays(20)
	if birthday.Month == time.February && birthday.Day == 29 {
		birthday = birthday.AddDays(1) // a 29 February birthday moves to 1 March in other years
	}
	dob := birthday.AddYears(-21)
	body := Inbound(eventID, events.MemberEnrolled, map[string]any{
		"memberId": memberID, "dateOfBirth": dob.String(), "enrollmentDate": today.AddDays(-1).String(),
		"county": "Yolo", "countyModel": "independent", "fullScopeMediCal": true, "ccsEligible": true,
	})
	id := workflows.WorkflowID(k, workflows.JourneyAgeOut, memberID)
	latest := slices.Min(policy.AgeOut.NoticeMonthsBefore)
	return body, []Expect{{WorkflowID: id, EventType: "ageout.notice", On: dob.AddYears(21).AddMonths(-latest), Late: true}}
}
