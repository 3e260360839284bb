package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// ReadCloses reads every closing event on the JOURNEYS stream, as it is now. It needs only the
// reader role's rights: an ordered consumer, filtered to the closing events' subjects.
func ReadCloses(ctx context.Context, js jetstream.JetStream) ([]Close, error) {
	var closes []Close
	err := readJourneyEvents(ctx, js, closingTypes, func(ev events.JourneyEvent) { closes = append(closes, Closes(ev)...) })
	return closes, err
}

// readJourneyEvents hands each journey event of the given types on the JOURNEYS stream to each, in
// stream order, through an ordered consumer filtered to their subjects.
func readJourneyEvents(ctx context.Context, js jetstream.JetStream, types []string, each func(events.JourneyEvent)) error {
	subjects := make([]string, len(types))
	for i, t := range types {
		journey, _, _ := strings.Cut(t, ".")
		subjects[i] = events.JourneySubject(journey, t)
	}
	return events.ReadAll(ctx, js, events.JourneyStream, subjects, func(msg jetstream.Msg) error {
		var ev events.JourneyEvent
		if err := json.Unmarshal(msg.Data(), &ev); err != nil {
			return fmt.Errorf("journey event at sequence %d: %w", seq(msg), err)
		}
		each(ev)
		return nil
	})
}

func seq(msg jetstream.Msg) uint64 {
	if meta, err := msg.Metadata(); err == nil {
		return meta.Sequence.Stream
	}
	return 0
}

// ReadJourneys lists every run of every journey from visibility, marking the runs a
// continue-as-new started (the run before it, of the same workflow id, continued as new) and those
// that are not a journey's current run.
func ReadJourneys(ctx context.Context, c client.Client) ([]Journey, error) {
	listed, err := workflows.List(ctx, c, workflows.Filter{}, nil)
	if err != nil {
		return nil, err
	}
	current := map[string]string{}
	for _, l := range workflows.Current(listed) {
		current[l.WorkflowID] = l.RunID
	}
	slices.SortStableFunc(listed, func(a, b workflows.Listed) int {
		return cmp.Or(cmp.Compare(a.WorkflowID, b.WorkflowID), a.Started.Compare(b.Started))
	})
	var out []Journey
	for i, l := range listed {
		continued := i > 0 && listed[i-1].WorkflowID == l.WorkflowID && listed[i-1].Execution == "ContinuedAsNew"
		out = append(out, Journey{
			Journey: l.Journey, WorkflowID: l.WorkflowID, Started: l.Started, Deadline: l.Deadline,
			Open: l.Execution == "Running", Overdue: l.Status == workflows.StatusOverdue,
			Continued: continued, Superseded: current[l.WorkflowID] != l.RunID,
		})
	}
	return out, nil
}

// OpenedFrom is the first day whose openings visibility still lists in full: today less the
// namespace's retention, after which Temporal deletes a closed journey's runs (and a run a
// continue-as-new started would no longer show the run before it).
func OpenedFrom(ctx context.Context, c client.Client, namespace string, today rules.Date) (rules.Date, time.Duration, error) {
	resp, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		return rules.Date{}, 0, fmt.Errorf("namespace %s: %w", namespace, err)
	}
	retention := resp.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
	return today.AddDays(-int(retention.Hours() / 24)), retention, nil
}
