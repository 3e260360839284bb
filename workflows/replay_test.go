package workflows

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
)

// Histories recorded from the in-process server (testdata/*.json: one per journey, each with
// inbound signals, a re-plan and its end, and a reimbursement's two runs either side of a
// continue-as-new) replay against the current code, as do the same histories of journeys whose
// versions were recorded by markers rather than given in their input (testdata/versions-by-marker),
// those recorded before changeFactsFirst (testdata/before-facts-first), of journeys that publish by local activity
// (testdata/local-publish, also before it) and those recorded before changeLocalPublish
// (testdata/before-local-publish), when every step upserted every search attribute: journeys
// running then go on as they began. A change that would break running journeys fails here; see
// docs/changing-a-journey.md. Re-record the current ones with
//
//	go test ./devstack/stack -run 'TestRecordHistories|TestContinueAsNewKeepsState' -record [-local-publish]
func TestReplayRecordedHistories(t *testing.T) {
	for dir := range recordedVersions {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		// The current histories hold every journey; older folders, the five of their day.
		if len(files) < 5 {
			t.Fatalf("%s: %d recorded histories, want at least one per journey", dir, len(files))
		}
		if dir == "testdata" {
			for _, j := range Journeys {
				if !slices.Contains(files, filepath.Join(dir, j+".json")) {
					t.Errorf("%s: no recorded history of %s; record one with TestRecordHistories -record", dir, j)
				}
			}
		}
		continued := 0
		for _, f := range files {
			if b, err := os.ReadFile(f); err != nil {
				t.Fatal(err)
			} else if bytes.Contains(b, []byte(`"EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW"`)) {
				continued++
			}
			t.Run(f, func(t *testing.T) {
				r := replayer(t)
				Register(r)
				if err := r.ReplayWorkflowHistoryFromJSONFile(quietLogger{}, f); err != nil {
					t.Fatalf("replay %s: %v", f, err)
				}
			})
		}
		if continued == 0 {
			t.Errorf("%s: no recorded history continues as new; record one with TestContinueAsNewKeepsState -record", dir)
		}
	}
}

// recordedVersions are the folders of recorded histories, each with the versions its journeys
// run: changeLocalPublish's, changeFactsFirst's, changeEventIDs', changeSuperseded's and
// changeEventTime's (none: workflow.DefaultVersion, before the change).
const none = workflow.DefaultVersion

var recordedVersions = map[string]struct{ publish, factsFirst, eventIDs, superseded, eventTime workflow.Version }{
	"testdata": {versionChangedUpserts, versionFactsFirst, versionNumberedIDs, versionSuperseded, versionPublishTime},
	filepath.Join("testdata", "before-dated-policy"):  {versionChangedUpserts, versionFactsFirst, versionNumberedIDs, versionSuperseded, versionPublishTime},
	filepath.Join("testdata", "before-directory"):     {versionChangedUpserts, versionFactsFirst, versionNumberedIDs, versionSuperseded, versionPublishTime},
	filepath.Join("testdata", "before-event-time"):    {versionChangedUpserts, versionFactsFirst, versionNumberedIDs, versionSuperseded, none},
	filepath.Join("testdata", "before-superseded"):    {versionChangedUpserts, versionFactsFirst, versionNumberedIDs, none, none},
	filepath.Join("testdata", "before-event-ids"):     {versionChangedUpserts, versionFactsFirst, none, none, none},
	filepath.Join("testdata", "versions-by-marker"):   {versionChangedUpserts, versionFactsFirst, none, none, none},
	filepath.Join("testdata", "before-facts-first"):   {versionChangedUpserts, none, none, none, none},
	filepath.Join("testdata", "local-publish"):        {versionLocalPublish, none, none, none, none},
	filepath.Join("testdata", "before-local-publish"): {none, none, none, none, none},
}

