package workflows

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// Filter selects journeys in Temporal visibility, for `starter list` and metrics. Zero fields
// select everything.
type Filter struct {
	Journey string
	Status  string
	// DeadlineBefore and DeadlineAfter bound CareclockDeadline (before: strictly earlier).
	DeadlineBefore, DeadlineAfter time.Time
	// DueBefore selects open journeys at risk: overdue, or whose next event or deadline comes
	// before it.
	DueBefore time.Time
	// MemberKey selects one member's journeys.
	MemberKey string
	// Open selects running journeys only.
	Open bool
}

// Query is the filter as a Temporal visibility query. Journey and status are checked against
// careclock's names, so the query never carries an arbitrary string.
func (f Filter) Query() (string, error) {
	clauses := []string{fmt.Sprintf("%s IS NOT NULL", AttrJourney.GetName())}
	if f.Journey != "" {
		if !isJourney(f.Journey) {
			return "", fmt.Errorf("unknown journey %q (one of %s)", f.Journey, strings.Join(Journeys, ", "))
		}
		clauses = append(clauses, fmt.Sprintf("%s = '%s'", AttrJourney.GetName(), f.Journey))
	}
	if f.Status != "" {
		if !isStatus(f.Status) {
			return "", fmt.Errorf("unknown status %q (one of %s)", f.Status, strings.Join(Statuses, ", "))
		}
		clauses = append(clauses, fmt.Sprintf("%s = '%s'", AttrStatus.GetName(), f.Status))
	}
	if f.MemberKey != "" {
		if strings.ContainsAny(f.MemberKey, `'"\`) {
			return "", fmt.Errorf("member key %q is not a key", f.MemberKey)
		}
		clauses = append(clauses, fmt.Sprintf("%s = '%s'", AttrMemberKey.GetName(), f.MemberKey))
	}
	if !f.DeadlineBefore.IsZero() {
		clauses = append(clauses, fmt.Sprintf("%s < '%s'", AttrDeadline.GetName(), instant(f.DeadlineBefore)))
	}
	if !f.DeadlineAfter.IsZero() {
		clauses = append(clauses, fmt.Sprintf("%s >= '%s'", AttrDeadline.GetName(), instant(f.DeadlineAfter)))
	}
	if f.Open || !f.DueBefore.IsZero() {
		clauses = append(clauses, "ExecutionStatus = 'Running'")
	}
	if !f.DueBefore.IsZero() {
		at := instant(f.DueBefore)
		clauses = append(clauses, fmt.Sprintf("(%s = '%s' OR %s < '%s' OR %s < '%s')",
			AttrStatus.GetName(), StatusOverdue, AttrNextAt.GetName(), at, AttrDeadline.GetName(), at))
	}
	return strings.Join(clauses, " AND "), nil
}

// OpenQuery is the visibility query for the running journeys of a type with a status.
func OpenQuery(journey, status string) (string, error) {
	return Filter{Journey: journey, Status: status, Open: true}.Query()
}

// Statuses lists the statuses of AttrStatus.
var Statuses = []string{StatusWaiting, StatusOverdue, StatusClosed, StatusCancelled}

func instant(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func isJourney(s string) bool { return slices.Contains(Journeys, s) }

func isStatus(s string) bool { return slices.Contains(Statuses, s) }

// Listed is one journey as visibility shows it, without asking the workflow.
type Listed struct {
	WorkflowID string    `json:"workflowId"`
	RunID      string    `json:"runId"`
	Journey    string    `json:"journey"`
	Status     string    `json:"status"`
	NextAt     time.Time `json:"nextAt,omitzero"`
	Deadline   time.Time `json:"deadline,omitzero"`
	// Execution is Temporal's status of the run: Running, Completed, Failed, ContinuedAsNew…
	Execution string    `json:"execution"`
	Started   time.Time `json:"started"`
	Closed    time.Time `json:"closed,omitzero"`
}

// List returns the journeys the filter selects, those with the nearest next event first (then
// by deadline), reading every page; progress, if set, is told the count after each page.
func List(ctx context.Context, c client.Client, f Filter, progress func(n int)) ([]Listed, error) {
	q, err := f.Query()
	if err != nil {
		return nil, err
	}
	return ListQuery(ctx, c, q, progress)
}

// ListQuery is List for a visibility query already built (the listener's member-wide routes).
func ListQuery(ctx context.Context, c client.Client, q string, progress func(n int)) ([]Listed, error) {
	var out []Listed
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token, PageSize: 1000})
		if err != nil {
			return nil, fmt.Errorf("list journeys: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			l, err := listed(e)
			if err != nil {
				return nil, fmt.Errorf("journey %s: %w", e.GetExecution().GetWorkflowId(), err)
			}
			out = append(out, l)
		}
		if progress != nil {
			progress(len(out))
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	slices.SortStableFunc(out, func(a, b Listed) int {
		return cmp.Or(compareTimes(a.NextAt, b.NextAt), compareTimes(a.Deadline, b.Deadline), cmp.Compare(a.WorkflowID, b.WorkflowID))
	})
	return out, nil
}

// Current keeps, of the runs listed for each workflow id (a journey that continued as new, or
// opened again), the one started last: the journey as it is now. The order of listed is kept.
func Current(listed []Listed) []Listed {
	latest := map[string]time.Time{}
	for _, l := range listed {
		if t, ok := latest[l.WorkflowID]; !ok || l.Started.After(t) {
			latest[l.WorkflowID] = l.Started
		}
	}
	var out []Listed
	for _, l := range listed {
		if t, ok := latest[l.WorkflowID]; ok && l.Started.Equal(t) {
			out = append(out, l)
			delete(latest, l.WorkflowID) // one run per id, should two share a start
		}
	}
	return out
}

// compareTimes orders instants, the zero instant (nothing next) last.
func compareTimes(a, b time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}

func listed(e *workflowpb.WorkflowExecutionInfo) (Listed, error) {
	l := Listed{
		WorkflowID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId(),
		Execution: e.GetStatus().String(), Started: e.GetStartTime().AsTime(),
	}
	if e.GetCloseTime() != nil {
		l.Closed = e.GetCloseTime().AsTime()
	}
	fields := e.GetSearchAttributes().GetIndexedFields()
	dc := converter.GetDefaultDataConverter()
	for name, dst := range map[string]any{
		AttrJourney.GetName(): &l.Journey, AttrStatus.GetName(): &l.Status,
		AttrNextAt.GetName(): &l.NextAt, AttrDeadline.GetName(): &l.Deadline,
	} {
		if p, ok := fields[name]; ok {
			if err := dc.FromPayload(p, dst); err != nil {
				return l, fmt.Errorf("search attribute %s: %w", name, err)
			}
		}
	}
	return l, nil
}
