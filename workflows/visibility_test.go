package workflows

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
)

// instantFor, against a tier of 40,000 instants counted exactly, with a page of it in
// visibility's order as its samples: whatever the limit, the instant it returns has at least the
// rows wanted before it, no more than the pages they need (or half a page more) unless one second
// holds more, and it takes a handful of calls.
func TestInstantForReadsAboutTheLimit(t *testing.T) {
	base := time.Date(2027, 1, 4, 17, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(29, 3))
	var rows []time.Time
	for range 30000 { // notices over two years, on the hour
		rows = append(rows, base.Add(time.Duration(rng.IntN(2*365*24))*time.Hour))
	}
	for range 5000 { // a storm: 5,000 due at one instant
		rows = append(rows, base.Add(36*time.Hour))
	}
	for range 5000 { // overdue ones, due years ago, to the second
		rows = append(rows, base.Add(-time.Duration(rng.IntN(3*365*24*3600))*time.Second))
	}
	// A page of the rows before at, in visibility's order (here: the order they were made in,
	// so the first page holds none of the overdue ones).
	page := func(at time.Time) ([]time.Time, error) {
		var out []time.Time
		for _, r := range rows {
			if r.Before(at) && len(out) < PageSize {
				out = append(out, r)
			}
		}
		return out, nil
	}
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, time.Time.Compare)
	before := func(at time.Time) int64 {
		return int64(sort.Search(len(sorted), func(i int) bool { return !sorted[i].Before(at) }))
	}
	for _, need := range []int{1, 100, 999, 2500, 4000, 5001, 8000, 39999} {
		calls, pages := 0, 0
		enough := max(int64((need+PageSize-1)/PageSize)*PageSize, int64(need+PageSize/2))
		at, err := instantFor(int64(len(rows)), need, enough, func(at time.Time) (int64, error) {
			calls++
			return before(at), nil
		}, func(at time.Time) ([]time.Time, error) {
			pages++
			return page(at)
		})
		if err != nil {
			t.Fatal(err)
		}
		got := before(at)
		// More than enough only when the second before at holds more than the excess.
		crowded := before(at.Add(-bisectStep)) < int64(need)
		// A handful of calls; a crowded second, which the sample did not show, takes more.
		bound := map[bool]int{false: 10, true: 20}[crowded]
		if got < int64(need) || got > enough && !crowded || calls+pages > bound {
			t.Errorf("need %d: %d rows before %s (enough %d, crowded %v), %d counts, %d pages", need, got, at, enough, crowded, calls, pages)
		}
		t.Logf("need %d: %d rows before %s, %d counts, %d pages", need, got, at, calls, pages)
	}
}

// Of the runs listed for one workflow id, Current keeps the one started last, wherever the
// listing's order put it, and keeps the listing's order otherwise.
func TestCurrentKeepsEachJourneysLatestRun(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 12, d, 10, 0, 0, 0, time.UTC) }
	listed := []Listed{
		{WorkflowID: "a", RunID: "a1", Started: day(1), Execution: "ContinuedAsNew"},
		{WorkflowID: "b", RunID: "b1", Started: day(2), Execution: "Running"},
		{WorkflowID: "a", RunID: "a3", Started: day(3), Execution: "Running"},
		{WorkflowID: "a", RunID: "a2", Started: day(2), Execution: "ContinuedAsNew"},
	}
	got := Current(listed)
	if len(got) != 2 || got[0].RunID != "b1" || got[1].RunID != "a3" {
		t.Errorf("current runs %+v, want b1 then a3", got)
	}
}
