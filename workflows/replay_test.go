package workflows

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/privacy"
)

// Histories recorded from the in-process server (testdata/*.json: one per journey, each with
// inbound signals, a re-plan and its end, and a reimbursement's two runs either side of a
// continue-as-new) replay against the current code. A change that would
// break running journeys fails here; see README, "Changing a journey safely". Re-record with
//
//	go test ./devstack/stack -run 'TestRecordHistories|TestContinueAsNewKeepsState' -record
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < len(Journeys) {
		t.Fatalf("%d recorded histories, want at least one per journey (%d)", len(files), len(Journeys))
	}
	continued := 0
	for _, f := range files {
		if b, err := os.ReadFile(f); err != nil {
			t.Fatal(err)
		} else if bytes.Contains(b, []byte(`"EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW"`)) {
			continued++
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := replayer(t)
			Register(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(quietLogger{}, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
	if continued == 0 {
		t.Error("no recorded history continues as new; record one with TestContinueAsNewKeepsState -record")
	}
}

// The replay test can fail: a journey that no longer does what its history says is refused.
func TestReplayRefusesAChangedJourney(t *testing.T) {
	r := replayer(t)
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, _ State[ReimbursementFacts]) error {
		return workflow.Sleep(ctx, time.Hour) // a timer where the history has a publication
	}, workflow.RegisterOptions{Name: JourneyReimbursement})
	err := r.ReplayWorkflowHistoryFromJSONFile(quietLogger{}, "testdata/reimbursement.json")
	if err == nil || !strings.Contains(err.Error(), "TMPRL1100") {
		t.Fatalf("a changed reimbursement journey replayed its recorded history: %v; want a nondeterminism error (TMPRL1100)", err)
	}
}

// replayer decrypts with the test key histories are recorded with (testdata/codec.keys); a
// history recorded before encryption passes through as it is.
func replayer(t *testing.T) worker.WorkflowReplayer {
	t.Helper()
	ring, err := privacy.LoadKeyringFile("testdata/codec.keys")
	if err != nil {
		t.Fatal(err)
	}
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), privacy.Codec{Keys: ring})
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
		DataConverter:    dc,
		FailureConverter: temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
