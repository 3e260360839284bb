package workflows

import (
	"maps"

	"go.temporal.io/sdk/workflow"
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
