package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.temporal.io/sdk/client"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/importer"
	"github.com/careclock/careclock/rules"
)

// importCmd takes in the plan's open work at go-live (docs/operations.md, Go-live).
type importCmd struct {
	GoLive      string   `name:"go-live" required:"" placeholder:"YYYY-MM-DD" help:"The go-live date: what fell due before it is recorded in each journey as skipped (before go-live), not sent; what falls due from it on goes out as usual."`
	Type        string   `placeholder:"TYPE" help:"The event type of every CSV file (default: each CSV file's name, such as reimbursement.submitted.csv)."`
	Source      string   `default:"urn:careclock:import" placeholder:"URI" help:"The CloudEvent source of events built from CSV rows that have no source column."`
	Rate        float64  `default:"50" placeholder:"N" help:"Items applied per second at most, so that the live listener keeps its share of Temporal; 0 for no limit."`
	Concurrency int      `default:"16" placeholder:"N" help:"Items applied at once (items of one journey or one member are applied in order, one at a time)."`
	MaxBacklog  int64    `name:"max-backlog" default:"1000" placeholder:"N" help:"Workflow tasks queued for the worker above which the import waits, so that running journeys' notices are not kept waiting behind it; 0 to not watch."`
	Refusals    string   `default:"refused" type:"path" placeholder:"DIR" help:"Where refused items go: a file per input, named after it and in its format, each item with its reason. Correct it and import it again."`
	Checkpoint  string   `placeholder:"FILE" type:"path" help:"Where an interrupted import records how far it got, and a rerun resumes (default: .checkpoint in the refusals directory). Removed once an import ends."`
	Restart     bool     `help:"Go through every item again, even where a checkpoint says an interrupted import got to (nothing is started twice either way)."`
	Files       []string `arg:"" name:"file" type:"existingfile" help:"The plan's export: CloudEvents (JSON, one or an array or one per line) or CSV (one starting event type per file, a column per data field)."`
}

func (c importCmd) Run(cfg *config.Config, st *streams) error {
	goLive, err := rules.ParseDate(c.GoLive)
	if err != nil {
		return fmt.Errorf("--go-live: %w", err)
	}
	if c.Rate < 0 || c.Concurrency < 1 || c.MaxBacklog < 0 {
		return errors.New("--rate and --max-backlog must be 0 or more, and --concurrency 1 or more")
	}
	now := time.Now()
	var inputs []importer.Input
	var items []importer.Item
	for i, f := range c.Files {
		in, err := importer.Read(f, c.Type, c.Source, i, now)
		if err != nil {
			return err
		}
		inputs = append(inputs, in)
		items = append(items, in.Items...)
	}
	id, err := importer.ImportID(inputs, c.Type, goLive)
	if err != nil {
		return err
	}
	checkpointPath := c.Checkpoint
	if checkpointPath == "" {
		checkpointPath = filepath.Join(c.Refusals, ".checkpoint")
	}
	cp := importer.Checkpoint{Import: id, GoLive: goLive}
	if !c.Restart {
		if cp, err = importer.LoadCheckpoint(checkpointPath, id); err != nil {
			return err
		}
		cp.GoLive = goLive
	}
	refusals, err := importer.NewRefusals(c.Refusals, inputs, cp.Done > 0)
	if err != nil {
		return err
	}

	log := cfg.Logger("starter")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tc, err := connect.Temporal(ctx, *cfg, log, nil)
	if err != nil {
		return err
	}
	defer tc.Close()
	book, err := cfg.Policies()
	if err != nil {
		return err
	}
	keyer, err := cfg.Keyer(false)
	if err != nil {
		return err
	}
	l := connect.NewListener(*cfg, tc, nil, keyer, book, log, nil)

	if cp.Done > 0 {
		fmt.Fprintf(st.out, "resuming after item %d of %d (%s)\n", cp.Done, len(items), checkpointPath)
	}
	show := newProgressView(st.out, len(items))
	im := importer.Importer{
		Deliver: l.Deliver, Keyer: keyer, Book: book, GoLive: goLive,
		Rate: c.Rate, Concurrency: c.Concurrency, Refuse: refusals.Refuse, Progress: show.update,
		Checkpoint: func(done int) error { cp.Done = done; return cp.Save(checkpointPath) },
	}
	if c.Rate == 0 {
		im.Rate = -1
	}
	if c.MaxBacklog > 0 {
		opts, err := connect.TemporalOptions(*cfg, log)
		if err != nil {
			return err
		}
		namespace := cmp.Or(opts.Namespace, client.DefaultNamespace)
		im.Backlog, im.MaxBacklog = importer.WorkflowBacklog(tc, namespace, cfg.TaskQueue), c.MaxBacklog
	}
	sum, runErr := im.Run(ctx, items, cp.Done)
	show.finish()
	runErr = errors.Join(runErr, refusals.Close())
	if runErr == nil {
		// Ended: a rerun goes through every item again, and finds them there.
		if err := os.Remove(checkpointPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			runErr = err
		}
	}
	printSummary(st.out, goLive, sum, refusals.Files())
	if runErr != nil {
		return fmt.Errorf("%w; run the same command again to resume from item %d (%s)", runErr, cp.Done+1, checkpointPath)
	}
	return nil
}

