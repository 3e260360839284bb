package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/report"
	"github.com/careclock/careclock/rules"
)

type reportCmd struct {
	Period string `enum:"month,quarter" default:"month" help:"Group by month or quarter."`
	From   string `placeholder:"YYYY-MM-DD" help:"First day counted, in the policy's zone (default: the first day of the period 12 months ago)."`
	To     string `placeholder:"YYYY-MM-DD" help:"Last day counted (default: today)."`
	CSV    bool   `name:"csv" xor:"format" help:"Print CSV instead of a table."`
	JSON   bool   `name:"json" xor:"format" help:"Print JSON instead of a table."`
	HTML   string `name:"html" xor:"format" placeholder:"FILE" type:"path" help:"Write one HTML page, a chart per deadline, that opens without a server."`
	Detail bool   `help:"List each late item by workflow id, with its link in the UI (no member is named either way)."`
}

// Run prints the timeliness report: for each journey and period, journeys opened, and for each
// deadline a plan is audited on, how many were met, missed, and are still open past due.
func (c reportCmd) Run(cfg *config.Config, st *streams) error {
	policy, err := cfg.Policy()
	if err != nil {
		return err
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
	nc, js, err := connect.NATS(*cfg, config.RoleReader, cfg.Logger("starter"))
	if err != nil {
		return err
	}
	defer nc.Close()
	closes, err := report.ReadCloses(ctx, js)
	if err != nil {
		return err
	}
	op, err := dialOperator(ctx, *cfg, policy, false, st.out)
	if err != nil {
		return err
	}
	defer op.tc.Close()
	journeys, err := report.ReadJourneys(ctx, op.tc)
	if err != nil {
		return err
	}
	r := report.Build(closes, journeys, c.Period, from, to, zone, c.Detail)
	for i := range r.Late {
		r.Late[i].Link = op.link(r.Late[i].WorkflowID, "")
	}
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
