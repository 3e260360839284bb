package report

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/careclock/careclock/events"
)

// The public prior-authorization metrics of 42 CFR §438.210(f) (docs/rules.md §6, docs/reports.md):
// for one calendar year and all items and services together, the shares of standard requests
// approved, denied, approved after appeal, and extended then approved; the shares of expedited
// requests approved and denied; and the average and median time from request to decision, each
// share with its count. Everything comes from what careclock published on the JOURNEYS stream:
// authorization.closed (its outcome, urgency, extended, receivedAt, decidedAt) and appeal.closed
// (an overturned appeal that names the request appealed). No member is named.

// PADecision is one prior-authorization decision, from its authorization.closed.
type PADecision struct {
	// WorkflowID is the journey's id, a keyed hash of the request id.
	WorkflowID string
	Urgency    string
	// Outcome is approved, denied or modified.
	Outcome  string
	Extended bool
	// ReceivedAt is zero for a journey started before authorization.closed carried it.
	ReceivedAt time.Time
	DecidedAt  time.Time
}

// PAAppeal is an appeal of a prior-authorization decision, from its appeal.closed: the request
// appealed (its id, as the appeal event carries it) and the outcome.
type PAAppeal struct {
	RequestID string
	Outcome   string
}

// PASource is what the metrics are computed from.
type PASource struct {
	Decisions []PADecision
	Appeals   []PAAppeal
}

// paDecision reads an authorization.closed; false for a withdrawal, which is in no share.
func paDecision(ev events.JourneyEvent) (PADecision, bool) {
	d := PADecision{WorkflowID: ev.Subject}
	d.Outcome, _ = ev.Data["outcome"].(string)
	d.Urgency, _ = ev.Data["urgency"].(string)
	d.Extended, _ = ev.Data["extended"].(bool)
	decided, _ := ev.Data["decidedAt"].(string)
	at, err := time.Parse(time.RFC3339, decided)
	if err != nil || d.Outcome == "withdrawn" || d.Outcome == "" {
		return PADecision{}, false
	}
	d.DecidedAt = at
	if received, ok := ev.Data["receivedAt"].(string); ok {
		if t, err := time.Parse(time.RFC3339, received); err == nil {
			d.ReceivedAt = t
		}
	}
	return d, true
}

// ReadPASource reads every authorization.closed and appeal.closed on the JOURNEYS stream, with
// the reader role's rights only.
func ReadPASource(ctx context.Context, js jetstream.JetStream) (PASource, error) {
	var src PASource
	err := readJourneyEvents(ctx, js, []string{"authorization.closed", "appeal.closed"}, func(ev events.JourneyEvent) {
		switch ev.Type {
		case "authorization.closed":
			if d, ok := paDecision(ev); ok {
				src.Decisions = append(src.Decisions, d)
			}
		case "appeal.closed":
			if id, ok := ev.Data["requestId"].(string); ok && id != "" {
				outcome, _ := ev.Data["outcome"].(string)
				src.Appeals = append(src.Appeals, PAAppeal{RequestID: id, Outcome: outcome})
			}
		}
	})
	return src, err
}

// Share is count of of, and their ratio (-1 when of is 0).
type Share struct {
	Count int     `json:"count"`
	Of    int     `json:"of"`
	Share float64 `json:"share"`
}

func shareOf(count, of int) Share {
	s := Share{Count: count, Of: of, Share: -1}
	if of > 0 {
		s.Share = float64(count) / float64(of)
	}
	return s
}

// Elapsed is the time from request to decision, in hours, over Count decisions that carry both
// instants.
type Elapsed struct {
	Count        int     `json:"count"`
	AverageHours float64 `json:"averageHours"`
	MedianHours  float64 `json:"medianHours"`
}

func elapsed(hours []float64) Elapsed {
	e := Elapsed{Count: len(hours)}
	if len(hours) == 0 {
		return e
	}
	slices.Sort(hours)
	var sum float64
	for _, h := range hours {
		sum += h
	}
	e.AverageHours = round1(sum / float64(len(hours)))
	if n := len(hours); n%2 == 1 {
		e.MedianHours = round1(hours[n/2])
	} else {
		e.MedianHours = round1((hours[n/2-1] + hours[n/2]) / 2)
	}
	return e
}

