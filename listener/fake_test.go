package listener

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/workflows"
)

// fakeTemporal is the part of Temporal the listener uses, in memory: workflow runs by id, the
// reuse rules of starts, signals to running journeys, and the faults a test sets.
type fakeTemporal struct {
	client.Client // nil: a call the listener should not make panics

	mu   sync.Mutex
	runs map[string][]*fakeRun
	// log is every call that reached a journey, in order: "start <id>", "signal <id> <event id>".
	log []string
	// down, when set, fails every call, as an unreachable Temporal does.
	down error
	// failStarts fails that many next starts of a workflow id with a transient error;
	// failSignals that many next signals carrying an event id.
	failStarts  map[string]int
	failSignals map[string]int
	// refuse fails every start of these workflow ids as Temporal refuses an invalid argument.
	refuse map[string]bool
	// gates hold every call for a workflow id until the channel is closed.
	gates map[string]chan struct{}
}

type fakeRun struct {
	running bool
	outcome workflows.Outcome
	// applied is the inbound event ids the journey has applied, once each, as a journey does.
	applied []string
	// run is the run number its input gave it (State.Run).
	run int
}

func newFakeTemporal() *fakeTemporal {
	return &fakeTemporal{runs: map[string][]*fakeRun{}, failStarts: map[string]int{}, failSignals: map[string]int{}, refuse: map[string]bool{}, gates: map[string]chan struct{}{}}
}

// enter waits at the id's gate, then takes the lock; the caller unlocks.
func (f *fakeTemporal) enter(ctx context.Context, id string) error {
	f.mu.Lock()
	gate := f.gates[id]
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	if f.down != nil {
		f.mu.Unlock()
		return f.down
	}
	return nil
}

func (f *fakeTemporal) current(id string) *fakeRun {
	runs := f.runs[id]
	if len(runs) == 0 {
		return nil
	}
	return runs[len(runs)-1]
}

func (f *fakeTemporal) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	if err := f.enter(ctx, o.ID); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	if f.refuse[o.ID] {
		return nil, serviceerror.NewInvalidArgument("search attribute CareclockDeadline: invalid value")
	}
	if f.failStarts[o.ID] > 0 {
		f.failStarts[o.ID]--
		return nil, serviceerror.NewUnavailable("history service busy")
	}
	if cur := f.current(o.ID); cur != nil && (cur.running || o.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE) {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "")
	}
	var applied []string
	run := 0
	if len(args) == 1 {
		// The start event is the first applied; read it as the workflow would.
		var st struct {
			Applied []string
			Run     int
		}
		b, err := json.Marshal(args[0])
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, err
		}
		applied, run = st.Applied, st.Run
	}
	f.runs[o.ID] = append(f.runs[o.ID], &fakeRun{running: true, applied: applied, run: run})
	f.log = append(f.log, "start "+o.ID)
	return nil, nil
}

func (f *fakeTemporal) SignalWorkflow(ctx context.Context, id, _, name string, arg any) error {
	if err := f.enter(ctx, id); err != nil {
		return err
	}
	defer f.mu.Unlock()
	cur := f.current(id)
	if cur == nil || !cur.running {
		return serviceerror.NewNotFound("workflow not found")
	}
	ev, ok := arg.(events.Event)
	if name != workflows.SignalEvent || !ok {
		return fmt.Errorf("signal %q with %T", name, arg)
	}
	if f.failSignals[ev.ID] > 0 {
		f.failSignals[ev.ID]--
		return serviceerror.NewUnavailable("history service busy")
	}
	f.log = append(f.log, "signal "+id+" "+ev.ID)
	for _, a := range cur.applied {
		if a == ev.ID {
			return nil
		}
	}
	cur.applied = append(cur.applied, ev.ID)
	return nil
}

func (f *fakeTemporal) DescribeWorkflowExecution(ctx context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if err := f.enter(ctx, id); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	cur := f.current(id)
	if cur == nil {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	status := enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	if cur.running {
		status = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &common.WorkflowExecution{WorkflowId: id, RunId: fmt.Sprint(len(f.runs[id]))},
		Status:    status,
	}}, nil
}

func (f *fakeTemporal) GetWorkflow(_ context.Context, id, _ string) client.WorkflowRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	var o workflows.Outcome
	if cur := f.current(id); cur != nil {
		o = cur.outcome
	}
	return fakeWorkflowRun{outcome: o}
}

// SignalWithStartWorkflow records a request to a member's or provider's directory, as
// "directory <id> <register|fact|ended> <workflow id or event id>".
func (f *fakeTemporal) SignalWithStartWorkflow(ctx context.Context, id, name string, arg any, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	if err := f.enter(ctx, id); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	req, ok := arg.(workflows.DirectoryRequest)
	if name != workflows.SignalDirectory || !ok {
		return nil, fmt.Errorf("signal with start %q with %T", name, arg)
	}
	if len(args) == 1 {
		if st, ok := args[0].(workflows.DirectoryState); ok && st.LookedUp {
			f.log = append(f.log, "directory "+id+" started without a look-up")
		}
	}
	switch {
	case req.Register != nil:
		f.log = append(f.log, "directory "+id+" register "+req.Register.WorkflowID)
	case req.Fact != nil:
		f.log = append(f.log, "directory "+id+" fact "+req.Fact.ID)
	}
	return nil, nil
}

// ListWorkflow finds nothing: the tests route no event by visibility query.
func (f *fakeTemporal) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return &workflowservice.ListWorkflowExecutionsResponse{}, nil
}

type fakeWorkflowRun struct {
	client.WorkflowRun
	outcome workflows.Outcome
}

func (r fakeWorkflowRun) Get(_ context.Context, v any) error {
	o, ok := v.(*workflows.Outcome)
	if !ok {
		return errors.New("the fake's results are Outcomes")
	}
	*o = r.outcome
	return nil
}

// end ends a journey's current run as the journey would.
func (f *fakeTemporal) end(id string, o workflows.Outcome) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cur := f.current(id); cur != nil {
		cur.running, cur.outcome = false, o
	}
}

func (f *fakeTemporal) setDown(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = err
}

// journeyLog returns the calls that reached journeys so far.
func (f *fakeTemporal) journeyLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// runsOf is the number of runs started with the workflow id, and the events the current one
// applied.
func (f *fakeTemporal) runsOf(id string) (int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := f.current(id)
	if cur == nil {
		return 0, nil
	}
	return len(f.runs[id]), append([]string(nil), cur.applied...)
}
