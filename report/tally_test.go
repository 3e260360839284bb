package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/careclock/careclock/rules"
)

// The periods CountJourneys asks about: each month or quarter the window touches, cut to the
// window, the last ending the day after its last day.
func TestPeriodsCutToTheWindow(t *testing.T) {
	d := rules.MustDate
	for _, tc := range []struct {
		kind     string
		from, to rules.Date
		want     string
	}{
		{"month", d("2026-12-04"), d("2027-02-10"), "2026-12 2026-12-04..2027-01-01, 2027-01 2027-01-01..2027-02-01, 2027-02 2027-02-01..2027-02-11"},
		{"month", d("2027-01-31"), d("2027-01-31"), "2027-01 2027-01-31..2027-02-01"},
		{"month", d("2028-02-01"), d("2028-02-29"), "2028-02 2028-02-01..2028-03-01"},
		{"quarter", d("2026-11-15"), d("2027-04-01"), "2026-Q4 2026-11-15..2027-01-01, 2027-Q1 2027-01-01..2027-04-01, 2027-Q2 2027-04-01..2027-04-02"},
		{"quarter", d("2027-03-31"), d("2027-12-31"), "2027-Q1 2027-03-31..2027-04-01, 2027-Q2 2027-04-01..2027-07-01, 2027-Q3 2027-07-01..2027-10-01, 2027-Q4 2027-10-01..2028-01-01"},
	} {
		var got []string
		for _, p := range periods(tc.from, tc.to, tc.kind) {
			got = append(got, fmt.Sprintf("%s %s..%s", p.name, p.from, p.to))
		}
		if strings.Join(got, ", ") != tc.want {
			t.Errorf("%s %s..%s:\n got  %s\n want %s", tc.kind, tc.from, tc.to, strings.Join(got, ", "), tc.want)
		}
	}
}

// between bounds an attribute by days' starts in the policy's zone: PST in winter, PDT in summer.
func TestBetweenDaysInTheZone(t *testing.T) {
	zone := rules.DefaultPolicy().Zone()
	got := between("CareclockJourney = 'grievance'", "StartTime", rules.MustDate("2027-03-01"), rules.MustDate("2027-04-01"), zone)
	want := "CareclockJourney = 'grievance' AND StartTime >= '2027-03-01T08:00:00Z' AND StartTime < '2027-04-01T07:00:00Z'"
	if got != want {
		t.Errorf("got\n %s\nwant\n %s", got, want)
	}
}
