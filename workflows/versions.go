package workflows

import (
	"maps"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/rules"
)

// versions are the versions of the changes a journey runs under (the change* constants), one
// place for all of them. A version comes from the journey's state when its starter chose it, or
// when an earlier run resolved it (State.Versions); otherwise it is asked with
// workflow.GetVersion the first time the journey needs to know, and kept. Every resolved version
// is written into the state that continue-as-new carries (saved), so that a journey keeps the
// behaviour it started with for its whole life, not only for the run that asked: a run that took
// an old event id form or an old meaning of time hands the same to the next run, whichever code
// runs it.
type versions struct {
	// given are the versions the run was started with (State.Versions); the journeys it starts
	// get the same.
	given map[string]workflow.Version
	// resolved are the versions asked in this run.
	resolved map[string]workflow.Version
}

func newVersions(given map[string]workflow.Version) *versions {
	return &versions{given: given, resolved: map[string]workflow.Version{}}
}

// get is the journey's version of change, asking GetVersion (with max the newest version the
// code knows) when neither the state nor this run has it yet.
func (v *versions) get(ctx workflow.Context, change string, max workflow.Version) workflow.Version {
	if x, ok := v.given[change]; ok {
		return x
	}
	if x, ok := v.resolved[change]; ok {
		return x
	}
	x := workflow.GetVersion(ctx, change, workflow.DefaultVersion, max)
	v.resolved[change] = x
	return x
}

// saved are the versions the next run starts with: those given and those resolved. nil when the
// journey has none, as a journey recorded before versions were carried had.
func (v *versions) saved() map[string]workflow.Version {
	if len(v.given) == 0 && len(v.resolved) == 0 {
		return nil
	}
	out := maps.Clone(v.given)
	if out == nil {
		out = map[string]workflow.Version{}
	}
	maps.Copy(out, v.resolved)
	return out
}

// changeLocalPublish versions how a journey keeps its search attributes and publishes. At
// DefaultVersion (every journey recorded before it) each step upserts every attribute and each
// event goes through an activity task. From versionChangedUpserts a journey starts with its
// attributes and upserts only those that changed. At versionLocalPublish it also publishes each
// event by a local activity, in the workflow task that decided it. Which version a new journey
// records was the worker's choice (PreferVersions), and since the listener sets it in the
// start's input (CurrentVersions), versionChangedUpserts; a journey keeps it for its whole run,
// so the journeys that were started at versionLocalPublish go on publishing by local activity.
// GetVersion costs one marker and one TemporalChangeVersion upsert per run, not per event.
const (
	changeLocalPublish    = "local-publish"
	versionChangedUpserts = workflow.Version(1)
	versionLocalPublish   = workflow.Version(2)
)

// changeFactsFirst versions how a journey meets facts that arrived before it decided what is
// due (docs/rules.md, Time: a fact takes effect on its own date). From versionFactsFirst a journey
// applies every inbound event already received before each step, so that a back-dated close
// (paid, decided, withdrawn, contracted, disenrolled) that arrived with its start, or while no
// worker ran, ends it before anything dated after it is published; a journey started late waits
// settleLate before publishing its late events, so that a close sent together with its start is
// applied first; and a journey that starts another one (an eligible referral's age-out) opens a
// new run of it when the last one ended and its deadline is still ahead. Before it applies a
// dated fact, it publishes what was due on the days before the fact's date and is not out yet,
// as the journey stood when the fact took effect (catchUp).
const (
	changeFactsFirst  = "facts-first"
	versionFactsFirst = workflow.Version(1)
)

// changeEventIDs versions the form of a journey event's id (its Nats-Msg-Id). Before it, a
// scheduled event's id was <workflowId>:<type>@<date>, and an event published at once for an
// inbound event (opened, transferred, closed…) <workflowId>:<type>@<date>#<seq>.<index>. From
// versionNumberedIDs every event's id is events.JourneyEventID: <workflowId>:<type>@<date>#<n>,
// n counting the journey's published events of that type and date. Journeys that publish by
// local activity keep the old form: their publication is not in the history until its marker,
// and a worker that took one over mid-publication must send the id the first one sent.
const (
	changeEventIDs     = "event-ids"
	versionNumberedIDs = workflow.Version(1)
)

// changeSuperseded versions docs/rules.md's rule for several missed advance notices of one
// series (a journey started late): from versionSuperseded only the latest is published late and
// the earlier ones are recorded as skipped, superseded (rules.Step.Supersede). Before it, each
// was published late. A journey asks the version the first time a step has two late notices of
// one series, so that most journeys never record a marker.
const (
	changeSuperseded  = "superseded-notices"
	versionSuperseded = workflow.Version(1)
)

// changeEventTime versions what a journey event's CloudEvents time means (docs/events.md, time).
// Before it, a scheduled event's time was the instant it was due, so a notice published late was
// stamped with a past instant, and an immediate one's was the instant it was published. From
// versionPublishTime every event's time is the instant the journey published it (when the
// occurrence happened, as CloudEvents defines it), and the instant it was due is in its data as
// scheduledAt. Journeys that publish by local activity keep the old meaning, as they keep the old
// ids (changeEventIDs).
const (
	changeEventTime    = "event-time"
	versionPublishTime = workflow.Version(1)
)

// changePolicyOver versions what a policy-change signal is read over: from versionPolicyOver the
// journey's own policy, so that a key the signal leaves out keeps the journey's value whatever
// code replays it; before it, the defaults of the running code. Asked only when such a signal
// arrives.
const (
	changePolicyOver  = "policy-over"
	versionPolicyOver = workflow.Version(1)
)

// isFactsFirst reports whether the journey runs changeFactsFirst. It asks the first time a step
// needs to know (an inbound event to apply first, a late start, a dated fact, a journey to start
// again), not at the start of every run: most journeys' first task, the one every start pays
// for, records no marker, and a journey that never needs it never records one. A journey
// started before the change takes it up at the first such point it reaches in a new workflow
// task; its recorded history, replayed, keeps DefaultVersion there.
func (r *runner[F, PF]) isFactsFirst(ctx workflow.Context) bool {
	return r.versions.get(ctx, changeFactsFirst, versionFactsFirst) >= versionFactsFirst
}

// supersede applies rules.Step.Supersede to a step from versionSuperseded. It asks the version
// only when the step has two late notices of one series, the one case where it matters.
func (r *runner[F, PF]) supersede(ctx workflow.Context, step *rules.Step) {
	if !step.Supersedes() {
		return
	}
	if r.versions.get(ctx, changeSuperseded, versionSuperseded) >= versionSuperseded {
		step.Supersede()
	}
}

// changeCancelWakes versions what cancelling a journey that has nothing due does (an operator's
// cancel, `temporal workflow cancel`). Before it, such a journey waited with no timer, so the
// cancellation was seen only when an inbound event arrived; from versionCancelWakes it ends the
// journey at once, as it does one that waits for a timer. Asked only when such a cancellation
// arrives.
const (
	changeCancelWakes  = "cancel-wakes"
	versionCancelWakes = workflow.Version(1)
)
