package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/report"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
	"github.com/nats-io/nats.go/jetstream"
)

type reportCmd struct {
	Period string `enum:"month,quarter" default:"month" help:"Group by month or quarter."`
	From   string `placeholder:"YYYY-MM-DD" help:"First day counted, in the policy's zone (default: the first day of the period 12 months ago)."`
	To     string `placeholder:"YYYY-MM-DD" help:"Last day counted (default: today)."`
	CSV    bool   `name:"csv" xor:"format" help:"Print CSV instead of a table."`
	JSON   bool   `name:"json" xor:"format" help:"Print JSON instead of a table."`
	HTML   string `name:"html" xor:"format" placeholder:"FILE" type:"path" help:"Write one HTML page, a chart per deadline, that opens without a server."`
	Detail bool   `help:"List each late item by workflow id, with its link in the UI (no member is named either way)."`
	// The public prior-authorization metrics (42 CFR §438.210(f)) instead of the timeliness report.
	PAMetrics bool   `name:"pa-metrics" help:"The public prior-authorization metrics of one calendar year (42 CFR §438.210(f)) instead of the timeliness report."`
	Year      int    `placeholder:"YYYY" help:"With --pa-metrics: the calendar year (default: last year)."`
	Services  string `placeholder:"FILE" type:"existingfile" help:"With --pa-metrics: the plan's list of items and services that need authorization, CSV lines of code,description, shown on the page."`
}

// Run prints the timeliness report: for each journey and period, journeys opened, and for each
// deadline a plan is audited on, how many were met, missed, and are still open past due.
func (c reportCmd) Run(cfg *config.Config, st *streams) error {
	policy, err := cfg.Policy()
	if err != nil {
		return err
	}
	if c.PAMetrics {
		return c.paMetrics(cfg, st, policy)
	}
	if c.Year != 0 || c.Services != "" {
		return fmt.Errorf("--year and --services go with --pa-metrics")
	}
	zone := policy.Zone()
	today := policy.Today(time.Now())
	from, to := today.AddMonths(-12), today
	from = rules.NewDate(from.Year, from.Month, 1)
	for _, f := range []struct {
		name, value string
		into        *rules.Date
	}{{"--from", c.From, &from}, {"--to", c.To, &to}} {
		if f.value == "" {
			continue
		}
		d, err := rules.ParseDate(f.value)
		if err != nil {
			return fmt.Errorf("%s: want YYYY-MM-DD: %w", f.name, err)
		}
		*f.into = d
	}
	if to.Before(from) {
		return fmt.Errorf("--to %s is before --from %s", to, from)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	closes, err := fromJourneys(ctx, cfg, report.ReadCloses)
	if err != nil {
		return err
	}
	op, err := dialOperator(ctx, *cfg, policy, false, st.out)
	if err != nil {
		return err
	}
	defer op.tc.Close()
	openedFrom, retention, err := report.OpenedFrom(ctx, op.tc, op.namespace, today)
	if err != nil {
		return err
	}
	tally, err := report.CountJourneys(ctx, op.tc, c.Period, from, to, zone, openedFrom)
	if err != nil {
		return err
	}
	r := report.Build(closes, tally, c.Period, from, to, c.Detail, openedFrom)
	if r.OpenedFrom != "" && !c.JSON && !c.CSV {
		fmt.Fprintf(os.Stderr, "openings counted from %s only: the namespace keeps a closed journey %d days (docs/reports.md)\n",
			r.OpenedFrom, int(retention.Hours()/24))
	}
	for i := range r.Late {
		r.Late[i].Link = op.link(r.Late[i].WorkflowID, "")
	}
	return writeFormat(c, st, r)
}

// paMetrics prints the public prior-authorization metrics of one calendar year, from the JOURNEYS
// stream: a request's appeal is matched to it by the keyed hash of its id, as its workflow id is.
func (c reportCmd) paMetrics(cfg *config.Config, st *streams, policy rules.Policy) error {
	if c.From != "" || c.To != "" || c.Detail || c.Period != "month" {
		return fmt.Errorf("--pa-metrics counts one calendar year (--year): --from, --to, --period and --detail are for the timeliness report")
	}
	year := c.Year
	if year == 0 {
		year = policy.Today(time.Now()).Year - 1
	}
	if year < 2000 || year > 2199 {
		return fmt.Errorf("--year %d: want a calendar year such as 2026", year)
	}
	var services []report.Service
	if c.Services != "" {
		var err error
		if services, err = report.LoadServices(c.Services); err != nil {
			return err
		}
	}
	keyer, err := cfg.Keyer(true)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	src, err := fromJourneys(ctx, cfg, report.ReadPASource)
	if err != nil {
		return err
	}
	m := report.BuildPAMetrics(src, year, policy.Zone(), func(requestID string) string {
		return workflows.WorkflowID(keyer, workflows.JourneyAuthorization, requestID)
	})
	m.Services = services
	return writeFormat(c, st, m)
}

// format is a report in each of its forms.
type format interface {
	Table(io.Writer) error
	CSV(io.Writer) error
	JSON(io.Writer) error
	HTML(io.Writer) error
}

// writeFormat writes r as the flags ask: CSV, JSON, an HTML file, or a table.
func writeFormat(c reportCmd, st *streams, r format) error {
	switch {
	case c.CSV:
		return r.CSV(st.out)
	case c.JSON:
		return r.JSON(st.out)
	case c.HTML != "":
		f, err := os.Create(c.HTML)
		if err != nil {
			return err
		}
		if err := r.HTML(f); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(st.out, "wrote %s\n", c.HTML)
		return nil
	}
	return r.Table(st.out)
}

// fromJourneys reads what a report needs from the JOURNEYS stream, with the reader role.
func fromJourneys[T any](ctx context.Context, cfg *config.Config, read func(context.Context, jetstream.JetStream) (T, error)) (T, error) {
	nc, js, err := connect.NATS(*cfg, config.RoleReader, cfg.Logger("starter"))
	if err != nil {
		var zero T
		return zero, err
	}
	defer nc.Close()
	return read(ctx, js)
}
