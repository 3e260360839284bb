package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/careclock/careclock/importer"
	"github.com/careclock/careclock/rules"
)

// The summary counts each outcome, then the reasons most frequent first, then where the refused
// items are.
func TestImportSummary(t *testing.T) {
	var out bytes.Buffer
	printSummary(&out, rules.MustDate("2027-02-01"), importer.Summary{
		Total: 5000, Resumed: 1200, Started: 3700, AlreadyThere: 5, Signalled: 40, NoEffect: 25, Refused: 30,
		Reasons: map[string]int{"data.memberId: required": 20, "unknown type": 10},
	}, []string{"refused/member.enrolled.csv"})
	want := `go-live 2027-02-01: 5000 items
    1200  settled before resuming
    3700  started
       5  already there
      40  signalled
      25  no journey to start
      30  refused
refused, by reason:
      20  data.memberId: required
      10  unknown type
the refused items, each with its reason, to correct and import again:
  refused/member.enrolled.csv
`
	if out.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", out.String(), want)
	}
}

// Not on a terminal, progress is a line every 10 seconds, and one at the end.
func TestImportProgressLines(t *testing.T) {
	var out bytes.Buffer
	v := newProgressView(&out, 1000)
	v.update(importer.Progress{Done: 100, Total: 1000, Elapsed: 2 * time.Second}) // too soon
	v.last = time.Now().Add(-11 * time.Second)
	v.update(importer.Progress{Done: 400, Total: 1000, Elapsed: 8 * time.Second})
	v.update(importer.Progress{Done: 1000, Total: 1000, Elapsed: 20 * time.Second})
	v.finish()
	want := "imported 400 of 1000 (40%), 50 items/s, about 12s left\n" +
		"imported 1000 of 1000 (100%), 50 items/s, about 0s left\n"
	if out.String() != want {
		t.Errorf("progress:\n%s\nwant:\n%s", out.String(), want)
	}
}
