package workflows

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// Filter selects journeys in Temporal visibility, for `starter list` and metrics. Zero fields
// select everything.
type Filter struct {
	Journey string
	Status  string
	// DeadlineBefore and DeadlineAfter bound CareclockDeadline (before: strictly earlier).
	DeadlineBefore, DeadlineAfter time.Time
	// DueBefore selects open journeys at risk: overdue, or whose next event or deadline comes
	// before it.
	DueBefore time.Time
	// MemberKey selects one member's journeys.
	MemberKey string
	// Open selects running journeys only.
	Open bool
	// NextBefore selects journeys whose next event comes before it; NoNext those with no next
	// event, NoDeadline those with no deadline (ListFirst's tiers).
	NextBefore         time.Time
	NoNext, NoDeadline bool
}

// Query is the filter as a Temporal visibility query. Journey and status are checked against
// careclock's names, so the query never carries an arbitrary string.
func (f Filter) Query() (string, error) {
	clauses := []string{fmt.Sprintf("%s IS NOT NULL", AttrJourney.GetName())}
	if f.Journey != "" {
		if !isJourney(f.Journey) {
			return "", fmt.Errorf("unknown journey %q (one of %s)", f.Journey, strings.Join(Journeys, ", "))
		}
		clauses = append(clauses, fmt.Sprintf("%s = '%s'", AttrJourney.GetName(), f.Journey))
	}
	if f.Status != "" {
		if !isStatus(f.Status) {
			return "", fmt.Errorf("unknown status %q (one of %s)", f.Status, strings.Join(Statuses, ", "))
		}
		clauses = append(clauses, fmt.Sprintf("%s = '%s'", AttrStatus.GetName(), f.Status))
	}
	if f.MemberKey != "" {
		if strings.ContainsAny(f.MemberKey, `'"\`) {
			return "", fmt.Errorf("member key %q is not a key", f.MemberKey)
		}
		clauses = append(clauses, fmt.Sprintf("%s = '%s'", AttrMemberKey.GetName(), f.MemberKey))
	}
	if !f.DeadlineBefore.IsZero() {
		clauses = append(clauses, fmt.Sprintf("%s < '%s'", AttrDeadline.GetName(), instant(f.DeadlineBefore)))
	}
	if !f.DeadlineAfter.IsZero() {
		clauses = append(clauses, fmt.Sprintf("%s >= '%s'", AttrDeadline.GetName(), instant(f.DeadlineAfter)))
	}
	if !f.NextBefore.IsZero() {
		if f.NoNext {
			return "", fmt.Errorf("a journey with no next event has none before %s", instant(f.NextBefore))
		}
		clauses = append(clauses, fmt.Sprintf("%s < '%s'", AttrNextAt.GetName(), instant(f.NextBefore)))
	}
	if f.NoNext {
		clauses = append(clauses, AttrNextAt.GetName()+" IS NULL")
	}
	if f.NoDeadline {
		clauses = append(clauses, AttrDeadline.GetName()+" IS NULL")
	}
	if f.Open || !f.DueBefore.IsZero() {
		clauses = append(clauses, "ExecutionStatus = 'Running'")
	}
	if !f.DueBefore.IsZero() {
		at := instant(f.DueBefore)
		clauses = append(clauses, fmt.Sprintf("(%s = '%s' OR %s < '%s' OR %s < '%s')",
			AttrStatus.GetName(), StatusOverdue, AttrNextAt.GetName(), at, AttrDeadline.GetName(), at))
	}
	return strings.Join(clauses, " AND "), nil
}

// OpenQuery is the visibility query for the running journeys of a type with a status.
func OpenQuery(journey, status string) (string, error) {
	return Filter{Journey: journey, Status: status, Open: true}.Query()
}

// Statuses lists the statuses of AttrStatus.
var Statuses = []string{StatusWaiting, StatusOverdue, StatusClosed, StatusCancelled}

func instant(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func isJourney(s string) bool { return slices.Contains(Journeys, s) }

func isStatus(s string) bool { return slices.Contains(Statuses, s) }

// Listed is one journey as visibility shows it, without asking the workflow.
type Listed struct {
	WorkflowID string    `json:"workflowId"`
	RunID      string    `json:"runId"`
	Journey    string    `json:"journey"`
	Status     string    `json:"status"`
	NextAt     time.Time `json:"nextAt,omitzero"`
	Deadline   time.Time `json:"deadline,omitzero"`
	// Execution is Temporal's status of the run: Running, Completed, Failed, ContinuedAsNew…
	Execution string    `json:"execution"`
	Started   time.Time `json:"started"`
	Closed    time.Time `json:"closed,omitzero"`
}

// List returns the journeys the filter selects, those with the nearest next event first (then
// by deadline), reading every page; progress, if set, is told the count after each page.
func List(ctx context.Context, c client.Client, f Filter, progress func(n int)) ([]Listed, error) {
	q, err := f.Query()
	if err != nil {
		return nil, err
	}
	return ListQuery(ctx, c, q, progress)
}

// ListQuery is List for a visibility query already built (the listener's member-wide routes).
func ListQuery(ctx context.Context, c client.Client, q string, progress func(n int)) ([]Listed, error) {
	return listPages(ctx, c, q, 0, progress)
}

// PageSize is the rows asked for in each visibility call: the most Temporal's frontend returns
// (frontend.visibilityMaxPageSize).
const PageSize = 1000

// listPages reads the journeys q selects, at most maxPages pages of them (0: every page), in
// List's order.
func listPages(ctx context.Context, c client.Client, q string, maxPages int, progress func(n int)) ([]Listed, error) {
	var out []Listed
	var token []byte
	for pages := 1; ; pages++ {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token, PageSize: PageSize})
		if err != nil {
			return nil, fmt.Errorf("list journeys: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			l, err := listed(e)
			if err != nil {
				return nil, fmt.Errorf("journey %s: %w", e.GetExecution().GetWorkflowId(), err)
			}
			out = append(out, l)
		}
		if progress != nil {
			progress(len(out))
		}
		if token = resp.GetNextPageToken(); len(token) == 0 || pages == maxPages {
			break
		}
	}
	slices.SortStableFunc(out, func(a, b Listed) int {
		return cmp.Or(compareTimes(a.NextAt, b.NextAt), compareTimes(a.Deadline, b.Deadline), cmp.Compare(a.WorkflowID, b.WorkflowID))
	})
	return out, nil
}

// Current keeps, of the runs listed for each workflow id (a journey that continued as new, or
// opened again), the one started last: the journey as it is now. The order of listed is kept.
func Current(listed []Listed) []Listed {
	latest := map[string]time.Time{}
	for _, l := range listed {
		if t, ok := latest[l.WorkflowID]; !ok || l.Started.After(t) {
			latest[l.WorkflowID] = l.Started
		}
	}
	var out []Listed
	for _, l := range listed {
		if t, ok := latest[l.WorkflowID]; ok && l.Started.Equal(t) {
			out = append(out, l)
			delete(latest, l.WorkflowID) // one run per id, should two share a start
		}
	}
	return out
}

// compareTimes orders instants, the zero instant (nothing next) last.
func compareTimes(a, b time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}

func listed(e *workflowpb.WorkflowExecutionInfo) (Listed, error) {
	l := Listed{
		WorkflowID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId(),
		Execution: e.GetStatus().String(), Started: e.GetStartTime().AsTime(),
	}
	if e.GetCloseTime() != nil {
		l.Closed = e.GetCloseTime().AsTime()
	}
	fields := e.GetSearchAttributes().GetIndexedFields()
	dc := converter.GetDefaultDataConverter()
	for name, dst := range map[string]any{
		AttrJourney.GetName(): &l.Journey, AttrStatus.GetName(): &l.Status,
		AttrNextAt.GetName(): &l.NextAt, AttrDeadline.GetName(): &l.Deadline,
	} {
		if p, ok := fields[name]; ok {
			if err := dc.FromPayload(p, dst); err != nil {
				return l, fmt.Errorf("search attribute %s: %w", name, err)
			}
		}
	}
	return l, nil
}

// Count is how many journeys f selects: visibility counts them, no row is read.
func Count(ctx context.Context, c client.Client, f Filter) (int64, error) {
	q, err := f.Query()
	if err != nil {
		return 0, err
	}
	return CountQuery(ctx, c, q)
}

// CountQuery is Count for a visibility query already built (the report's).
func CountQuery(ctx context.Context, c client.Client, q string) (int64, error) {
	resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
	if err != nil {
		return 0, fmt.Errorf("count journeys: %w", err)
	}
	return resp.GetCount(), nil
}

// ListLimit is how many journeys `starter list` prints unless told otherwise.
const ListLimit = 100

// ListFirst returns the first limit journeys f selects, in List's order, and how many f selects
// in all (limit 0: every one, as List), in a few calls to visibility rather than one per 1,000
// rows: Temporal's frontend serves a namespace 10 visibility calls a second unless told otherwise
// (frontend.namespaceRPS.visibility), and a listing of 32,000 journeys is 33 of them.
//
// Visibility on SQL cannot sort by a search attribute, so ListFirst takes List's order in tiers
// (journeys with a next event, by it; then those with none but a deadline, by it; then the rest).
// In the tier where the limit falls it finds an instant before which at least the rows still
// wanted lie, with visibility's counts, and reads only those. Its first guess comes from one page
// of the tier, a sample of its instants in visibility's own order (by start); counts then narrow
// it, by the sample's instants and then by halving, until the rows before it fit the pages the
// limit needs. Every row it does not read comes after every row it returns.
func ListFirst(ctx context.Context, c client.Client, f Filter, limit int, progress func(n int)) ([]Listed, int64, error) {
	if limit <= 0 {
		rows, err := List(ctx, c, f, progress)
		return rows, int64(len(rows)), err
	}
	total, err := Count(ctx, c, f)
	if err != nil {
		return nil, 0, err
	}
	if total <= int64(limit) {
		rows, err := List(ctx, c, f, progress)
		return rows, total, err
	}
	var out []Listed
	for _, t := range listTiers(f) {
		need := limit - len(out)
		if need <= 0 {
			break
		}
		rows, err := firstOfTier(ctx, c, t, need, progress)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, rows[:min(len(rows), need)]...)
	}
	return out, total, nil
}

// tier is one span of List's order: every row of it (all), or those whose key comes before an
// instant (upTo; nil for a tier read whole).
type tier struct {
	all  Filter
	upTo func(time.Time) Filter
	key  func(Listed) time.Time
}

// bisectTo is later than any instant a journey holds; bisectStep is how close the search gets.
var bisectTo = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)

const bisectStep = time.Second

// listTiers are List's order in spans each keyed by one attribute.
func listTiers(f Filter) []tier {
	// upTo is base with the bound field points at moved to t, unless base's own is earlier.
	upTo := func(base Filter, field func(*Filter) *time.Time) func(time.Time) Filter {
		return func(t time.Time) Filter {
			g := base
			if b := field(&g); b.IsZero() || t.Before(*b) {
				*b = t
			}
			return g
		}
	}
	withNext := upTo(f, func(g *Filter) *time.Time { return &g.NextBefore })
	noNext := f
	noNext.NoNext = true
	deadlineUpTo := upTo(noNext, func(g *Filter) *time.Time { return &g.DeadlineBefore })
	rest := noNext
	rest.NoDeadline = true
	byNext := tier{all: withNext(bisectTo), upTo: withNext, key: func(l Listed) time.Time { return l.NextAt }}
	byDeadline := tier{all: deadlineUpTo(bisectTo), upTo: deadlineUpTo, key: func(l Listed) time.Time { return l.Deadline }}
	if f.NoNext {
		return []tier{byDeadline, {all: rest}}
	}
	return []tier{byNext, byDeadline, {all: rest}}
}

// firstOfTier reads at least the first need rows of t (all of them if it holds fewer), sorted.
func firstOfTier(ctx context.Context, c client.Client, t tier, need int, progress func(n int)) ([]Listed, error) {
	n, err := Count(ctx, c, t.all)
	if err != nil || n == 0 {
		return nil, err
	}
	q, err := t.all.Query()
	if err != nil {
		return nil, err
	}
	if n <= int64(need) || t.upTo == nil {
		return listPages(ctx, c, q, 0, progress)
	}
	sample, err := listPages(ctx, c, q, 1, nil)
	if err != nil {
		return nil, err
	}
	if int64(len(sample)) >= n {
		return sample, nil // the page held the whole tier
	}
	// Enough rows before the instant: the pages need takes, or half a page more, whichever is
	// more (a page read costs a few counts).
	enough := max(int64((need+PageSize-1)/PageSize)*PageSize, int64(need+PageSize/2))
	first := true
	hi, err := instantFor(n, need, enough, func(at time.Time) (int64, error) { return Count(ctx, c, t.upTo(at)) },
		func(at time.Time) ([]time.Time, error) {
			rows := sample
			if !first {
				uq, err := t.upTo(at).Query()
				if err != nil {
					return nil, err
				}
				if rows, err = listPages(ctx, c, uq, 1, nil); err != nil {
					return nil, err
				}
			}
			first = false
			keys := make([]time.Time, len(rows))
			for i, l := range rows {
				keys[i] = t.key(l)
			}
			return keys, nil
		})
	if err != nil {
		return nil, err
	}
	hq, err := t.upTo(hi).Query()
	if err != nil {
		return nil, err
	}
	rows, err := listPages(ctx, c, hq, 0, progress)
	if err != nil {
		return nil, err
	}
	if len(rows) < need {
		// Journeys moved on between the counts and the read: the tier whole, then.
		return listPages(ctx, c, q, 0, progress)
	}
	return rows, nil
}

// instantFor returns an instant before which at least need of a tier's n rows lie, and, unless
// more than that share one second, at most enough. count(at) counts the rows before at;
// sample(at) returns the instants of some of the rows before at (a page of them).
//
// It works on a sample's instants: it counts the rows before one of them, at the share of the
// sample the rows wanted would take were the sample even, then between the nearest instants
// known to be too few and more than enough, by the same rule, halving when that did not halve
// the span. When two neighbouring instants leave more than enough between them, a new sample of
// the rows before the upper one goes on; a sample that holds all of them gives the instant
// exactly. Last, for rows one second apart or a sample that does not help, it halves the time.
func instantFor(n int64, need int, enough int64, count func(time.Time) (int64, error), sample func(time.Time) ([]time.Time, error)) (time.Time, error) {
	// lo, selecting loN, selects fewer than need rows (zero: none known yet); hi, selecting
	// hiN, at least need.
	lo, hi, loN, hiN := time.Time{}, bisectTo, int64(0), n
	narrow := func(at time.Time) error {
		m, err := count(at)
		if err != nil {
			return err
		}
		if m >= int64(need) {
			hi, hiN = at, m
		} else {
			lo, loN = at, m
		}
		return nil
	}
	target := int64(need) + (enough-int64(need))/2
	for range 4 {
		if hiN <= enough {
			return hi, nil
		}
		got, err := sample(hi)
		if err != nil {
			return time.Time{}, err
		}
		// Each instant just after one of the sample's, in order, within (lo, hi).
		var keys []time.Time
		for _, k := range got {
			if at := k.Add(bisectStep).Truncate(bisectStep); at.After(lo) && at.Before(hi) {
				keys = append(keys, at)
			}
		}
		slices.SortFunc(keys, time.Time.Compare)
		keys = slices.Compact(keys)
		if int64(len(got)) >= hiN {
			// The sample is every row before hi: the need-th's instant is the answer.
			slices.SortFunc(got, time.Time.Compare)
			return got[need-1].Add(bisectStep).Truncate(bisectStep), nil
		}
		// keys[below] selects too few (or below is -1), keys[above] enough (or above is len).
		below, above := -1, len(keys)
		halve := false
		for hiN > enough && above-below > 1 {
			i := (below + above) / 2
			if !halve {
				// Where target falls, were the rows between below and above spread as the
				// sample's are.
				share := float64(target-loN) / float64(hiN-loN)
				i = below + 1 + int(share*float64(above-below-1))
				i = min(max(i, below+1), above-1)
			}
			width := above - below
			if err := narrow(keys[i]); err != nil {
				return time.Time{}, err
			}
			if hi.Equal(keys[i]) {
				above = i
			} else {
				below = i
			}
			halve = !halve && above-below > width/2
		}
		if above-below > 1 || len(keys) == 0 {
			break // the sample did not help: halve the time
		}
	}
	if hiN > enough && hi.Sub(lo) > bisectStep {
		// Many rows due at one instant (a 09:00 storm) fill the second before hi: nothing
		// between would select fewer.
		if err := narrow(hi.Add(-bisectStep)); err != nil {
			return time.Time{}, err
		}
	}
	if lo.IsZero() {
		lo = hi.AddDate(-400, 0, 0)
	}
	for hiN > enough {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(bisectStep)
		if !mid.After(lo) || !mid.Before(hi) {
			break // one second apart: the rows in it are read whole
		}
		if err := narrow(mid); err != nil {
			return time.Time{}, err
		}
	}
	return hi, nil
}
