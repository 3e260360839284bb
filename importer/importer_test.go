package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/listener"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

var testKeyer = func() privacy.Keyer {
	k, err := privacy.NewKeyer([]byte("careclock-test-key-32-bytes-long!!"))
	if err != nil {
		panic(err)
	}
	return k
}()

var now = time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)

func write(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const claimsCSV = "\ufeffclaimId,memberId,submittedDate,amountCents,category\n" +
	"CLM-1,M-1,2026-10-01,4250,mileage\n" +
	"CLM-2,M-2,2026-10-02,12.50,mileage\n" + // not a whole number
	"CLM-3,M-3,2026-10-03\n" + // short
	"CLM-4,M-4,2026-13-01,100,meals\n" + // read, refused by the contract
	"CLM-1,M-1,2026-10-01,4250,mileage\n" // the first again: the same event

func TestReadCSV(t *testing.T) {
	in, err := Read(write(t, "reimbursement.submitted.csv", claimsCSV), "", "urn:plan:claims", 2, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"claimId", "memberId", "submittedDate", "amountCents", "category"}; !slices.Equal(in.Header, want) {
		t.Errorf("header %q, want %q (the byte order mark dropped)", in.Header, want)
	}
	var bad, lines []string
	for _, it := range in.Items {
		bad = append(bad, it.Bad)
		lines = append(lines, fmt.Sprint(it.Input, ":", it.Line))
	}
	if want := []string{"", "column amountCents: must be a whole number", "3 columns; the header has 5", "", ""}; !slices.Equal(bad, want) {
		t.Errorf("bad %q, want %q", bad, want)
	}
	if want := []string{"2:2", "2:3", "2:4", "2:5", "2:6"}; !slices.Equal(lines, want) {
		t.Errorf("lines %v, want %v", lines, want)
	}
	ev, payload, err := events.Decode(in.Items[0].Event, rules.MustDate("2026-12-03"))
	if err != nil {
		t.Fatal(err)
	}
	d := payload.(*events.ReimbursementSubmittedData)
	if ev.Type != events.ReimbursementSubmitted || ev.Source != "urn:plan:claims" || d.ClaimID != "CLM-1" || *d.AmountCents != 4250 || d.SubmittedDate != rules.MustDate("2026-10-01") {
		t.Errorf("event %+v, data %+v", ev, d)
	}
	second, _, err := events.Decode(in.Items[4].Event, rules.MustDate("2026-12-03"))
	if err != nil || second.ID != ev.ID || !strings.HasPrefix(ev.ID, "import-") {
		t.Errorf("ids %q and %q of one row, want the same import-… id (%v)", ev.ID, second.ID, err)
	}
	if _, _, err := events.Decode(in.Items[3].Event, rules.MustDate("2026-12-03")); err == nil {
		t.Error("a 13th month read")
	}
}

func TestReadCSVRefusesAFileItCannotRead(t *testing.T) {
	for name, text := range map[string]string{
		"reimbursement.submitted.csv": "claimId,memberName\nCLM-1,Ana\n",
		"claims.csv":                  "claimId\nCLM-1\n",
	} {
		_, err := Read(write(t, name, text), "", "s", 0, now)
		if err == nil {
			t.Errorf("%s read", name)
			continue
		}
		if strings.Contains(err.Error(), "Ana") || strings.Contains(err.Error(), "CLM-1") {
			t.Errorf("%s: the error repeats a value: %v", name, err)
		}
	}
	// With --type, a file of any name.
	in, err := Read(write(t, "claims.csv", "claimId,memberId,submittedDate,amountCents,category,id,source\nCLM-9,M-9,2026-10-01,1,meals,e-9,urn:x\n"),
		events.ReimbursementSubmitted, "s", 0, now)
	if err != nil || len(in.Items) != 1 || in.Items[0].Bad != "" {
		t.Fatalf("%+v, %v", in, err)
	}
	ev, _, err := events.Decode(in.Items[0].Event, rules.MustDate("2026-12-03"))
	if err != nil || ev.ID != "e-9" || ev.Source != "urn:x" {
		t.Errorf("event %+v (%v): want the row's id and source", ev, err)
	}
}

func TestReadCloudEvents(t *testing.T) {
	lines := `{"specversion":"1.0","id":"a","source":"s","type":"grievance.received","data":{}}

{"specversion":"1.0","id":"b","source":"s","type":"grievance.received","data":{}}
{"specversion": oops
`
	in, err := Read(write(t, "open.jsonl", lines), "", "", 0, now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range in.Items {
		got = append(got, fmt.Sprintf("%d %t", it.Line, it.Bad != ""))
	}
	if want := []string{"1 false", "3 false", "4 true"}; !slices.Equal(got, want) {
		t.Errorf("items %v, want %v", got, want)
	}
	in, err = Read(write(t, "open.json", `[{"id":"a"},{"id":"b"}]`), "", "", 0, now)
	if err != nil || len(in.Items) != 2 || in.Items[1].Line != 2 {
		t.Errorf("array: %+v, %v", in, err)
	}
}

// delivery is a fake Temporal: it records what the importer applies, in order per journey.
type delivery struct {
	mu       sync.Mutex
	applied  []string // "type id" in the order applied
	started  map[string]bool
	goLive   []rules.Date
	failures int // the next calls that fail as Temporal down does
}

func (d *delivery) deliver(_ context.Context, ev events.Event, r workflows.Route) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failures > 0 {
		d.failures--
		return "", errors.New("unavailable")
	}
	if len(r.Signals) > 0 && !d.started[r.Signals[0]] {
		return "", fmt.Errorf("signal: %w", listener.ErrNotFoundYet)
	}
	d.applied = append(d.applied, ev.Type+" "+ev.ID)
	for _, s := range r.Starts {
		var state struct {
			GoLive rules.Date `json:"goLive"`
		}
		raw, err := json.Marshal(s.Input)
		if err != nil {
			return "", err
		}
		if err := json.Unmarshal(raw, &state); err != nil {
			return "", err
		}
		d.goLive = append(d.goLive, state.GoLive)
	}
	switch {
	case len(r.Starts) > 0:
		outcome := listener.OutcomeDuplicate
		for _, s := range r.Starts {
			if !d.started[s.WorkflowID] {
				d.started[s.WorkflowID] = true
				outcome = listener.OutcomeStarted
			}
		}
		return outcome, nil
	case len(r.Signals) > 0:
		return listener.OutcomeSignalled, nil
	}
	return listener.OutcomeNoEffect, nil
}

func event(id, eventType string, data map[string]any) Item {
	raw, err := json.Marshal(map[string]any{"specversion": "1.0", "id": id, "source": "test", "type": eventType, "data": data})
	if err != nil {
		panic(err)
	}
	return Item{Event: raw, Line: 1}
}

func grievance(id string) Item {
	return event("g-"+id, events.GrievanceReceived, map[string]any{
		"grievanceId": id, "memberId": "M-" + id, "receivedAt": "2026-11-20T10:00:00-08:00", "expedited": false,
	})
}

func acknowledged(id string) Item {
	return event("a-"+id, events.GrievanceAcknowledged, map[string]any{"grievanceId": id, "acknowledgedDate": "2026-11-21"})
}

func TestRunAppliesEachJourneysItemsInOrderAndRefusesTheRest(t *testing.T) {
	var items []Item
	for i := range 40 {
		items = append(items, grievance(fmt.Sprint(i)), acknowledged(fmt.Sprint(i)))
	}
	items = append(items,
		acknowledged("never-received"),
		Item{Bad: "3 columns; the header has 5"},
		event("u-1", "member.unknown", map[string]any{}),
		event("e-1", events.MemberEnrolled, map[string]any{
			"memberId": "M-E", "dateOfBirth": "2010-01-01", "enrollmentDate": "2026-01-01", "county": "Yolo",
			"countyModel": "independent", "fullScopeMediCal": true, "ccsEligible": false,
		}),
	)
	d := &delivery{started: map[string]bool{}, failures: 3}
	var refused []string
	var checkpoints []int
	im := Importer{
		Deliver: d.deliver, Keyer: testKeyer, GoLive: rules.MustDate("2026-12-01"), Rate: -1, Concurrency: 4,
		Refuse:     func(it Item, reason string) error { refused = append(refused, reason); return nil },
		Checkpoint: func(done int) error { checkpoints = append(checkpoints, done); return nil },
		RetryFor:   10 * time.Second, notFoundWait: time.Millisecond,
	}
	sum, err := im.Run(context.Background(), items, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Total: 84, Started: 40, Signalled: 40, NoEffect: 1, Refused: 3, Reasons: map[string]int{
		"no open journey for this event: its start is neither running nor earlier in the import": 1,
		"3 columns; the header has 5": 1,
		"unknown type":                1,
	}}
	if fmt.Sprint(sum) != fmt.Sprint(want) {
		t.Errorf("summary\n%+v, want\n%+v", sum, want)
	}
	if len(refused) != 3 {
		t.Errorf("refused %q", refused)
	}
	// Each grievance's acknowledgement came after its receipt, though 4 ran at once.
	for i := range 40 {
		r, a := slices.Index(d.applied, "grievance.received g-"+fmt.Sprint(i)), slices.Index(d.applied, "grievance.acknowledged a-"+fmt.Sprint(i))
		if r < 0 || a < r {
			t.Errorf("grievance %d: received at %d, acknowledged at %d", i, r, a)
		}
	}
	for _, g := range d.goLive {
		if g != rules.MustDate("2026-12-01") {
			t.Errorf("a journey started with go-live %s", g)
		}
	}
	if len(d.goLive) != 40 {
		t.Errorf("%d journeys started with the go-live date, want 40", len(d.goLive))
	}
	if !slices.IsSorted(checkpoints) || checkpoints[len(checkpoints)-1] != len(items) {
		t.Errorf("checkpoints %v, want rising to %d", checkpoints, len(items))
	}

	// Again, as a rerun: nothing starts.
	sum, err = im.Run(context.Background(), items, 0)
	if err != nil || sum.Started != 0 || sum.AlreadyThere != 40 {
		t.Errorf("rerun: %+v, %v; want 0 started, 40 already there", sum, err)
	}
	// Resumed after the 60th: only the rest is applied.
	n := len(d.applied)
	sum, err = im.Run(context.Background(), items, 60)
	if err != nil || sum.Resumed != 60 || len(d.applied)-n != 84-60-3 { // nor the bad row, the unknown type, the acknowledgement of nothing
		t.Errorf("resumed: %+v, %v, %d applied", sum, err, len(d.applied)-n)
	}
}

// Temporal down longer than RetryFor stops the import; the checkpoint is before the first item
// not applied, and nothing after it was lost or skipped.
func TestRunStopsWhenTemporalDoesNotTakeAnItem(t *testing.T) {
	items := []Item{grievance("1"), grievance("2"), grievance("3")}
	d := &delivery{started: map[string]bool{}, failures: 1 << 30}
	last := -1
	im := Importer{Deliver: d.deliver, Keyer: testKeyer, Rate: -1, Concurrency: 1, RetryFor: 1500 * time.Millisecond,
		Checkpoint: func(done int) error { last = done; return nil }}
	_, err := im.Run(context.Background(), items, 0)
	if err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("error %v, want Temporal's", err)
	}
	if last != 0 {
		t.Errorf("checkpoint %d, want 0", last)
	}
}