func round1(h float64) float64 { return float64(int64(h*10+0.5)) / 10 }

// PAGroup is the figures of one urgency.
type PAGroup struct {
	// Decided is the requests of that urgency decided in the year: every share's "of".
	Decided  int   `json:"decided"`
	Approved Share `json:"approved"`
	// Denied counts denials and modifications (an approval in part is an adverse decision).
	Denied Share `json:"denied"`
	// ApprovedAfterAppeal (standard only): requests denied in the year whose appeal, naming the
	// request, was overturned.
	ApprovedAfterAppeal *Share `json:"approvedAfterAppeal,omitempty"`
	// ExtendedThenApproved (standard only): requests whose timeframe was extended and that were
	// then approved.
	ExtendedThenApproved *Share  `json:"extendedThenApproved,omitempty"`
	Elapsed              Elapsed `json:"elapsed"`
}

// Service is one item or service that needs prior authorization, from the plan's list.
type Service struct {
	Code        string `json:"code"`
	Description string `json:"description"`
}

// PAMetrics is the year's public prior-authorization metrics.
type PAMetrics struct {
	Year      int       `json:"year"`
	Standard  PAGroup   `json:"standard"`
	Expedited PAGroup   `json:"expedited"`
	Services  []Service `json:"services,omitempty"`
}

// BuildPAMetrics computes the metrics of year from src: decisions dated in the year in zone.
// requestKey maps an appeal's request id to the authorization journey's workflow id (the keyed
// hash), so that no request id is compared in clear with anything else.
func BuildPAMetrics(src PASource, year int, zone *time.Location, requestKey func(string) string) PAMetrics {
	overturned := map[string]bool{}
	for _, a := range src.Appeals {
		if a.Outcome == "overturned" {
			overturned[requestKey(a.RequestID)] = true
		}
	}
	type tally struct {
		decided, approved, denied, afterAppeal, extendedApproved int
		hours                                                    []float64
	}
	var std, exp tally
	for _, d := range src.Decisions {
		if d.DecidedAt.In(zone).Year() != year {
			continue
		}
		t := &std
		if d.Urgency == events.UrgencyExpedited {
			t = &exp
		}
		t.decided++
		switch d.Outcome {
		case "approved":
			t.approved++
			if d.Extended {
				t.extendedApproved++
			}
		case "denied", "modified":
			t.denied++
			if overturned[d.WorkflowID] {
				t.afterAppeal++
			}
		}
		if !d.ReceivedAt.IsZero() {
			t.hours = append(t.hours, d.DecidedAt.Sub(d.ReceivedAt).Hours())
		}
	}
	group := func(t tally, standard bool) PAGroup {
		g := PAGroup{Decided: t.decided, Approved: shareOf(t.approved, t.decided), Denied: shareOf(t.denied, t.decided), Elapsed: elapsed(t.hours)}
		if standard {
			a, e := shareOf(t.afterAppeal, t.decided), shareOf(t.extendedApproved, t.decided)
			g.ApprovedAfterAppeal, g.ExtendedThenApproved = &a, &e
		}
		return g
	}
	return PAMetrics{Year: year, Standard: group(std, true), Expedited: group(exp, false)}
}

// LoadServices reads the plan's list of items and services that need prior authorization: CSV
// lines of code and description, with or without a "code,description" header.
func LoadServices(path string) ([]Service, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	r.TrimLeadingSpace = true
	records, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("services %s: want lines of code,description: %w", path, err)
	}
	var out []Service
	for i, rec := range records {
		if i == 0 && strings.EqualFold(rec[0], "code") {
			continue
		}
		if rec[0] == "" {
			return nil, fmt.Errorf("services %s: line %d: no code", path, i+1)
		}
		out = append(out, Service{Code: rec[0], Description: rec[1]})
	}
	slices.SortStableFunc(out, func(a, b Service) int { return cmp.Compare(a.Code, b.Code) })
	return out, nil
}

// paLine is one figure of the metrics, as the table, CSV and page show it.
type paLine struct {
	Urgency, Figure string
	Count, Of       int
	Share           float64
	Value           string
	// Time marks a time to decision: Hours over Count decisions, and no share or "of".
	Time  bool
	Hours float64
}

