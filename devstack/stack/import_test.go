package stack_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/importer"
	"github.com/careclock/careclock/internal/openwork"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// A plan's open work at go-live, 5,000 items of every kind made apart from the code under test
// (30 of them bad), imported three days after go-live: no journey event dated before go-live
// reaches NATS, though many fell due before it; what fell due from go-live on is published; the
// bad rows are in the refusals files with their reasons; and a rerun starts nothing and publishes
// nothing.
func TestImportOfAPlansOpenWorkSendsNothingDatedBeforeGoLive(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 5,000 items")
	}
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	goLive := today.AddDays(-3)
	dir := t.TempDir()
	const n, bad = 5000, 30
	files, err := openwork.Write(dir, openwork.Options{N: n, GoLive: goLive, Today: today, Bad: bad, Seed: 29})
	if err != nil {
		t.Fatal(err)
	}
	var inputs []importer.Input
	var items []importer.Item
	for i, f := range files {
		in, err := importer.Read(f, "", "urn:plan:export", i, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, in)
		items = append(items, in.Items...)
	}
	refusedDir := filepath.Join(dir, "refused")
	refusals, err := importer.NewRefusals(refusedDir, inputs, false)
	if err != nil {
		t.Fatal(err)
	}
	l := s.NewListener()
	im := importer.Importer{Deliver: l.Deliver, Keyer: l.Keyer, Book: l.Policies, GoLive: goLive, Rate: -1, Refuse: refusals.Refuse}
	// Each run has 10 minutes: about 1 alone on this machine, 4 on a busy one.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	began := time.Now()
	first, err := im.Run(ctx, items, 0)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	if err := refusals.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("import of %d items in %s (%.0f/s): %+v", n, took.Round(time.Second), float64(n)/took.Seconds(), first)
	if first.Refused != bad || first.Started+first.Signalled+first.NoEffect+first.Refused != n || first.AlreadyThere != 0 {
		t.Errorf("import: %+v; want %d refused and the rest started, signalled or of no effect", first, bad)
	}

	// Every journey started, once it has done what was due by now.
	quiet(t, s, 10*time.Second)
	ids := startedJourneys(t, items, im)
	var published, beforeGoLive int
	var views map[string]workflows.View[json.RawMessage]
	var dates []rules.Date
	var byJourney map[string]int
	var natsOf map[string][]string
	// On a busy machine a journey's first workflow task can wait in the queue for minutes, so
	// the stream's quiet spell does not mean every journey has run: one was seen to publish
	// while the views were read, 3 minutes after the import. Read the journeys and the stream
	// again until they account for each other: for 2 minutes after the journeys last published
	// more (a machine busy with other runs was seen to need longer than 2 minutes in all), and
	// 10 minutes at most.
	last, stop := -1, time.Now().Add(10*time.Minute)
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Second) {
		published, beforeGoLive = 0, 0
		views = map[string]workflows.View[json.RawMessage]{}
		for _, id := range ids {
			v := settledView(t, s, id)
			views[id] = v
			published += len(v.Published)
			for _, r := range v.Skipped {
				if r.BeforeGoLive {
					beforeGoLive++
				}
			}
		}
		dates, byJourney, natsOf = journeyEventDates(t, s)
		if published > last {
			last, deadline = published, time.Now().Add(2*time.Minute)
			if deadline.After(stop) {
				deadline = stop
			}
		}
		if len(dates) == published || time.Now().After(deadline) {
			break
		}
	}
	for id, v := range views {
		for _, r := range v.Published {
			if r.On.Before(goLive) {
				t.Errorf("%s published %s dated %s, before go-live", id, r.Type, r.On)
			}
		}
	}
	if published == 0 || beforeGoLive == 0 {
		t.Fatalf("%d published, %d skipped before go-live: the import tests nothing", published, beforeGoLive)
	}
	if len(dates) != published {
		var others []string
		for id, n := range byJourney {
			if _, ok := slices.BinarySearch(ids, id); !ok {
				others = append(others, id+" "+fmt.Sprint(n))
			}
		}
		t.Errorf("%d journey events on NATS, %d published by the journeys; not imported: %v", len(dates), published, others)
		shown := 0
		for id, n := range byJourney {
			if v := views[id]; n != len(v.Published) && shown < 5 {
				shown++
				t.Logf("%s: %d on NATS, published %+v, status %s, skipped %+v, next %+v, ahead %+v, facts %s", id, n, v.Published, v.Status, v.Skipped, v.Next, v.Ahead, v.Facts)
				for _, e := range natsOf[id] {
					t.Logf("  on NATS: %s", e)
				}
			}
		}
	}
	for _, d := range dates {
		if d.Before(goLive) {
			t.Errorf("a journey event dated %s reached NATS; go-live is %s", d, goLive)
		}
	}
	t.Logf("%d journeys: %d events published from go-live on, %d skipped before it", len(ids), published, beforeGoLive)

	// The refused rows, each with its reason, in a file per input.
	refusedRows := 0
	for _, f := range refusals.Files() {
		refusedRows += refusedIn(t, f)
	}
	if refusedRows != bad {
		t.Errorf("%d refused items in %v, want %d", refusedRows, refusals.Files(), bad)
	}

	// A rerun starts nothing, and nothing more is published.
	im.Refuse = nil
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	again, err := im.Run(ctx, items, 0)
	if err != nil {
		t.Fatal(err)
	}
	if again.Started != 0 || again.AlreadyThere != first.Started || again.Refused != bad {
		t.Errorf("rerun: %+v; want 0 started and %d already there", again, first.Started)
	}
	time.Sleep(3 * time.Second)
	if after, _, _ := journeyEventDates(t, s); len(after) != len(dates) {
		t.Errorf("after the rerun %d journey events on NATS, before it %d", len(after), len(dates))
	}
}

