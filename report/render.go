package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"text/tabwriter"
)

func share(s float64) string {
	if s < 0 {
		return "-"
	}
	return strconv.FormatFloat(100*s, 'f', 1, 64) + "%"
}

// Table writes the report as aligned text.
func (r Report) Table(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "JOURNEY\tDEADLINE\tPERIOD\tOPENED\tON TIME\tLATE\tOPEN PAST DUE\tON-TIME SHARE\n")
	for _, row := range r.Rows {
		kind := row.Kind
		if kind == "" {
			kind = "(opened)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", row.Journey, kind, row.Period, row.Opened, row.OnTime, row.Late, row.OpenPastDue, share(row.Share))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return r.writeLate(w)
}

func (r Report) writeLate(w io.Writer) error {
	if len(r.Late) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nlate")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range r.Late {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", l.On, l.Kind, l.WorkflowID, l.Link)
	}
	return tw.Flush()
}

// CSV writes the rows as CSV, with a header line.
func (r Report) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"journey", "deadline", "period", "opened", "on_time", "late", "open_past_due", "on_time_share"}}
	for _, row := range r.Rows {
		s := ""
		if row.Share >= 0 {
			s = strconv.FormatFloat(row.Share, 'f', 4, 64)
		}
		rows = append(rows, []string{row.Journey, row.Kind, row.Period, strconv.Itoa(row.Opened), strconv.Itoa(row.OnTime),
			strconv.Itoa(row.Late), strconv.Itoa(row.OpenPastDue), s})
	}
	for _, l := range r.Late {
		rows = append(rows, []string{kindJourney[l.Kind], l.Kind, l.On.String(), "late", l.WorkflowID, l.Link, "", ""})
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// JSON writes the report as JSON.
func (r Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// chart is one deadline kind's on-time share by period, as SVG bars.
type chart struct {
	Kind string
	Bars []bar
}

type bar struct {
	Period         string
	X, Y, H        int
	Label          string
	OnTime, Closed int
	OpenPastDue    int
}

// HTML writes one self-contained page (no script, no server, no outside file): a chart per
// deadline kind of its on-time share by period, then the table.
func (r Report) HTML(w io.Writer) error {
	var charts []chart
	for _, k := range Kinds {
		c := chart{Kind: k}
		for _, row := range r.Rows {
			if row.Kind != k {
				continue
			}
			b := bar{Period: row.Period, X: 60 + 70*len(c.Bars), OnTime: row.OnTime, Closed: row.OnTime + row.Late, OpenPastDue: row.OpenPastDue, Label: share(row.Share)}
			if row.Share >= 0 {
				b.H = int(160 * row.Share)
			}
			b.Y = 180 - b.H
			c.Bars = append(c.Bars, b)
		}
		if len(c.Bars) > 0 {
			charts = append(charts, c)
		}
	}
	return page.Execute(w, struct {
		Report
		Charts []chart
		Share  func(float64) string
	}{r, charts, share})
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"width": func(bars []bar) int { return 80 + 70*len(bars) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>careclock timeliness {{.From}} to {{.To}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;margin-top:1em} td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
td:first-child,td:nth-child(2),th{text-align:left} .late{color:#a00}
svg text{font:12px system-ui,sans-serif}
</style></head><body>
<h1>careclock: deadlines met, {{.From}} to {{.To}}, by {{.Period}}</h1>
<p>From the journey events careclock published (closes, with their on-time flag) and Temporal's
list of journeys (openings, and those still open past due). No member is named; late items are
listed by journey id only.</p>
{{range .Charts}}<h2>{{.Kind}}: on-time share</h2>
<svg width="{{width .Bars}}" height="230" role="img" aria-label="{{.Kind}}: on-time share by period">
<line x1="50" y1="20" x2="50" y2="180" stroke="#888"/><line x1="50" y1="180" x2="{{width .Bars}}" y2="180" stroke="#888"/>
<text x="8" y="24">100%</text><text x="14" y="104">50%</text><text x="22" y="184">0%</text>
{{range .Bars}}<rect x="{{.X}}" y="{{.Y}}" width="40" height="{{.H}}" fill="#2a7"/>
<text x="{{.X}}" y="{{.Y}}" dy="-4">{{.Label}}</text>
<text x="{{.X}}" y="198">{{.Period}}</text>
<text x="{{.X}}" y="214">{{.OnTime}}/{{.Closed}}</text>{{if .OpenPastDue}}<text x="{{.X}}" y="228" class="late" fill="#a00">+{{.OpenPastDue}} open</text>{{end}}
{{end}}</svg>
{{end}}
<h2>All figures</h2>
<table><tr><th>journey</th><th>deadline</th><th>period</th><th>opened</th><th>on time</th><th>late</th><th>open past due</th><th>on-time share</th></tr>
{{range .Rows}}<tr><td>{{.Journey}}</td><td>{{if .Kind}}{{.Kind}}{{else}}(opened){{end}}</td><td>{{.Period}}</td><td>{{.Opened}}</td><td>{{.OnTime}}</td><td{{if .Late}} class="late"{{end}}>{{.Late}}</td><td>{{.OpenPastDue}}</td><td>{{call $.Share .Share}}</td></tr>
{{end}}</table>
{{if .Late}}<h2>Late</h2><table><tr><th>date</th><th>deadline</th><th>journey</th></tr>
{{range .Late}}<tr><td>{{.On}}</td><td>{{.Kind}}</td><td>{{if .Link}}<a href="{{.Link}}">{{.WorkflowID}}</a>{{else}}{{.WorkflowID}}{{end}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`))
