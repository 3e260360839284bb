package stack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// The fault tests count what happened to every inbound event and every journey event, check
// that nothing was lost or done twice, and report their figures. With
// CARECLOCK_RELIABILITY_REPORT set to a file, each appends one row of the README's reliability
// table to it (test.sh prints it).

// figures is one scenario's row.
type figures struct {
	scenario string
	// Inbound events: copies published by producers, distinct events (CloudEvents ids) among
	// them, and what became of the distinct events, measured in Temporal and on the dead-letter
	// subject.
	sent, distinct, applied, deadLettered int
	// Journey events: what the rules call for, and what is on the journey stream.
	journey journeyTally
}

// lost is distinct inbound events neither applied nor dead-lettered; twice is the excess.
func (f figures) lost() int  { return max(0, f.distinct-f.applied-f.deadLettered) }
func (f figures) twice() int { return max(0, f.applied+f.deadLettered-f.distinct) }

func (f figures) row() string {
	return fmt.Sprintf("| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d |", f.scenario,
		f.sent, f.distinct, f.applied, f.deadLettered, f.twice(), f.lost(),
		f.journey.expected, f.journey.once, f.journey.duplicated, f.journey.missing)
}

// report fails the test on anything lost or done twice, and records the row.
func report(t *testing.T, f figures) {
	t.Helper()
	t.Log(f.row())
	if f.lost() != 0 || f.twice() != 0 {
		t.Errorf("%s: %d distinct inbound events, %d applied and %d dead-lettered: %d lost, %d applied twice",
			f.scenario, f.distinct, f.applied, f.deadLettered, f.lost(), f.twice())
	}
	if f.journey.duplicated != 0 || f.journey.missing != 0 {
		t.Errorf("%s: journey events %+v", f.scenario, f.journey)
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
	if _, err := fmt.Fprintln(file, f.row()); err != nil {
		t.Fatalf("reliability report: %v", err)
	}
}

// expect is one journey event the rules call for: which journey, what, on which date, and
// whether it is published late.
type expect struct {
	workflowID, eventType string
	on                    rules.Date
	late                  bool
}

func (e expect) String() string {
	return fmt.Sprintf("%s@%s late=%t (%s)", e.eventType, e.on, e.late, e.workflowID)
}

// journeyTally compares the journey stream with what was expected: expected events found once,
// copies beyond the first and events nobody expected (duplicated), and expected events absent
// (missing).
type journeyTally struct{ expected, once, duplicated, missing int }

// tallyJourneys reads the whole journey stream until every expected event is there or within
// passes, then for 3 s more, so that a late copy is seen too.
func tallyJourneys(t *testing.T, s *stack.Stack, want []expect, within time.Duration) journeyTally {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cons, err := s.JS.OrderedConsumer(ctx, events.JourneyStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("consumer on %s: %v", events.JourneyStream, err)
	}
	key := func(workflowID, eventType, on string) string { return workflowID + " " + eventType + "@" + on }
	pending := map[string]expect{}
	for _, w := range want {
		pending[key(w.workflowID, w.eventType, w.on.String())] = w
	}
	tally := journeyTally{expected: len(want), missing: len(want)}
	var quiet context.Context // once everything expected is in: 3 s more
	for {
		if len(pending) == 0 && quiet == nil {
			var stop context.CancelFunc
			quiet, stop = context.WithTimeout(ctx, 3*time.Second)
			defer stop()
		}
		fetchCtx := ctx
		if quiet != nil {
			fetchCtx = quiet
		}
		msg, err := cons.Next(jetstream.FetchContext(fetchCtx))
		if err != nil {
			break
		}
		var ev events.JourneyEvent
		if err := json.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatalf("journey event %s: %v", msg.Data(), err)
		}
		on, _ := ev.Data["eventDate"].(string)
		k := key(ev.Subject, ev.Type, on)
		w, ok := pending[k]
		if !ok {
			t.Errorf("unexpected or second journey event %s (id %s)", k, ev.ID)
			tally.duplicated++
			continue
		}
		delete(pending, k)
		tally.once++
		tally.missing--
		if late, _ := ev.Data["late"].(bool); late != w.late {
			t.Errorf("%s: late = %t, want %t", k, late, w.late)
		}
	}
	for _, w := range pending {
		t.Errorf("journey event never published: %s", w)
	}
	return tally
}

// appliedInbound counts the inbound events Temporal applied: for every journey (the current run
// of each workflow id), the events in its state's applied list, its start event included.
func appliedInbound(t *testing.T, s *stack.Stack) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listed, err := workflows.List(ctx, s.Client, workflows.Filter{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	n := 0
	for _, l := range listed {
		if seen[l.WorkflowID] {
			continue
		}
		seen[l.WorkflowID] = true
		n += stateOf(t, s, l.WorkflowID).Applied
	}
	return n
}

// journeyState is the part of a journey's state query the fault tests read.
type journeyState struct {
	Status    string             `json:"status"`
	Applied   int                `json:"applied"`
	Next      *rules.Planned     `json:"next"`
	Published []workflows.Record `json:"published"`
}

func stateOf(t *testing.T, s *stack.Stack, workflowID string) journeyState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := s.Client.QueryWorkflow(ctx, workflowID, "", workflows.QueryState)
	if err != nil {
		t.Fatalf("query %s: %v", workflowID, err)
	}
	var st journeyState
	if err := v.Get(&st); err != nil {
		t.Fatalf("state of %s: %v", workflowID, err)
	}
	return st
}

// deadLetters reads every dead letter on the enrollment stream: original subject → reason.
func deadLetters(t *testing.T, s *stack.Stack) map[string]string {
	t.Helper()
	info, err := streamInfo(t, s, events.EnrollmentStream)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	if info.State.Msgs == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := s.JS.OrderedConsumer(ctx, events.EnrollmentStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.DeadLetterSubject}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		quiet, stop := context.WithTimeout(ctx, time.Second)
		msg, err := cons.Next(jetstream.FetchContext(quiet))
		stop()
		if err != nil {
			return out
		}
		out[msg.Headers().Get(events.HeaderOriginalSeq)] = msg.Headers().Get(events.HeaderReason)
	}
}

func streamInfo(t *testing.T, s *stack.Stack, name string) (*jetstream.StreamInfo, error) {
	t.Helper()
	st, err := s.JS.Stream(context.Background(), name)
	if err != nil {
		return nil, err
	}
	return st.Info(context.Background())
}
