package stack_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/internal/reliability"
)

// The fault tests count what happened to every inbound event and every journey event with
// internal/reliability, which the production-topology tests (deploy/topology) share; these are
// its counts on the dev stack.

type (
	figures      = reliability.Figures
	expect       = reliability.Expect
	journeyState = reliability.State
)

func report(t *testing.T, f figures) { t.Helper(); reliability.Report(t, f) }

func tallyJourneys(t *testing.T, s *stack.Stack, want []expect, within time.Duration) reliability.Tally {
	t.Helper()
	return reliability.JourneyEvents(t, s.JS, want, within)
}

// fates counts what became of distinct inbound events: dead letters first, then the events
// applied, waiting for the rest.
func fates(t *testing.T, s *stack.Stack, distinct int) (applied, deadLettered int) {
	t.Helper()
	deadLettered = len(deadLetters(t, s))
	return reliability.AppliedInbound(t, s.Client, distinct-deadLettered), deadLettered
}

func stateOf(t *testing.T, s *stack.Stack, workflowID string) journeyState {
	t.Helper()
	return reliability.StateOf(t, s.Client, workflowID)
}

func deadLetters(t *testing.T, s *stack.Stack) map[string]string {
	t.Helper()
	return reliability.DeadLetters(t, s.JS)
}

func streamInfo(t *testing.T, s *stack.Stack, name string) (*jetstream.StreamInfo, error) {
	t.Helper()
	st, err := s.JS.Stream(context.Background(), name)
	if err != nil {
		return nil, err
	}
	return st.Info(context.Background())
}
