package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// operator is what list, describe and find share: a Temporal client, where the UI is, the zone
// dates are shown in, and the output.
type operator struct {
	tc        client.Client
	namespace string
	uiURL     string
	zone      *time.Location
	out       io.Writer
	json      bool
	// progress reports long listings (on a terminal's stderr), nil: silent.
	progress func(n int)
}

// connect dials Temporal for an operator command.
func connect(ctx context.Context, cfg config.Config, policy rules.Policy, jsonOut bool) (*operator, error) {
	opts, err := cfg.ClientOptions(cfg.Logger("starter"))
	if err != nil {
		return nil, err
	}
	tc, err := config.Dial(ctx, opts)
	if err != nil {
		return nil, err
	}
	op := &operator{
		tc: tc, namespace: cmp.Or(opts.Namespace, client.DefaultNamespace), uiURL: cfg.UIURL,
		zone: policy.Zone(), out: os.Stdout, json: jsonOut,
	}
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		op.progress = func(n int) { fmt.Fprintf(os.Stderr, "\rlisted %d journeys…", n) }
	}
	return op, nil
}

// link is the journey's page in the Temporal UI.
func (o *operator) link(workflowID, runID string) string {
	u := o.uiURL + "/namespaces/" + url.PathEscape(o.namespace) + "/workflows/" + url.PathEscape(workflowID)
	if runID != "" {
		u += "/" + url.PathEscape(runID) + "/history"
	}
	return u
}

// listFilter turns list's flags into a visibility filter. Dates are days in the policy's zone;
// --deadline-before D selects deadlines before D begins, --deadline-after D from D on.
func listFilter(args []string, now time.Time, zone *time.Location) (workflows.Filter, bool, error) {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	var f workflows.Filter
	fs.StringVar(&f.Journey, "journey", "", "only this journey ("+strings.Join(workflows.Journeys, ", ")+")")
	fs.StringVar(&f.Status, "status", "", "only this status ("+strings.Join(workflows.Statuses, ", ")+")")
	before := fs.String("deadline-before", "", "only deadlines before this day (YYYY-MM-DD)")
	after := fs.String("deadline-after", "", "only deadlines on or after this day (YYYY-MM-DD)")
	atRisk := fs.Int("at-risk", -1, "only open journeys that are overdue, or whose next event or deadline is within DAYS days")
	all := fs.Bool("all", false, "include journeys that have ended")
	jsonOut := fs.Bool("json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return f, false, err
	}
	if fs.NArg() > 0 {
		return f, false, errors.New("list takes flags only")
	}
	day := func(flagName, s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		d, err := rules.ParseDate(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("--%s: %w", flagName, err)
		}
		return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, zone), nil
	}
	var err1, err2 error
	f.DeadlineBefore, err1 = day("deadline-before", *before)
	f.DeadlineAfter, err2 = day("deadline-after", *after)
	if err := errors.Join(err1, err2); err != nil {
		return f, false, err
	}
	if *atRisk >= 0 {
		f.DueBefore = now.Add(time.Duration(*atRisk) * 24 * time.Hour)
	}
	ended := f.Status == workflows.StatusClosed || f.Status == workflows.StatusCancelled
	f.Open = !*all && !ended
	if _, err := f.Query(); err != nil {
		return f, false, err
	}
	return f, *jsonOut, nil
}

// list prints the journeys a filter selects.
func list(args []string) error {
	cfg, policy, err := configWithPolicy("")
	if err != nil {
		return err
	}
	f, jsonOut, err := listFilter(args, time.Now(), policy.Zone())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	op, err := connect(ctx, cfg, policy, jsonOut)
	if err != nil {
		return err
	}
	defer op.tc.Close()
	return op.printList(ctx, f)
}

// find prints every journey of one member, open or ended. The member id is hashed with the HMAC
// key into the member key; the id itself is sent nowhere.
func find(args []string) error {
	fs := flag.NewFlagSet("find", flag.ContinueOnError)
	member := fs.String("member", "", "member id")
	jsonOut := fs.Bool("json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *member == "" || fs.NArg() > 0 {
		return errors.New("usage: find --member ID [--json]")
	}
	cfg, policy, err := configWithPolicy("")
	if err != nil {
		return err
	}
	keyer, err := cfg.Keyer(false)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	op, err := connect(ctx, cfg, policy, *jsonOut)
	if err != nil {
		return err
	}
	defer op.tc.Close()
	if err != nil {
		return err
	}
	return op.printList(ctx, workflows.Filter{MemberKey: workflows.MemberKey(keyer, *member)})
}

