package workflows

import (
	"testing"
	"time"
)

// Of the runs listed for one workflow id, Current keeps the one started last, wherever the
// listing's order put it, and keeps the listing's order otherwise.
func TestCurrentKeepsEachJourneysLatestRun(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 12, d, 10, 0, 0, 0, time.UTC) }
	listed := []Listed{
		{WorkflowID: "a", RunID: "a1", Started: day(1), Execution: "ContinuedAsNew"},
		{WorkflowID: "b", RunID: "b1", Started: day(2), Execution: "Running"},
		{WorkflowID: "a", RunID: "a3", Started: day(3), Execution: "Running"},
		{WorkflowID: "a", RunID: "a2", Started: day(2), Execution: "ContinuedAsNew"},
	}
	got := Current(listed)
	if len(got) != 2 || got[0].RunID != "b1" || got[1].RunID != "a3" {
		t.Errorf("current runs %+v, want b1 then a3", got)
	}
}