// While the worker's queue is over MaxBacklog the import applies nothing, and says it waits; it
// goes on once the worker has caught up.
func TestRunWaitsWhileTheWorkersBacklogIsOverItsBound(t *testing.T) {
	var items []Item
	for i := range 10 {
		items = append(items, grievance(fmt.Sprint(i)))
	}
	d := &delivery{started: map[string]bool{}}
	var queued atomic.Int64
	queued.Store(5000)
	var reported atomic.Int64 // the largest backlog progress reported
	im := Importer{Deliver: d.deliver, Keyer: testKeyer, Rate: -1, Concurrency: 1, MaxBacklog: 1000,
		Backlog:  func(context.Context) (int64, error) { return queued.Load(), nil },
		Progress: func(p Progress) { reported.Store(max(reported.Load(), p.Backlog)) }, ProgressEvery: 5 * time.Millisecond,
		backlogEvery: 5 * time.Millisecond}
	type ran struct {
		sum Summary
		err error
	}
	done := make(chan ran, 1)
	go func() { sum, err := im.Run(context.Background(), items, 0); done <- ran{sum, err} }()
	time.Sleep(300 * time.Millisecond)
	d.mu.Lock()
	applied := len(d.applied)
	d.mu.Unlock()
	if applied != 0 || reported.Load() != 5000 {
		t.Errorf("with 5000 tasks queued: %d items applied, progress said %d queued; want 0 applied and 5000", applied, reported.Load())
	}
	queued.Store(1000) // at the bound: the import goes on
	select {
	case r := <-done:
		if r.err != nil || r.sum.Started != 10 {
			t.Errorf("after the worker caught up: %+v, %v; want 10 started", r.sum, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the import did not go on once the worker had caught up")
	}
}

// A backlog that cannot be read for RetryFor stops the import before it applies anything more.
func TestRunStopsWhenTheBacklogCannotBeRead(t *testing.T) {
	d := &delivery{started: map[string]bool{}}
	last := -1
	im := Importer{Deliver: d.deliver, Keyer: testKeyer, Rate: -1, Concurrency: 1, RetryFor: 100 * time.Millisecond,
		Backlog: func(context.Context) (int64, error) {
			return 0, errors.New("describe task queue careclock: unavailable")
		},
		Checkpoint: func(done int) error { last = done; return nil }, backlogEvery: 10 * time.Millisecond}
	_, err := im.Run(context.Background(), []Item{grievance("1"), grievance("2")}, 0)
	if err == nil || !strings.Contains(err.Error(), "the worker's backlog: describe task queue careclock: unavailable") {
		t.Fatalf("error %v, want the backlog's", err)
	}
	if last != 0 || len(d.applied) != 0 {
		t.Errorf("checkpoint %d, %d applied; want 0 and 0", last, len(d.applied))
	}
}

// A refusals file is the input's own format with the reason, and reads again as the same items.
func TestRefusalsReadAgain(t *testing.T) {
	dir := t.TempDir()
	csvIn, err := Read(write(t, "reimbursement.submitted.csv", claimsCSV), "", "s", 0, now)
	if err != nil {
		t.Fatal(err)
	}
	jsonIn, err := Read(write(t, "open.jsonl", string(grievance("1").Event)+"\nnot json\n"), "", "", 1, now)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRefusals(dir, []Input{csvIn, jsonIn}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range []Item{csvIn.Items[1], csvIn.Items[2], jsonIn.Items[0], jsonIn.Items[1]} {
		if err := r.Refuse(it, "reason of line "+fmt.Sprint(it.Line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "reimbursement.submitted.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := "claimId,memberId,submittedDate,amountCents,category,refusal\n" +
		"CLM-2,M-2,2026-10-02,12.50,mileage,reason of line 3\n" +
		"CLM-3,M-3,2026-10-03,,,reason of line 4\n"
	if string(raw) != want {
		t.Errorf("CSV refusals:\n%s\nwant:\n%s", raw, want)
	}
	again, err := Read(filepath.Join(dir, "reimbursement.submitted.csv"), "", "s", 0, now)
	if err != nil || len(again.Items) != 2 || again.Items[0].Bad != csvIn.Items[1].Bad {
		t.Errorf("read again: %+v, %v", again, err)
	}
	lines, err := os.ReadFile(filepath.Join(dir, "open.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	back, err := Read(filepath.Join(dir, "open.jsonl"), "", "", 0, now)
	if err != nil || len(back.Items) != 2 {
		t.Fatalf("read again: %+v, %v", back, err)
	}
	first, _, err := events.Decode(back.Items[0].Event, rules.MustDate("2026-12-03"))
	if err != nil || first.ID != "g-1" || !strings.Contains(string(lines), `"careclockrefusal":"reason of line 1"`) {
		t.Errorf("JSON refusals:\n%s(%v)", lines, err)
	}
	if !strings.Contains(string(lines), `"careclocktext":"not json"`) {
		t.Errorf("a line that is not JSON is not kept:\n%s", lines)
	}
}

func TestCheckpointIsOfOneImport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cp")
	c, err := LoadCheckpoint(path, "a")
	if err != nil || c.Done != 0 {
		t.Fatalf("%+v, %v", c, err)
	}
	c.Done = 7
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadCheckpoint(path, "a"); err != nil || c.Done != 7 {
		t.Errorf("%+v, %v", c, err)
	}
	if _, err := LoadCheckpoint(path, "b"); err == nil {
		t.Error("another import's checkpoint taken")
	}
}

// The operations guide lists each CSV file's columns as the code reads them.
func TestTheGuideListsEachFilesColumns(t *testing.T) {
	guide, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	kinds, err := Kinds(StartingTypes)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(kinds), "\n") {
		typ, cols, _ := strings.Cut(line, ": ")
		if row := fmt.Sprintf("| `%s.csv` | `%s` |", typ, cols); !strings.Contains(string(guide), row) {
			t.Errorf("docs/operations.md lacks the row\n%s", row)
		}
	}
}
