package workflows

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
)

// A journey keeps the versions it resolved for its whole life: one started before
// changeEventIDs, whose first run took the old id form, keeps that form in every run after
// continue-as-new, though the worker that runs the later runs prefers the newest.
func TestContinueAsNewKeepsTheVersionsAJourneyResolved(t *testing.T) {
	jt := newJourneyTest(t, "2026-11-22T10:00:00-08:00")
	jt.oldIDs = true
	jt.preferVersions = func(in worker.PreferredVersionProviderInput) *worker.VersionPreference {
		if jt.runs == 1 && in.ChangeID == changeEventIDs {
			return &worker.VersionPreference{Version: workflow.DefaultVersion}
		}
		return PreferVersions()(in)
	}
	// Born 2007-01-10: notices on 2027-01-10, 07-10 and 10-10 in the first run (a year from
	// 2026-11-22), 2027-12-10 and the 21st birthday 2028-01-10 in the second.
	jt.run(events.MemberEnrolled, enrolled("2007-01-10", true))
	if jt.runs != 2 {
		t.Fatalf("%d runs, want the journey to continue as new once", jt.runs)
	}
	if len(jt.events) != 5 {
		t.Fatalf("%d events published, want 5", len(jt.events))
	}
	for _, ev := range jt.events {
		if strings.Contains(ev.ID, "#") || events.JourneyEventIDPattern.MatchString(ev.ID) {
			t.Errorf("event id %q is of the numbered form: a later run took a version the journey had not", ev.ID)
		}
	}
}

// versions.saved holds what a run was given and what it resolved; a journey given none and
// resolving none carries none, as before versions were carried.
func TestVersionsSaved(t *testing.T) {
	v := newVersions(nil)
	if got := v.saved(); got != nil {
		t.Errorf("nothing given or resolved: %v, want nil", got)
	}
	v = newVersions(map[string]workflow.Version{changeFactsFirst: 1})
	v.resolved[changeEventIDs] = workflow.DefaultVersion
	got := v.saved()
	if len(got) != 2 || got[changeFactsFirst] != 1 || got[changeEventIDs] != workflow.DefaultVersion {
		t.Errorf("saved %v, want facts-first 1 and event-ids -1", got)
	}
	if len(v.given) != 1 {
		t.Errorf("saving changed the versions given: %v", v.given)
	}
}
