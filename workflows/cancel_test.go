package workflows

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// idleFacts is a journey with nothing due: it waits for an inbound event, with no timer.
type idleFacts struct{}

func (*idleFacts) plan(rules.Policy) []rules.Due { return nil }
func (*idleFacts) begin(rules.Policy) []Notice   { return nil }
func (*idleFacts) apply(events.Event, rules.Policy) ([]Notice, error) {
	return nil, nil
}
func (*idleFacts) deadline(rules.Policy) rules.Date { return rules.MustDate("2027-01-01") }
func (*idleFacts) ended() string                    { return "" }
func (*idleFacts) memberID() string                 { return "" }

func idleJourney(ctx workflow.Context, s State[idleFacts]) (Outcome, error) {
	return run[idleFacts](ctx, JourneyReimbursement, s)
}

// A journey with nothing due ends when it is cancelled, as one waiting for a timer does; one
// recorded before changeCancelWakes goes on waiting, as it did.
func TestACancelledJourneyWithNothingDueEnds(t *testing.T) {
	for _, old := range []bool{false, true} {
		var suite testsuite.WorkflowTestSuite
		suite.SetLogger(quietLogger{})
		env := suite.NewTestWorkflowEnvironment()
		env.SetStartTime(mustTime("2026-12-01T10:00:00-08:00"))
		if old {
			env.SetWorkerOptions(worker.Options{PreferredVersionProvider: func(in worker.PreferredVersionProviderInput) *worker.VersionPreference {
				if in.ChangeID == changeCancelWakes {
					return &worker.VersionPreference{Version: workflow.DefaultVersion}
				}
				return nil
			}})
			env.SetTestTimeout(time.Second)
		}
		env.RegisterWorkflowWithOptions(idleJourney, workflow.RegisterOptions{Name: "idle"})
		env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
		env.ExecuteWorkflow("idle", NewState(idleFacts{}, rules.DefaultPolicy(), "mk", "start-1"))
		var cancelled *temporal.CanceledError
		err := env.GetWorkflowError()
		switch {
		case !old && (!env.IsWorkflowCompleted() || !errors.As(err, &cancelled)):
			t.Errorf("cancelled with nothing due: completed %v, %v; want it cancelled", env.IsWorkflowCompleted(), err)
		case old && errors.As(err, &cancelled):
			t.Errorf("a journey before cancel-wakes ended on the cancellation; it waited for an event")
		}
	}
}
