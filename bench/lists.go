package main

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"time"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/importer"
	"github.com/careclock/careclock/internal/openwork"
	"github.com/careclock/careclock/listener"
	"github.com/careclock/careclock/report"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// idleQueue is the task queue the lists scenario starts its journeys on: no worker polls it.
const idleQueue = "bench-idle"

// lists fills visibility with -lists open journeys of every kind, in the scale scenario's
// proportions, each started through the SDK as the listener starts it (its search attributes and
// summary) but on a task queue no worker polls: visibility then holds what the scale scenario's
// import leaves there, at the rate of bare starts rather than the worker's. It then times the
// operator's reads (operatorReads). Items that signal a journey already started are skipped: they
// change no row's shape.
func (b *bench) lists(ctx context.Context) error {
	items, err := openItems(b.listsN)
	if err != nil {
		return err
	}
	today := rules.DefaultPolicy().Today(time.Now())
	l := b.s.NewListener()
	deliver := func(ctx context.Context, _ events.Event, r workflows.Route) (string, error) {
		outcome := listener.OutcomeNoEffect
		for _, st := range r.Starts {
			st = st.WithVersions(workflows.CurrentVersions())
			if _, err := b.s.Client.ExecuteWorkflow(ctx, workflows.StartOptions(st, idleQueue, time.Now()), st.Journey, st.Input); err != nil {
				return "", err
			}
			outcome = listener.OutcomeStarted
		}
		return outcome, nil
	}
	im := importer.Importer{Deliver: deliver, Keyer: l.Keyer, Book: l.Policies, GoLive: today, Rate: -1, Concurrency: b.c}
	begin := time.Now()
	sum, err := im.Run(ctx, items, 0)
	if err != nil {
		return fmt.Errorf("fill visibility: %w", err)
	}
	took := time.Since(begin)
	b.log.Info().Int("journeys", sum.Started).Dur("took", took).Msg("visibility filled")
	b.add(Result{Scenario: "lists: journeys started on an idle queue", N: sum.Started, Value: float64(len(items)) / took.Seconds(), Unit: "items/s",
		Note: fmt.Sprintf("%d items; %d signals skipped, %d refused", len(items), sum.NoEffect, sum.Refused)})
	return b.operatorReads(ctx, sum.Started, today)
}

// openItems are n open items of every kind in a large county plan's proportions
// (internal/openwork), go-live today, in a mixed order of kinds (shuffle).
func openItems(n int) ([]importer.Item, error) {
	today := rules.DefaultPolicy().Today(time.Now())
	dir, err := os.MkdirTemp("", "careclock-bench-openwork-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	files, err := openwork.Write(dir, openwork.Options{N: n, GoLive: today, Today: today, Seed: 29})
	if err != nil {
		return nil, err
	}
	var items []importer.Item
	for i, f := range files {
		in, err := importer.Read(f, "", "urn:bench:export", i, time.Now())
		if err != nil {
			return nil, err
		}
		items = append(items, in.Items...)
	}
	// The items in a random order of kinds, as a plan's export would not be sorted by type: each
	// step then holds every kind in its proportion.
	shuffle(items)
	return items, nil
}

// operatorReads times an operator's questions with open journeys open, as starter asks them and
// as it asked them before it read less: `starter list --at-risk 7` (its first page, and every
// row) and `starter report` (from visibility's counts, and from a listing of every run). The two
// reports must agree.
func (b *bench) operatorReads(ctx context.Context, open int, today rules.Date) error {
	dueBefore := time.Now().AddDate(0, 0, 7)
	var pages [2][]workflows.Listed
	for i, limit := range []int{workflows.ListLimit, 0} {
		begin := time.Now()
		rows, total, err := workflows.ListFirst(ctx, b.s.Client, workflows.Filter{Open: true, DueBefore: dueBefore}, limit, nil)
		if err != nil {
			return fmt.Errorf("list --at-risk 7 --limit %d: %w", limit, err)
		}
		b.add(Result{Scenario: fmt.Sprintf("list --at-risk 7 --limit %d", limit), N: open, Value: time.Since(begin).Seconds(), Unit: "s",
			Note: fmt.Sprintf("%d of %d journeys at risk listed", len(rows), total)})
		pages[i] = rows
	}
	// The first page is the whole listing's first rows (journeys that move on between the two
	// reads, on the scale scenario's running worker, can make them differ).
	first, all := pages[0], pages[1][:min(len(pages[1]), len(pages[0]))]
	same := slices.EqualFunc(first, all, func(a, b workflows.Listed) bool { return a.WorkflowID == b.WorkflowID })
	b.add(Result{Scenario: "list: the first page is the listing's first rows", N: open, Value: map[bool]float64{true: 1}[same], Unit: "yes",
		Note: fmt.Sprintf("%d rows compared", len(first))})
	begin := time.Now()
	closes, err := report.ReadCloses(ctx, b.s.JS)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	closesTook := time.Since(begin)
	zone := rules.DefaultPolicy().Zone()
	from, to := today.AddDays(-365), today
	begin = time.Now()
	counted, err := report.CountJourneys(ctx, b.s.Client, "month", from, to, zone, from)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	r := report.Build(closes, counted, "month", from, to, false, from)
	b.add(Result{Scenario: "report (counts)", N: open, Value: (closesTook + time.Since(begin)).Seconds(), Unit: "s",
		Note: fmt.Sprintf("%d visibility calls; %d closes read in %.1f s; %d rows", counted.Calls, len(closes), closesTook.Seconds(), len(r.Rows))})
	begin = time.Now()
	journeys, err := report.ReadJourneys(ctx, b.s.Client)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	listed := report.Build(closes, report.TallyJourneys(journeys, "month", from, to, zone, from), "month", from, to, false, from)
	b.add(Result{Scenario: "report (every run listed)", N: open, Value: (closesTook + time.Since(begin)).Seconds(), Unit: "s",
		Note: fmt.Sprintf("%d runs listed", len(journeys))})
	// Journeys that move on between the two reads (on the scale scenario's running worker) can
	// make them differ; the lists scenario's journeys stand still.
	agree := reflect.DeepEqual(r, listed)
	if !agree {
		b.log.Error().Interface("counts", r.Rows).Interface("listing", listed.Rows).Msg("report: visibility's counts and its listing disagree")
	}
	b.add(Result{Scenario: "report: counts agree with the listing", N: open, Value: map[bool]float64{true: 1}[agree], Unit: "yes",
		Note: fmt.Sprintf("%d rows from counts, %d from the listing", len(r.Rows), len(listed.Rows))})
	return nil
}
