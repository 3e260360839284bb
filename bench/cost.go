package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

func (b *bench) dbNote() string {
	if b.pgData != "" {
		return "growth of PostgreSQL's data folder (both databases, WAL) over the first round's ingest"
	}
	return "growth of temporal.db and its WAL over the first round's ingest"
}

// dbBytes is the size of Temporal's database: temporal.db and its WAL on the dev stack,
// PostgreSQL's data folder on the production topology; 0 against servers bench did not start.
func (b *bench) dbBytes() (int64, error) {
	if b.pgData != "" {
		return folderBytes(b.pgData)
	}
	if b.external {
		return 0, nil
	}
	files, err := filepath.Glob(filepath.Join(b.s.DataDir(), "temporal.db*"))
	if err != nil {
		return 0, err
	}
	var n int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return 0, err
		}
		n += fi.Size()
	}
	return n, nil
}

// cost counts, in the recorded full-life history of each journey (workflows/testdata), the
// history events, the workflow tasks (one round trip to a worker each), and the actions Temporal
// Cloud bills: the start, signals, activities, local activities (one each: an upper bound),
// timers, search attribute upserts (not the TemporalChangeVersion one, which is exempt), child
// starts and continue-as-new. Each is compared with the same history recorded before
// changeLocalPublish (testdata/before-local-publish), and the note gives the history of journeys
// that publish by local activity (testdata/local-publish).
func (b *bench) cost(context.Context) error {
	dir := filepath.Join("workflows", "testdata")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("recorded histories in %s: %v (run bench from the repository root)", dir, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if strings.Contains(name, "continue") {
			continue // the two runs of a reimbursement either side of a continue-as-new
		}
		var c [3]counts // current, before, local publish
		older := true   // a journey added after changeLocalPublish has no history from before it
		for i, file := range []string{f, filepath.Join(dir, "before-local-publish", filepath.Base(f)), filepath.Join(dir, "local-publish", filepath.Base(f))} {
			if i > 0 && !older {
				continue
			}
			if _, err := os.Stat(file); i > 0 && errors.Is(err, fs.ErrNotExist) {
				older = false
				continue
			}
			if c[i], err = historyCost(file); err != nil {
				return err
			}
		}
		for _, m := range []struct {
			what, unit string
			n          func(counts) int
		}{
			{"history events", "events", func(c counts) int { return c.events }},
			{"workflow tasks", "tasks", func(c counts) int { return c.tasks }},
			{"actions", "actions", func(c counts) int { return c.actions }},
		} {
			now, before, local := m.n(c[0]), m.n(c[1]), m.n(c[2])
			if !older {
				b.add(Result{Scenario: m.what + ": " + name, N: 1, Value: float64(now), Unit: m.unit,
					Note: "a journey added after the change: no history from before it"})
				continue
			}
			b.add(Result{Scenario: m.what + ": " + name, N: 1, Value: float64(now), Unit: m.unit,
				Ratio: float64(now) / float64(before), RatioTo: fmt.Sprintf("before the change (%d)", before),
				Note: fmt.Sprintf("local publish: %d (%.2f ×)", local, float64(local)/float64(before))})
		}
	}
	return nil
}

// counts are what one recorded history costs.
type counts struct{ events, tasks, actions int }

func historyCost(file string) (counts, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return counts{}, err
	}
	h, err := client.HistoryFromJSON(bytes.NewReader(raw), client.HistoryJSONOptions{})
	if err != nil {
		return counts{}, fmt.Errorf("%s: %w", file, err)
	}
	c := counts{events: len(h.GetEvents())}
	for _, ev := range h.GetEvents() {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			c.tasks++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_TIMER_STARTED,
			enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
			c.actions++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if ev.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" {
				c.actions++
			}
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			fields := ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
			if _, version := fields["TemporalChangeVersion"]; !version || len(fields) > 1 {
				c.actions++
			}
		}
	}
	return c, nil
}