// listedJSON is one line of list's --json output.
type listedJSON struct {
	workflows.Listed
	Link string `json:"link"`
}

func (o *operator) printList(ctx context.Context, f workflows.Filter) error {
	rows, err := workflows.List(ctx, o.tc, f, o.progress)
	if o.progress != nil {
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		return err
	}
	if o.json {
		out := make([]listedJSON, len(rows))
		for i, r := range rows {
			out[i] = listedJSON{r, o.link(r.WorkflowID, r.RunID)}
		}
		return writeJSON(o.out, out)
	}
	tw := tabwriter.NewWriter(o.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOURNEY\tSTATUS\tNEXT\tDEADLINE\tWORKFLOW ID\tUI")
	for _, r := range rows {
		status := r.Status
		if r.Execution != "Running" {
			status += " (" + strings.ToLower(r.Execution) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Journey, status, o.instant(r.NextAt), o.day(r.Deadline),
			r.WorkflowID, o.link(r.WorkflowID, r.RunID))
	}
	fmt.Fprintf(tw, "%d journeys\n", len(rows))
	return tw.Flush()
}

// describe prints what a journey answers to the state query.
func describe(args []string) error {
	fs := flag.NewFlagSet("describe", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print JSON instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: describe [--json] WORKFLOW_ID")
	}
	id := fs.Arg(0)
	cfg, policy, err := configWithPolicy("")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	op, err := connect(ctx, cfg, policy, *jsonOut)
	if err != nil {
		return err
	}
	defer op.tc.Close()
	v, err := op.tc.QueryWorkflow(ctx, id, "", workflows.QueryState)
	if err != nil {
		return fmt.Errorf("query %s: %w", id, err)
	}
	var view workflows.View[json.RawMessage]
	if err := v.Get(&view); err != nil {
		return fmt.Errorf("decode the state of %s: %w", id, err)
	}
	return op.printView(id, view)
}

func (o *operator) printView(id string, v workflows.View[json.RawMessage]) error {
	link := o.link(id, "")
	if o.json {
		return writeJSON(o.out, struct {
			WorkflowID string `json:"workflowId"`
			Link       string `json:"link"`
			workflows.View[json.RawMessage]
		}{id, link, v})
	}
	var facts map[string]any
	if err := json.Unmarshal(v.Facts, &facts); err != nil {
		return fmt.Errorf("facts of %s: %w", id, err)
	}
	tw := tabwriter.NewWriter(o.out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "journey\t%s\n", v.Journey)
	fmt.Fprintf(tw, "workflow\t%s\n", id)
	fmt.Fprintf(tw, "ui\t%s\n", link)
	fmt.Fprintf(tw, "status\t%s\n", v.Status)
	fmt.Fprintf(tw, "deadline\t%s\n", v.Deadline)
	fmt.Fprintf(tw, "events applied\t%d\n", v.Applied)
	fmt.Fprintln(tw, "facts")
	for _, k := range slices.Sorted(maps.Keys(facts)) {
		if facts[k] != "" && facts[k] != nil {
			fmt.Fprintf(tw, "  %s\t%v\n", k, facts[k])
		}
	}
	fmt.Fprintln(tw, "ahead")
	for _, p := range v.Ahead {
		fmt.Fprintf(tw, "  %s\t%s", o.instant(p.At), p.Type)
		if p.RepeatEveryDays > 0 {
			fmt.Fprintf(tw, "\tevery %d days", p.RepeatEveryDays)
		}
		fmt.Fprintln(tw)
	}
	for _, section := range []struct {
		name    string
		records []workflows.Record
	}{{"published", v.Published}, {"skipped", v.Skipped}} {
		fmt.Fprintln(tw, section.name)
		for _, r := range section.records {
			fmt.Fprintf(tw, "  %s\t%s", o.instant(r.At), r.Type)
			if r.Late {
				fmt.Fprint(tw, "\tlate")
			}
			fmt.Fprintln(tw)
		}
	}
	return tw.Flush()
}

func (o *operator) instant(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(o.zone).Format("2006-01-02 15:04 MST")
}

func (o *operator) day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(o.zone).Format("2006-01-02")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