// An import while the worker is stopped: once Temporal's task queue statistics show more than
// MaxBacklog workflow tasks queued, the import applies nothing more and says it waits; when the
// worker runs again it takes the queue and the import goes on to its end. The statistics are up
// to 5 s old (matching.TaskQueueInfoByBuildIdTTL), so the import is paced to last longer.
func TestImportWaitsForABackloggedWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 400 items with the worker stopped")
	}
	s := startStack(t)
	today := testPolicy().Today(time.Now())
	files, err := openwork.Write(t.TempDir(), openwork.Options{N: 400, GoLive: today, Today: today, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	var items []importer.Item
	for i, f := range files {
		in, err := importer.Read(f, "", "urn:plan:export", i, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, in.Items...)
	}
	s.StopWorker()
	l := s.NewListener()
	var mu sync.Mutex
	var last importer.Progress
	waited := false
	im := importer.Importer{Deliver: l.Deliver, Keyer: l.Keyer, Book: l.Policies, GoLive: today, Rate: 20, Concurrency: 4,
		Backlog: importer.WorkflowBacklog(s.Client, s.Namespace(), "careclock-test"), MaxBacklog: 50,
		ProgressEvery: 100 * time.Millisecond, Progress: func(p importer.Progress) {
			mu.Lock()
			defer mu.Unlock()
			last, waited = p, waited || p.Backlog > 50
		}}
	progress := func() (importer.Progress, bool) { mu.Lock(); defer mu.Unlock(); return last, waited }
	type ran struct {
		sum importer.Summary
		err error
	}
	done := make(chan ran, 1)
	go func() { sum, err := im.Run(context.Background(), items, 0); done <- ran{sum, err} }()

	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if _, w := progress(); w {
			break
		}
		if time.Now().After(deadline) {
			p, _ := progress()
			t.Fatalf("with the worker stopped, the import never waited: %+v", p)
		}
	}
	held, _ := progress()
	time.Sleep(3 * time.Second)
	still, _ := progress()
	if held.Done >= len(items) || still.Done > held.Done+4 { // at most the items in hand when it began to wait
		t.Errorf("while waiting on %d queued tasks the import went from %d to %d of %d items", held.Backlog, held.Done, still.Done, len(items))
	}
	t.Logf("waited at %d of %d items, %d tasks queued", held.Done, len(items), held.Backlog)
	if err := s.StartWorker(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.sum.Started+r.sum.Signalled+r.sum.NoEffect != len(items) {
			t.Errorf("after the worker came back: %+v, %v; want all %d items applied", r.sum, r.err, len(items))
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("the import did not end once the worker was back")
	}
}

// startedJourneys lists the workflow ids of the journeys the items start.
func startedJourneys(t *testing.T, items []importer.Item, im importer.Importer) []string {
	t.Helper()
	var ids []string
	for _, it := range items {
		if it.Bad != "" {
			continue
		}
		ev, payload, err := events.Decode(it.Event, im.Book.Latest().Today(time.Now()))
		if err != nil {
			continue // refused
		}
		r, err := workflows.RouteEvent(ev, payload, im.Keyer, im.Book)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range r.Starts {
			ids = append(ids, s.WorkflowID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// settledView is a journey's state, asked until the query is answered (the worker may be busy
// with the journeys the import started).
func settledView(t *testing.T, s *stack.Stack, id string) workflows.View[json.RawMessage] {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		resp, err := s.Client.QueryWorkflow(ctx, id, "", workflows.QueryState)
		var v workflows.View[json.RawMessage]
		if err == nil {
			err = resp.Get(&v)
		}
		cancel()
		if err == nil {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", id, err)
		}
	}
}

// quiet waits until the JOURNEYS stream has not grown for quietFor: every journey has published
// what was due (a journey started late waits a few seconds first: workflows.settleLate).
func quiet(t *testing.T, s *stack.Stack, quietFor time.Duration) {
	t.Helper()
	var last uint64
	since := time.Now()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		info, err := streamInfo(t, s, events.JourneyStream)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != last {
			last, since = info.State.Msgs, time.Now()
		}
		if time.Since(since) >= quietFor {
			return
		}
	}
	t.Fatal("the journeys kept publishing for 5 minutes")
}

// journeyEventDates is the date of every journey event on the JOURNEYS stream.
func journeyEventDates(t *testing.T, s *stack.Stack) ([]rules.Date, map[string]int, map[string][]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var dates []rules.Date
	byJourney := map[string]int{}
	natsOf := map[string][]string{}
	err := events.ReadAll(ctx, s.JS, events.JourneyStream, nil, func(m jetstream.Msg) error {
		var ev struct {
			Data struct {
				EventDate  rules.Date `json:"eventDate"`
				WorkflowID string     `json:"workflowId"`
			} `json:"data"`
		}
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			return err
		}
		dates = append(dates, ev.Data.EventDate)
		byJourney[ev.Data.WorkflowID]++
		natsOf[ev.Data.WorkflowID] = append(natsOf[ev.Data.WorkflowID], string(m.Data()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dates, byJourney, natsOf
}

// refusedIn counts the items of a refusals file, each of which must give its reason.
func refusedIn(t *testing.T, path string) int {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".csv") {
		rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		at := slices.Index(rows[0], importer.ColumnRefusal)
		for _, r := range rows[1:] {
			if at < 0 || r[at] == "" {
				t.Errorf("%s: a row without its reason: %q", path, r)
			}
		}
		return len(rows) - 1
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	for _, l := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev[importer.AttributeRefusal] == "" || ev[importer.AttributeRefusal] == nil {
			t.Errorf("%s: a line without its reason: %s (%v)", path, l, err)
		}
	}
	return len(lines)
}
