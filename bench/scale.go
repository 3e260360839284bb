package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/careclock/careclock/importer"
	"github.com/careclock/careclock/rules"
)

// scale imports -scale open items of every kind, in the proportions of a large county plan
// (internal/openwork), with go-live today, through `starter import`'s code without a rate bound
// but, as starter's, with the worker's backlog bounded (-import-backlog), while careclock's worker
// runs as a process of its own. It measures:
//   - import ÷ bare starts at the first step (10,000 items, or -scale if less), bare starts of the
//     same number just before; and again at the end, bare starts just after the last step;
//   - the worker's resident memory after each step (10k, 25k, 50k, 100k…), once it has run at
//     least one workflow task per journey started;
//   - the database's growth per open journey: on PostgreSQL its tables and indexes (base/)
//     apart from its WAL (pg_wal/); on the dev stack, SQLite's file and WAL;
//   - how long `starter list --at-risk` and `starter report`'s reads take with them all open.
//
// The storms then run with them open (-scenarios scale,storm).
func (b *bench) scaleRun(ctx context.Context) (err error) {
	w, err := b.startWorkerProcess()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, w.stop()) }()
	today := rules.DefaultPolicy().Today(time.Now())
	items, err := openItems(b.scale)
	if err != nil {
		return err
	}
	l := b.s.NewListener()
	im := importer.Importer{Deliver: l.Deliver, Keyer: l.Keyer, Book: l.Policies, GoLive: today, Rate: -1, Concurrency: b.c}
	if b.importBacklog > 0 {
		// As `starter import` does by default: no new item while the worker is behind.
		im.Backlog, im.MaxBacklog = importer.WorkflowBacklog(b.s.Client, b.s.Namespace(), journeyQueue), b.importBacklog
	}
	var marks []int
	for _, m := range []int{10000, 25000, 50000, 100000, 200000, 500000} {
		if m < b.scale {
			marks = append(marks, m)
		}
	}
	marks = append(marks, b.scale)
	first := marks[0]
	bareFirst, err := b.startRate(ctx, "scale-before", first, false)
	if err != nil {
		return err
	}
	b.log.Info().Int("n", first).Float64("starts_per_s", bareFirst).Msg("bare starts before the import")
	size0, wal0, err := b.dbSplit()
	if err != nil {
		return err
	}
	done, started := 0, 0
	var lastRate float64
	for _, m := range marks {
		begin := time.Now()
		sum, err := im.Run(ctx, items[:m], done)
		if err != nil {
			return fmt.Errorf("import to %d: %w", m, err)
		}
		took := time.Since(begin)
		lastRate = float64(m-done) / took.Seconds()
		started += sum.Started
		b.log.Info().Int("items", m).Int("journeys", started).Float64("items_per_s", lastRate).Msg("imported")
		b.add(Result{Scenario: fmt.Sprintf("import to %d items", m), N: m - done, Value: lastRate, Unit: "items/s",
			Note: fmt.Sprintf("%d journeys started so far; %d no effect, %d refused in this step", started, sum.NoEffect, sum.Refused)})
		if m == first {
			b.paired(fmt.Sprintf("import ÷ starts at %d", m), []float64{lastRate}, []float64{bareFirst})
		}
		done = m
		if err := b.waitFirstTasks(ctx, w.addr, started, 10*time.Minute+time.Duration(started)*5*time.Millisecond); err != nil {
			return err
		}
		r, err := w.memoryReading(fmt.Sprintf("worker RSS, %d open journeys (import)", started), started)
		if err != nil {
			return err
		}
		b.add(r)
	}
	bareLast, err := b.startRate(ctx, "scale-after", first, false)
	if err != nil {
		return err
	}
	b.log.Info().Int("n", first).Float64("starts_per_s", bareLast).Msg("bare starts after the import")
	b.paired(fmt.Sprintf("import ÷ starts at %d (last step)", b.scale), []float64{lastRate}, []float64{bareLast})
	size1, wal1, err := b.dbSplit()
	if err != nil {
		return err
	}
	what := "tables and indexes (PostgreSQL base/)"
	walWhat := "WAL (pg_wal/)"
	if b.pgData == "" {
		what, walWhat = "SQLite database file", "SQLite WAL"
	}
	b.add(Result{Scenario: "database bytes per open journey (scale)", N: started, Value: float64(size1-size0) / float64(started), Unit: "bytes",
		Note: what + "; bare starts' rows included"})
	b.add(Result{Scenario: "WAL bytes per open journey (scale)", N: started, Value: float64(wal1-wal0) / float64(started), Unit: "bytes", Note: walWhat})

	// An operator's questions, with them all open.
	return b.operatorReads(ctx, started, today)
}

// dbSplit is the database's size and its log's: PostgreSQL's base/ and pg_wal/ on the topology,
// SQLite's file and WAL on the dev stack.
func (b *bench) dbSplit() (data, wal int64, err error) {
	if b.pgData != "" {
		if data, err = folderBytes(filepath.Join(b.pgData, "base")); err != nil {
			return 0, 0, err
		}
		wal, err = folderBytes(filepath.Join(b.pgData, "pg_wal"))
		return data, wal, err
	}
	if b.external {
		return 0, 0, nil
	}
	db := filepath.Join(b.s.DataDir(), "temporal.db")
	size := func(p string) int64 {
		if st, err := os.Stat(p); err == nil {
			return st.Size()
		}
		return 0
	}
	return size(db), size(db + "-wal"), nil
}

// shuffle puts items in an order that mixes the kinds, the same in every run, keeping each
// journey's start before what follows it (the CloudEvents after the CSV rows stay last).
func shuffle(items []importer.Item) {
	tail := slices.IndexFunc(items, func(it importer.Item) bool { return it.Row == nil })
	if tail < 0 {
		tail = len(items)
	}
	head := items[:tail]
	x := uint64(29)
	for i := len(head) - 1; i > 0; i-- {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		j := int(x % uint64(i+1))
		head[i], head[j] = head[j], head[i]
	}
}