// progressView shows an import's progress: a bar with the rate and time left on a terminal,
// otherwise a line every 10 seconds.
type progressView struct {
	out  io.Writer
	bar  *progressbar.ProgressBar
	last time.Time
}

func newProgressView(out io.Writer, total int) *progressView {
	v := &progressView{out: out, last: time.Now()}
	if f, ok := out.(*os.File); ok && config.IsTerminal(f) {
		v.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("items"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionFullWidth(), progressbar.OptionClearOnFinish())
	}
	return v
}

func (v *progressView) update(p importer.Progress) {
	if v.bar != nil {
		_ = v.bar.Set(p.Done) // a terminal that cannot be written to loses only the bar
		return
	}
	if time.Since(v.last) < 10*time.Second && p.Done < p.Total {
		return
	}
	v.last = time.Now()
	pct := 100.0
	if p.Total > 0 {
		pct = 100 * float64(p.Done) / float64(p.Total)
	}
	waiting := ""
	if p.Backlog > 0 {
		waiting = fmt.Sprintf("; waiting for the worker, %d tasks queued", p.Backlog)
	}
	fmt.Fprintf(v.out, "imported %d of %d (%.0f%%), %.0f items/s, about %s left%s\n", p.Done, p.Total, pct, p.Rate(), p.ETA(), waiting)
}

func (v *progressView) finish() {
	if v.bar != nil {
		_ = v.bar.Finish()
	}
}

// printSummary prints what an import did, and why each refused item was refused.
func printSummary(out io.Writer, goLive rules.Date, s importer.Summary, files []string) {
	fmt.Fprintf(out, "go-live %s: %d items\n", goLive, s.Total)
	rows := []struct {
		name string
		n    int
	}{
		{"started", s.Started}, {"already there", s.AlreadyThere}, {"signalled", s.Signalled},
		{"no journey to start", s.NoEffect}, {"refused", s.Refused},
	}
	if s.Resumed > 0 {
		rows = append([]struct {
			name string
			n    int
		}{{"settled before resuming", s.Resumed}}, rows...)
	}
	for _, r := range rows {
		fmt.Fprintf(out, "  %6d  %s\n", r.n, r.name)
	}
	if s.Refused == 0 {
		return
	}
	fmt.Fprintln(out, "refused, by reason:")
	reasons := slices.SortedFunc(maps.Keys(s.Reasons), func(a, b string) int { return s.Reasons[b] - s.Reasons[a] })
	for _, r := range reasons {
		fmt.Fprintf(out, "  %6d  %s\n", s.Reasons[r], r)
	}
	fmt.Fprintln(out, "the refused items, each with its reason, to correct and import again:")
	for _, f := range files {
		fmt.Fprintf(out, "  %s\n", f)
	}
}
