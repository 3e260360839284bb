package workflows

import (
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
)

// maxApplied is how many inbound events a journey remembers for telling a redelivery from a new
// event. A redelivery comes within JetStream's redelivery of one message (minutes, or the hours
// of an outage), long before a journey has seen a thousand events since; a journey that lives
// for years does not keep every id it ever saw.
const maxApplied = 1000

// maxRefused is how many refused inbound events a journey keeps for operators.
const maxRefused = 20

// changeSourceIDs versions how a journey tells a redelivered inbound event from a new one.
// Before it, by id alone; from versionSourceIDs by source and id, as CloudEvents makes them
// unique (two systems may both send an event "1"). The version is asked only when an event
// matches an applied one by id but not by source, the one case where the answer differs.
const (
	changeSourceIDs  = "source-ids"
	versionSourceIDs = workflow.Version(1)
)

// appliedKey is how an inbound event is remembered in State.Applied: its source and id. The
// start event is remembered by its id alone (NewState), as every event was before
// changeSourceIDs.
func appliedKey(ev events.Event) string { return ev.Source + keySep + ev.ID }

// keySep separates source and id in appliedKey: a control character no producer puts in either.
const keySep = "\x1f"

// appliedID is the event id of a State.Applied entry.
func appliedID(entry string) string {
	if _, id, ok := strings.Cut(entry, keySep); ok {
		return id
	}
	return entry
}

// seen reports whether the journey has applied ev already.
func (r *runner[F, PF]) seen(ctx workflow.Context, ev events.Event) bool {
	if slices.Contains(r.s.Applied, appliedKey(ev)) {
		return true
	}
	if !slices.ContainsFunc(r.s.Applied, func(e string) bool { return appliedID(e) == ev.ID }) {
		return false
	}
	// Same id; another source, or an entry that kept no source (the start event, or an event
	// applied before changeSourceIDs). A bare entry is the same event, as it always was.
	if slices.Contains(r.s.Applied, ev.ID) {
		return true
	}
	return r.versions.get(ctx, changeSourceIDs, versionSourceIDs) < versionSourceIDs
}

// remember records ev as applied, keeping the latest maxApplied.
func (r *runner[F, PF]) remember(ev events.Event) {
	r.s.AppliedCount++
	r.s.Applied = append(r.s.Applied, appliedKey(ev))
	if n := len(r.s.Applied); n > maxApplied {
		r.s.Applied = slices.Delete(r.s.Applied, 0, n-maxApplied)
	}
}

// Refusal is an inbound event a journey could not apply. It names the event by id and type,
// never by what it carries.
type Refusal struct {
	ID     string    `json:"id"`
	Source string    `json:"source"`
	Type   string    `json:"type"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// MetricRefused counts the inbound events journeys could not apply, by journey and event type.
const MetricRefused = "careclock_journey_events_refused"

// refuse records an inbound event the journey could not apply: in its state (describe shows
// it), in a metric, and in the log. The event stays remembered as applied: applying it again
// would be refused again.
func (r *runner[F, PF]) refuse(ctx workflow.Context, ev events.Event, err error) {
	workflow.GetLogger(ctx).Warn("inbound event not applied", "type", ev.Type, "reason", err.Error())
	r.s.Refused = append(r.s.Refused, Refusal{ID: ev.ID, Source: ev.Source, Type: ev.Type, Reason: err.Error(), At: workflow.Now(ctx)})
	if n := len(r.s.Refused); n > maxRefused {
		r.s.Refused = slices.Delete(r.s.Refused, 0, n-maxRefused)
	}
	label := ev.Type
	if !events.Known(label) && label != EventPolicyChanged {
		label = "unknown" // a label never carries what a sender wrote
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"journey": r.journey, "type": label}).Counter(MetricRefused).Inc(1)
}
