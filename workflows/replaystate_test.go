package workflows

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// Replay compares only the commands' types and ids: a journey whose rebuilt state no longer
// matches what it published (another due date, another field) replays without an error. These
// tests compare what the replayed code publishes, event for event and field for field, with what
// the history says was published: what a journey decides must be a function of its history
// alone, whichever code replays it.

// publishedOnReplay replays the history in file and returns the journey events the code
// published on the way, and those the history recorded, each as JSON.
func publishedOnReplay(t *testing.T, file string) (replayed, recorded []string) {
	t.Helper()
	replayed, recorded, err := replayChanged(t, file, nil)
	if err != nil {
		t.Fatalf("replay %s: %v", file, err)
	}
	return replayed, recorded
}

// replayChanged is publishedOnReplay of the history changed by change (nil: as recorded), with
// replay's own verdict.
func replayChanged(t *testing.T, file string, change func(*historypb.History)) (replayed, recorded []string, err error) {
	t.Helper()
	capture := &publishCapture{}
	dc := recordingConverter(t)
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
		DataConverter: dc,
		Interceptors:  []interceptor.WorkerInterceptor{capture},
	})
	if err != nil {
		t.Fatal(err)
	}
	Register(r)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	h, err := client.HistoryFromJSON(bytes.NewReader(b), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	workflowID := ""
	for _, ev := range h.GetEvents() {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "Publish" {
			var je events.JourneyEvent
			if err := dc.FromPayloads(a.GetInput(), &je); err != nil {
				t.Fatalf("%s: publish input: %v", file, err)
			}
			recorded = append(recorded, canonical(t, je))
			workflowID = je.Subject // the journey's workflow id, which replay runs under
		}
	}
	if change != nil {
		change(h)
	}
	err = r.ReplayWorkflowHistoryWithOptions(quietLogger{}, h, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: workflowID, RunID: "recorded"},
	})
	for _, je := range capture.published {
		replayed = append(replayed, canonical(t, je))
	}
	return replayed, recorded, err
}

// canonical is a journey event as JSON with its keys sorted, as it went over the wire.
func canonical(t *testing.T, je events.JourneyEvent) string {
	t.Helper()
	b, err := json.Marshal(je)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if b, err = json.Marshal(v); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// replayedHistories are the recorded histories whose publications the history holds in full:
// those that publish through activity tasks (a local activity's marker keeps no input).
func replayedHistories(t *testing.T) []string {
	t.Helper()
	var files []string
	for dir, v := range recordedVersions {
		if v.publish >= versionLocalPublish {
			continue
		}
		found, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, found...)
	}
	slices.Sort(files)
	return files
}

// Every recorded history, replayed by today's code, publishes exactly what it published.
func TestReplayPublishesWhatTheHistoryPublished(t *testing.T) {
	for _, f := range replayedHistories(t) {
		t.Run(f, func(t *testing.T) { samePublications(t, f) })
	}
}

// careclock's default holidays change (a new calendar is current): every recorded journey still
// publishes what it published, as it keeps the calendar it started with. The new calendar makes
// every Thursday a holiday, so that any business-day clock would move.
func TestReplayAfterTheDefaultHolidaysChange(t *testing.T) {
	withCalendar(t, 99)
	rules.CurrentCalendar = 99
	for _, f := range replayedHistories(t) {
		t.Run(f, func(t *testing.T) { samePublications(t, f) })
	}
}

// The comparison can fail where replay cannot: a journey whose state no longer matches its
// history (here its member id, as a decoding or default that changed under it would change a
// fact) issues the same commands, so replay passes, but publishes other events, and the
// comparison says so.
func TestReplayComparisonCatchesAChangedState(t *testing.T) {
	dc := recordingConverter(t)
	replayed, recorded, err := replayChanged(t, filepath.Join("testdata", "reimbursement.json"), func(h *historypb.History) {
		a := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
		var st map[string]any
		if err := dc.FromPayloads(a.GetInput(), &st); err != nil {
			t.Fatal(err)
		}
		st["facts"].(map[string]any)["memberId"] = "M-SOMEONE-ELSE"
		p, err := dc.ToPayloads(st)
		if err != nil {
			t.Fatal(err)
		}
		a.Input = p
	})
	if err != nil {
		t.Fatalf("replay itself refused the changed state (%v); this test wants a change replay cannot see", err)
	}
	if len(recorded) == 0 || slices.Equal(replayed, recorded) {
		t.Fatalf("a journey whose member changed published the same %d events on replay", len(recorded))
	}
}

// Before calendars were numbered, the default holidays were the running code's: a change of them
// made a recorded authorization decide other business days, which replay refuses or, where the
// commands stay the same, the comparison catches.
func TestReplayCatchesAChangedCalendarUnderAJourney(t *testing.T) {
	withCalendar(t, 1)
	// Recorded on a Wednesday: its notice of action is due 2 business days after, on Friday,
	// which a Thursday holiday moves.
	replayed, recorded, err := replayChanged(t, filepath.Join("testdata", "before-directory", "authorization.json"), nil)
	if err == nil && slices.Equal(replayed, recorded) {
		t.Fatal("an authorization whose business days changed under it replayed and published the same events")
	}
}

func samePublications(t *testing.T, file string) {
	t.Helper()
	replayed, recorded := publishedOnReplay(t, file)
	if len(recorded) == 0 && len(replayed) == 0 {
		return
	}
	if !slices.Equal(replayed, recorded) {
		t.Errorf("replayed code published\n  %s\nthe history published\n  %s", join(replayed), join(recorded))
	}
}

func join(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteString("\n  ")
		}
		b.WriteString(x)
	}
	return b.String()
}

// thursdaysOff is the first calendar with every Thursday a holiday too.
func thursdaysOff(first func(int) []rules.Holiday) func(int) []rules.Holiday {
	return func(year int) []rules.Holiday {
		out := first(year)
		for d := rules.NewDate(year, 1, 1); d.Year == year; d = d.AddDays(1) {
			if d.Weekday() == time.Thursday {
				out = append(out, rules.Holiday{Date: d, Name: "Thursday"})
			}
		}
		return out
	}
}

// withCalendar sets calendar n to the first calendar with every Thursday off for the test,
// restoring the calendars and CurrentCalendar after.
func withCalendar(t *testing.T, n int) {
	t.Helper()
	old, hadOld := rules.Calendars[n]
	current := rules.CurrentCalendar
	rules.Calendars[n] = thursdaysOff(rules.Calendars[1])
	t.Cleanup(func() {
		rules.CurrentCalendar = current
		if hadOld {
			rules.Calendars[n] = old
		} else {
			delete(rules.Calendars, n)
		}
	})
}

// publishCapture records the journey events the replayed code publishes through activity tasks.
type publishCapture struct {
	interceptor.WorkerInterceptorBase
	published []events.JourneyEvent
}

func (c *publishCapture) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &captureInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, c: c}
}

type captureInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	c *publishCapture
}

func (i *captureInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&captureOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, c: i.c})
}

type captureOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	c *publishCapture
}

func (o *captureOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	if len(args) == 1 {
		if je, ok := args[0].(events.JourneyEvent); ok {
			o.c.published = append(o.c.published, je)
		}
	}
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}