// Each set of recorded histories is of the version it is named for, and publishes as that
// version does: by local activity only at versionLocalPublish, through activity tasks only
// before it. A history before the change has no version marker.
func TestRecordedHistoriesAreOfTheirVersion(t *testing.T) {
	dc := recordingConverter(t)
	for dir, v := range recordedVersions {
		local := v.publish >= versionLocalPublish
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			h, err := client.HistoryFromJSON(bytes.NewReader(b), client.HistoryJSONOptions{})
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if slices.Contains([]string{DirectoryMember, DirectoryProvider}, h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()) {
				continue // a directory: no versions yet, no publications
			}
			var versions []string
			markers, activities := 0, 0
			// Versions given in the journey's input, then those its markers record.
			var input struct {
				Versions map[string]workflow.Version `json:"versions"`
			}
			if err := dc.FromPayloads(h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetInput(), &input); err != nil {
				t.Fatalf("%s: input: %v", f, err)
			}
			for _, id := range []string{changeLocalPublish, changeFactsFirst, changeEventIDs, changeSuperseded, changeEventTime} {
				if v, ok := input.Versions[id]; ok {
					versions = append(versions, fmt.Sprintf("%s=%d", id, v))
				}
			}
			numbered, published := 0, 0
			for _, ev := range h.GetEvents() {
				if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
					activities++
					var je events.JourneyEvent
					if err := dc.FromPayloads(a.GetInput(), &je); err != nil {
						t.Fatalf("%s: publish input: %v", f, err)
					}
					published++
					if events.JourneyEventIDPattern.MatchString(je.ID) {
						numbered++
					}
				}
				m := ev.GetMarkerRecordedEventAttributes()
				switch m.GetMarkerName() {
				case "LocalActivity":
					markers++
				case "Version":
					var id string
					var v workflow.Version
					if err := dc.FromPayloads(m.GetDetails()["change-id"], &id); err != nil {
						t.Fatalf("%s: version marker: %v", f, err)
					}
					if err := dc.FromPayloads(m.GetDetails()["version"], &v); err != nil {
						t.Fatalf("%s: version marker: %v", f, err)
					}
					versions = append(versions, fmt.Sprintf("%s=%d", id, v))
				}
			}
			want := []string(nil)
			if v.publish != workflow.DefaultVersion {
				want = append(want, fmt.Sprintf("%s=%d", changeLocalPublish, v.publish))
			}
			if v.factsFirst != workflow.DefaultVersion {
				want = append(want, fmt.Sprintf("%s=%d", changeFactsFirst, v.factsFirst))
			}
			if v.eventIDs != workflow.DefaultVersion {
				want = append(want, fmt.Sprintf("%s=%d", changeEventIDs, v.eventIDs))
			}
			if v.superseded != workflow.DefaultVersion {
				want = append(want, fmt.Sprintf("%s=%d", changeSuperseded, v.superseded))
			}
			if v.eventTime != workflow.DefaultVersion {
				want = append(want, fmt.Sprintf("%s=%d", changeEventTime, v.eventTime))
			}
			// Every id is of the numbered form from versionNumberedIDs, and none before it.
			if wantNumbered := map[bool]int{true: published, false: 0}[v.eventIDs >= versionNumberedIDs]; numbered != wantNumbered {
				t.Errorf("%s: %d of %d journey event ids of the form <workflowId>:<type>@<date>#<n>, want %d", f, numbered, published, wantNumbered)
			}
			if !slices.Equal(versions, want) || (markers > 0) != local || (activities > 0) == local {
				t.Errorf("%s: versions %v, %d local activity markers, %d activity tasks; want versions %v and publication only by %s",
					f, versions, markers, activities, want, map[bool]string{true: "local activity", false: "activity task"}[local])
			}
		}
	}
}

// The replay test can fail: a journey that no longer does what its history says is refused.
func TestReplayRefusesAChangedJourney(t *testing.T) {
	r := replayer(t)
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, _ State[ReimbursementFacts]) error {
		return workflow.Sleep(ctx, time.Hour) // a timer where the history has a publication
	}, workflow.RegisterOptions{Name: JourneyReimbursement})
	err := r.ReplayWorkflowHistoryFromJSONFile(quietLogger{}, "testdata/before-event-ids/reimbursement.json")
	if err == nil || !strings.Contains(err.Error(), "TMPRL1100") {
		t.Fatalf("a changed reimbursement journey replayed its recorded history: %v; want a nondeterminism error (TMPRL1100)", err)
	}
}

// recordingConverter decrypts with the key histories are recorded with. The key is a test
// fixture in the repository (mode 0644 in any checkout), so it is parsed here rather than loaded
// as a secret, which a file open to others would not be.
func recordingConverter(t *testing.T) converter.DataConverter {
	t.Helper()
	b, err := os.ReadFile("testdata/codec.keys")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := privacy.ParseKeyring(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), privacy.Codec{Keys: ring})
}

// replayer decrypts with the test key histories are recorded with (testdata/codec.keys); a
// history recorded before encryption passes through as it is.
func replayer(t *testing.T) worker.WorkflowReplayer {
	t.Helper()
	dc := recordingConverter(t)
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
		DataConverter:    dc,
		FailureConverter: temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