func (m PAMetrics) lines() []paLine {
	var out []paLine
	add := func(urgency, figure string, s Share) {
		out = append(out, paLine{Urgency: urgency, Figure: figure, Count: s.Count, Of: s.Of, Share: s.Share, Value: share(s.Share)})
	}
	hours := func(urgency string, e Elapsed) {
		v := func(h float64) string {
			if e.Count == 0 {
				return "-"
			}
			return strconv.FormatFloat(h, 'f', 1, 64) + " h"
		}
		out = append(out,
			paLine{Urgency: urgency, Figure: "average time to decision", Count: e.Count, Share: -1, Value: v(e.AverageHours), Time: true, Hours: e.AverageHours},
			paLine{Urgency: urgency, Figure: "median time to decision", Count: e.Count, Share: -1, Value: v(e.MedianHours), Time: true, Hours: e.MedianHours})
	}
	add("standard", "approved", m.Standard.Approved)
	add("standard", "denied", m.Standard.Denied)
	add("standard", "approved after appeal", *m.Standard.ApprovedAfterAppeal)
	add("standard", "extended, then approved", *m.Standard.ExtendedThenApproved)
	hours("standard", m.Standard.Elapsed)
	add("expedited", "approved", m.Expedited.Approved)
	add("expedited", "denied", m.Expedited.Denied)
	hours("expedited", m.Expedited.Elapsed)
	return out
}

// Table writes the metrics as aligned text.
func (m PAMetrics) Table(w io.Writer) error {
	fmt.Fprintf(w, "Prior authorization, %d (42 CFR §438.210(f)): %d standard and %d expedited requests decided\n\n", m.Year, m.Standard.Decided, m.Expedited.Decided)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUESTS\tFIGURE\tVALUE\tCOUNT\tOF")
	for _, l := range m.lines() {
		of := strconv.Itoa(l.Of)
		if l.Time {
			of = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", l.Urgency, l.Figure, l.Value, l.Count, of)
	}
	return tw.Flush()
}

// CSV writes one line per figure.
func (m PAMetrics) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"year", "requests", "figure", "count", "of", "share", "hours"}}
	for _, l := range m.lines() {
		s, h := "", ""
		if l.Share >= 0 {
			s = strconv.FormatFloat(l.Share, 'f', 4, 64)
		}
		of := strconv.Itoa(l.Of)
		if l.Time {
			of = ""
			if l.Count > 0 {
				h = strconv.FormatFloat(l.Hours, 'f', 1, 64)
			}
		}
		rows = append(rows, []string{strconv.Itoa(m.Year), l.Urgency, l.Figure, strconv.Itoa(l.Count), of, s, h})
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// JSON writes the metrics as one JSON object.
func (m PAMetrics) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

var paPage = template.Must(template.New("pa").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Prior authorization metrics, {{.Year}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:600;margin-bottom:.3rem}</style></head>
<body><h1>Prior authorization metrics, {{.Year}}</h1>
<p>For all items and services that need prior authorization, for decisions made from 1 January to 31 December {{.Year}}
(42 CFR §438.210(f)). {{.Standard.Decided}} standard and {{.Expedited.Decided}} expedited requests were decided.
A request withdrawn before a decision is in no figure; a request approved in part counts as denied.</p>
<table><caption>Figures</caption><thead><tr><th>Requests</th><th>Figure</th><th>Value</th><th>Count</th><th>Of</th></tr></thead><tbody>
{{range .Lines}}<tr><td>{{.Urgency}}</td><td>{{.Figure}}</td><td class="n">{{.Value}}</td><td class="n">{{.Count}}</td><td class="n">{{if .Time}}-{{else}}{{.Of}}{{end}}</td></tr>
{{end}}</tbody></table>
{{if .Services}}<table><caption>Items and services that need prior authorization</caption><thead><tr><th>Code</th><th>Description</th></tr></thead><tbody>
{{range .Services}}<tr><td>{{.Code}}</td><td>{{.Description}}</td></tr>
{{end}}</tbody></table>{{end}}
</body></html>
`))

// HTML writes the one page a plan posts: the figures and its list of items and services.
func (m PAMetrics) HTML(w io.Writer) error {
	return paPage.Execute(w, struct {
		PAMetrics
		Lines []paLine
	}{m, m.lines()})
}
