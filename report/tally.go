package report

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// Tally is what the report takes from visibility, by journey and period: the journeys opened, and
// those still open past due (by the period of their deadline, under the journey's own deadline
// kind).
type Tally struct {
	Opened, OpenPastDue map[[2]string]int
	// Calls is the visibility calls CountJourneys made (bench reports it).
	Calls int
}

func newTally() Tally {
	return Tally{Opened: map[[2]string]int{}, OpenPastDue: map[[2]string]int{}}
}

// add adds n to the journey's openings (or open past due) in period.
func (t Tally) add(pastDue bool, journey, period string, n int) {
	m := t.Opened
	if pastDue {
		m = t.OpenPastDue
	}
	m[[2]string{journey, period}] += n
}

// TallyJourneys counts listed journeys, for days in [from, to]: a journey's opening in the period
// its first run started (a run continued as new is the same journey), from openedFrom on (zero:
// from from); a journey still open past due in the period of its deadline.
func TallyJourneys(journeys []Journey, kind string, from, to rules.Date, zone *time.Location, openedFrom rules.Date) Tally {
	t := newTally()
	in := func(d rules.Date) bool { return !d.Before(from) && !d.After(to) }
	for _, j := range journeys {
		if d := rules.DateOf(j.Started.In(zone)); in(d) && !j.Continued && !d.Before(openedFrom) {
			t.Opened[[2]string{j.Journey, Period(d, kind)}]++
		}
		if _, ok := ownDeadline[j.Journey]; ok && j.Open && j.Overdue && !j.Superseded {
			if d := rules.DateOf(j.Deadline.In(zone)); in(d) {
				t.OpenPastDue[[2]string{j.Journey, Period(d, kind)}]++
			}
		}
	}
	return t
}

// countConcurrency is how many calls CountJourneys has in flight.
const countConcurrency = 8

// CountJourneys is TallyJourneys in a few calls to visibility rather than a listing of every run:
// Temporal's frontend serves a namespace 10 visibility calls a second unless told otherwise
// (frontend.namespaceRPS.visibility), and a listing of 100,000 runs is 100 of them
// (docs/performance.md). Each question below is counted over the whole window first; then, for
// each period, counted again, or, when its rows fit one page, listed and sorted into periods. For each journey and period:
//   - openings are the runs started in the period less the runs that continued as new in it: a
//     run that continues as new closes at the very instant its successor starts (Temporal sets
//     the one from the other), so each continued run started in a period matches one
//     ContinuedAsNew close in the same period;
//   - open past due is the running journeys whose status is overdue and whose deadline falls in
//     the period: only a journey's current run can be running.
func CountJourneys(ctx context.Context, c client.Client, kind string, from, to rules.Date, zone *time.Location, openedFrom rules.Date) (Tally, error) {
	openFrom := from
	if openedFrom.After(from) {
		openFrom = openedFrom
	}
	// The questions, each counted over its window first.
	type question struct {
		pastDue       bool
		journey, attr string
		at            func(workflows.Listed) time.Time
		q             string
		start         rules.Date
		sign          int
		whole         int
	}
	var qs []*question
	for _, j := range workflows.Journeys {
		q := fmt.Sprintf("%s = '%s'", workflows.AttrJourney.GetName(), j)
		qs = append(qs, &question{false, j, "StartTime", func(l workflows.Listed) time.Time { return l.Started }, q, openFrom, 1, 0},
			&question{false, j, "CloseTime", func(l workflows.Listed) time.Time { return l.Closed }, q + " AND ExecutionStatus = 'ContinuedAsNew'", openFrom, -1, 0})
		if _, ok := ownDeadline[j]; ok {
			qs = append(qs, &question{true, j, workflows.AttrDeadline.GetName(), func(l workflows.Listed) time.Time { return l.Deadline },
				fmt.Sprintf("%s AND ExecutionStatus = 'Running' AND %s = '%s'", q, workflows.AttrStatus.GetName(), workflows.StatusOverdue), from, 1, 0})
		}
	}
	var calls atomic.Int64
	count := func(ctx context.Context, q string) (int, error) {
		calls.Add(1)
		n, err := workflows.CountQuery(ctx, c, q)
		return int(n), err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(countConcurrency)
	for _, qu := range qs {
		if qu.start.After(to) {
			continue
		}
		g.Go(func() (err error) {
			qu.whole, err = count(gctx, between(qu.q, qu.attr, qu.start, to.AddDays(1), zone))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Tally{}, err
	}
	t := newTally()
	var mu sync.Mutex
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(countConcurrency)
	for _, qu := range qs {
		if qu.whole == 0 {
			continue
		}
		ps := periods(qu.start, to, kind)
		if len(ps) == 1 {
			t.add(qu.pastDue, qu.journey, ps[0].name, qu.sign*qu.whole)
			continue
		}
		if qu.whole <= workflows.PageSize {
			// One call lists the rows: fewer than counting each period. (A page of 1,000 rows
			// takes several counts' time, so a question with more is counted.)
			g.Go(func() error {
				calls.Add(1)
				rows, err := workflows.ListQuery(gctx, c, between(qu.q, qu.attr, qu.start, to.AddDays(1), zone), nil)
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				for _, l := range rows {
					t.add(qu.pastDue, qu.journey, Period(rules.DateOf(qu.at(l).In(zone)), kind), qu.sign)
				}
				return nil
			})
			continue
		}
		for _, p := range ps {
			g.Go(func() error {
				n, err := count(gctx, between(qu.q, qu.attr, p.from, p.to, zone))
				if err != nil {
					return err
				}
				mu.Lock()
				t.add(qu.pastDue, qu.journey, p.name, qu.sign*n)
				mu.Unlock()
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return Tally{}, err
	}
	t.Calls = int(calls.Load())
	for _, m := range []map[[2]string]int{t.Opened, t.OpenPastDue} {
		for k, n := range m {
			if n == 0 {
				delete(m, k)
			}
		}
	}
	return t, nil
}

// between is q with attr from the start of day from to the start of day to, in zone.
func between(q, attr string, from, to rules.Date, zone *time.Location) string {
	at := func(d rules.Date) string {
		return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, zone).UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s AND %s >= '%s' AND %s < '%s'", q, attr, at(from), attr, at(to))
}

// span is one period of a window: the days [from, to), named as Period names them.
type span struct {
	name     string
	from, to rules.Date
}

// periods are the periods of kind the days [from, to] fall in, each cut to the window.
func periods(from, to rules.Date, kind string) []span {
	months := 1
	if kind == "quarter" {
		months = 3
	}
	var out []span
	for d := from; !d.After(to); {
		start := rules.NewDate(d.Year, d.Month-time.Month((int(d.Month)-1)%months), 1)
		next := start.AddMonths(months)
		end := next
		if end.After(to.AddDays(1)) {
			end = to.AddDays(1)
		}
		out = append(out, span{name: Period(d, kind), from: d, to: end})
		d = next
	}
	return out
}
