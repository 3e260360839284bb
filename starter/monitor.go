package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
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
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// operator is what list, describe, find and report share: a Temporal client, where the UI is,
// the policy (whose zone dates are shown in, and whose notice time tells a date deadline from an
// instant), and the output.
type operator struct {
	tc        client.Client
	namespace string
	uiURL     string
	policy    rules.Policy
	out       io.Writer
	json      bool
	// progress reports long listings (on a terminal's stderr), nil: silent.
	progress func(n int)
}

// dialOperator dials Temporal for an operator command.
func dialOperator(ctx context.Context, cfg config.Config, policy rules.Policy, jsonOut bool, out io.Writer) (*operator, error) {
	opts, err := connect.ClientOptions(cfg, cfg.Logger("starter"))
	if err != nil {
		return nil, err
	}
	tc, err := connect.Dial(ctx, opts)
	if err != nil {
		return nil, err
	}
	op := &operator{
		tc: tc, namespace: cmp.Or(opts.Namespace, client.DefaultNamespace), uiURL: cfg.UIURL,
		policy: policy, out: out, json: jsonOut,
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

type listCmd struct {
	Journey        string `placeholder:"JOURNEY" help:"Only this journey: ${journeys}."`
	Status         string `placeholder:"STATUS" help:"Only this status: ${statuses}."`
	DeadlineBefore string `placeholder:"YYYY-MM-DD" help:"Only deadlines before this day, in the policy's zone."`
	DeadlineAfter  string `placeholder:"YYYY-MM-DD" help:"Only deadlines on or after this day, in the policy's zone."`
	AtRisk         int    `placeholder:"DAYS" default:"-1" help:"Only open journeys that are overdue, or whose next event or deadline is within DAYS days."`
	All            bool   `help:"Include journeys that have ended."`
	Limit          int    `placeholder:"N" default:"${listLimit}" help:"Print the first N journeys only, the nearest next event first, and how many there are in all (0: every one; at 100,000 open journeys that reads every row)."`
	JSON           bool   `name:"json" help:"Print JSON instead of a table."`
}

// filter turns list's flags into a visibility filter. Dates are days in the policy's zone;
// --deadline-before D selects deadlines before D begins, --deadline-after D from D on.
func (c listCmd) filter(now time.Time, zone *time.Location) (workflows.Filter, error) {
	f := workflows.Filter{Journey: c.Journey, Status: c.Status}
	if c.Limit < 0 {
		return f, fmt.Errorf("--limit %d: want 0 (every journey) or more", c.Limit)
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
	f.DeadlineBefore, err1 = day("deadline-before", c.DeadlineBefore)
	f.DeadlineAfter, err2 = day("deadline-after", c.DeadlineAfter)
	if err := errors.Join(err1, err2); err != nil {
		return f, err
	}
	if c.AtRisk >= 0 {
		f.DueBefore = now.Add(time.Duration(c.AtRisk) * 24 * time.Hour)
	}
	ended := f.Status == workflows.StatusClosed || f.Status == workflows.StatusCancelled
	f.Open = !c.All && !ended
	if _, err := f.Query(); err != nil {
		return f, err
	}
	return f, nil
}

// Run prints the journeys the filter selects.
func (c listCmd) Run(cfg *config.Config, st *streams) error {
	policy, err := cfg.Policy()
	if err != nil {
		return err
	}
	f, err := c.filter(time.Now(), policy.Zone())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	op, err := dialOperator(ctx, *cfg, policy, c.JSON, st.out)
	if err != nil {
		return err
	}
	defer op.tc.Close()
	rows, total, err := op.list(ctx, f, c.Limit)
	if err != nil {
		return err
	}
	return op.printList(rows, total)
}

type findCmd struct {
	Member string `placeholder:"ID" help:"The member id; without it, ids are read from standard input, one per line, so that they stay out of shell history."`
	JSON   bool   `name:"json" help:"Print JSON instead of a table."`
}

// Run prints every journey of the members, open or ended. Each member id is hashed with the HMAC
// key into the member key; the id itself is sent nowhere.
func (c findCmd) Run(cfg *config.Config, st *streams) error {
	members, err := memberIDs(c.Member, st.in)
	if err != nil {
		return err
	}
	policy, err := cfg.Policy()
	if err != nil {
		return err
	}
	keyer, err := cfg.Keyer(false)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	op, err := dialOperator(ctx, *cfg, policy, c.JSON, st.out)
	if err != nil {
		return err
	}
	defer op.tc.Close()
	var rows []workflows.Listed
	for _, m := range members {
		found, _, err := op.list(ctx, workflows.Filter{MemberKey: workflows.MemberKey(keyer, m)}, 0)
		if err != nil {
			return err
		}
		rows = append(rows, found...)
	}
	return op.printList(rows, int64(len(rows)))
}

// memberIDs is --member, else the ids on in, one per line (blank lines skipped).
func memberIDs(member string, in io.Reader) ([]string, error) {
	if member != "" {
		return []string{member}, nil
	}
	raw, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("read member ids: %w", err)
	}
	var ids []string
	for line := range strings.Lines(string(raw)) {
		if id := strings.TrimSpace(line); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("no member id: give them on standard input, one per line (or --member ID)")
	}
	return ids, nil
}

// list returns the first limit journeys f selects (0: all) and how many it selects, reporting
// progress on a terminal.
func (o *operator) list(ctx context.Context, f workflows.Filter, limit int) ([]workflows.Listed, int64, error) {
	rows, total, err := workflows.ListFirst(ctx, o.tc, f, limit, o.progress)
	if o.progress != nil {
		fmt.Fprintln(os.Stderr)
	}
	return rows, total, err
}

// listedJSON is one line of list's --json output.
type listedJSON struct {
	workflows.Listed
	Link string `json:"link"`
}

// printList prints rows, the first of total journeys selected.
func (o *operator) printList(rows []workflows.Listed, total int64) error {
	more := ""
	if int64(len(rows)) < total {
		more = fmt.Sprintf("the first %d of %d journeys, the nearest next event first (--limit 0 for every one)", len(rows), total)
	}
	if o.json {
		if more != "" {
			// On standard error, so that standard output stays one JSON document.
			fmt.Fprintln(os.Stderr, more)
		}
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Journey, status, o.instant(r.NextAt), o.deadline(r.WorkflowID, r.Deadline),
			r.WorkflowID, o.link(r.WorkflowID, r.RunID))
	}
	if more != "" {
		fmt.Fprintln(tw, more)
	} else {
		fmt.Fprintf(tw, "%d journeys\n", len(rows))
	}
	return tw.Flush()
}

type describeCmd struct {
	WorkflowID string `arg:"" name:"workflow-id" help:"The journey's workflow id (from list or find)."`
	JSON       bool   `name:"json" help:"Print JSON instead of text."`
}

// Run prints what a journey answers to the state query.
func (c describeCmd) Run(cfg *config.Config, st *streams) error {
	id := c.WorkflowID
	policy, err := cfg.Policy()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	op, err := dialOperator(ctx, *cfg, policy, c.JSON, st.out)
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
	if v.DeadlineAt.IsZero() {
		fmt.Fprintf(tw, "deadline\t%s\n", v.Deadline)
	} else {
		fmt.Fprintf(tw, "deadline\t%s\n", o.instant(v.DeadlineAt))
	}
	if v.PolicyFrom != "" { // a journey's worker from before dated policies does not say
		fmt.Fprintf(tw, "policy from\t%s\n", v.PolicyFrom)
	}
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
			if r.Superseded {
				fmt.Fprint(tw, "\tsuperseded")
			}
			if r.Closed {
				fmt.Fprint(tw, "\tclosed")
			}
			if r.BeforeGoLive {
				fmt.Fprint(tw, "\tbefore go-live")
			}
			fmt.Fprintln(tw)
		}
	}
	if len(v.Held) > 0 {
		// Inbound events dated in the future: each takes effect on its date.
		fmt.Fprintln(tw, "held")
		for _, h := range v.Held {
			fmt.Fprintf(tw, "  %s\t%s\t%s %s\n", o.instant(h.At), h.Event.Type, h.Event.Source, h.Event.ID)
		}
	}
	if len(v.Refused) > 0 {
		// Inbound events the journey could not apply: the event's id and source tell the
		// producer which one, the reason why.
		fmt.Fprintln(tw, "refused")
		for _, r := range v.Refused {
			fmt.Fprintf(tw, "  %s	%s	%s %s	%s\n", o.instant(r.At), r.Type, r.Source, r.ID, r.Reason)
		}
	}
	return tw.Flush()
}

func (o *operator) instant(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(o.policy.Zone()).Format("2006-01-02 15:04 MST")
}

// deadline is a journey's deadline as kept in its search attribute: a day, when the attribute
// is the notice time of that day (a date deadline), else the instant with its hour (an instant
// deadline, such as an expedited authorization's).
func (o *operator) deadline(workflowID string, t time.Time) string {
	if t.IsZero() || o.policy.ForJourney(workflowID).At(rules.DateOf(t.In(o.policy.Zone()))).Equal(t) {
		return o.day(t)
	}
	return o.instant(t)
}

func (o *operator) day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(o.policy.Zone()).Format("2006-01-02")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
