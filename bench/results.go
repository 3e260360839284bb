package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// paired adds a row: the median of a[i] ÷ base[i] over the rounds, with each pair's ratio and
// their spread.
func (b *bench) paired(name string, a, base []float64) {
	q := make([]float64, len(a))
	for i := range a {
		q[i] = a[i] / base[i]
	}
	b.add(Result{Scenario: name, N: len(q), Value: median(q), Unit: "× (median of pairs)",
		Note: fmt.Sprintf("pairs %s; spread %.2f–%.2f", list(q, "%.2f"), slices.Min(q), slices.Max(q))})
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func list(xs []float64, format string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, " ")
}

// value is the value of a scenario already measured, 0 if none.
func (b *bench) value(scenario string) float64 {
	if i := slices.IndexFunc(b.results, func(r Result) bool { return r.Scenario == scenario }); i >= 0 {
		return b.results[i].Value
	}
	return 0
}

func (b *bench) add(r Result) {
	b.log.Info().Str("scenario", r.Scenario).Float64("value", r.Value).Str("unit", r.Unit).Msg("measured")
	b.results = append(b.results, r)
}

// quotient is the value of scenario a over that of scenario b, and a's index; ok is false when
// either is missing or b is 0.
func (b *bench) quotient(a, over string) (i int, q float64, ok bool) {
	i = slices.IndexFunc(b.results, func(r Result) bool { return r.Scenario == a })
	j := slices.IndexFunc(b.results, func(r Result) bool { return r.Scenario == over })
	if i < 0 || j < 0 || b.results[j].Value == 0 {
		return i, 0, false
	}
	return i, b.results[i].Value / b.results[j].Value, true
}

func (b *bench) ratio(scenario, to string) {
	if i, q, ok := b.quotient(scenario, to); ok {
		b.results[i].Ratio, b.results[i].RatioTo = q, to
	}
}

// compare adds a row: how many times faster the tuned server was than the stock one.
func (b *bench) compare(tuned, stock string) { b.versus("tuned ÷ stock: "+tuned, tuned, stock) }

// versus adds a row named name: the value of scenario a divided by that of b.
func (b *bench) versus(name, a, c string) {
	if i, q, ok := b.quotient(a, c); ok {
		b.results = append(b.results, Result{Scenario: name, N: b.results[i].N, Value: q, Unit: "×"})
	}
}

func (b *bench) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tN\tVALUE\tUNIT\tRATIO\tNOTE")
	for _, r := range b.results {
		ratio := ""
		if r.RatioTo != "" {
			ratio = fmt.Sprintf("%.2f × %s", r.Ratio, r.RatioTo)
		}
		value := fmt.Sprintf("%.1f", r.Value)
		if strings.HasPrefix(r.Unit, "×") {
			value = fmt.Sprintf("%.2f", r.Value)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.Scenario, r.N, value, r.Unit, ratio, r.Note)
	}
	_ = tw.Flush()
}

func (b *bench) save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	out, err := json.MarshalIndent(map[string]any{
		"time": time.Now().UTC().Format(time.RFC3339), "n": b.n, "storm": b.storm, "inFlight": b.c,
		"host": cmp.Or(os.Getenv("HOSTNAME"), "unknown"), "results": b.results,
	}, "", "  ")
	if err != nil {
		return err
	}
	file := filepath.Join(dir, time.Now().UTC().Format("20060102T150405Z")+".json")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		return err
	}
	fmt.Println("results:", file)
	return nil
}
