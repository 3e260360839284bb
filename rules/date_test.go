package rules

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestAddMonthsClampsToMonthEnd(t *testing.T) {
	cases := []struct {
		from   string
		months int
		want   string
	}{
		{"2026-08-31", -6, "2026-02-28"}, // docs/rules.md, Time
		{"2024-01-31", 1, "2024-02-29"},  // docs/rules.md, Time: leap year
		{"2025-01-31", 1, "2025-02-28"},
		{"2026-03-31", -1, "2026-02-28"},
		{"2028-03-31", -1, "2028-02-29"},
		{"2026-05-31", -1, "2026-04-30"},
		{"2026-12-31", 2, "2027-02-28"},
		{"2027-01-15", -12, "2026-01-15"},
		{"2029-07-31", -12, "2028-07-31"},
		{"2026-01-01", -1, "2025-12-01"},
		{"2026-12-15", 1, "2027-01-15"},
		{"2019-07-01", 12, "2020-07-01"},
		{"2020-02-29", 12, "2021-02-28"},
		{"2020-02-29", 48, "2024-02-29"},
		{"2026-10-31", -25, "2024-09-30"},
	}
	for _, c := range cases {
		if got := MustDate(c.from).AddMonths(c.months).String(); got != c.want {
			t.Errorf("%s %+d months = %s, want %s", c.from, c.months, got, c.want)
		}
	}
}

func TestAddYearsTwentyNinthOfFebruary(t *testing.T) {
	cases := []struct{ from, want string }{
		{"2008-02-29", "2029-03-01"}, // 2029 is not a leap year: 1 March
		{"2004-02-29", "2025-03-01"},
		{"2007-02-28", "2028-02-28"},
		{"2011-02-29", ""}, // not a date, see TestParseDate
		{"2012-03-01", "2033-03-01"},
	}
	for _, c := range cases {
		if c.want == "" {
			continue
		}
		if got := MustDate(c.from).AddYears(21).String(); got != c.want {
			t.Errorf("%s + 21 years = %s, want %s", c.from, got, c.want)
		}
	}
	// 21 years from a 29 February can land on one too.
	if got := MustDate("2004-02-29").AddYears(24).String(); got != "2028-02-29" {
		t.Errorf("2004-02-29 + 24 years = %s", got)
	}
}

func TestDaysSinceAndAddDays(t *testing.T) {
	cases := []struct {
		from string
		days int
		want string
	}{
		{"2026-11-30", 60, "2027-01-29"},
		{"2026-03-07", 1, "2026-03-08"}, // spring DST change
		{"2026-10-31", 1, "2026-11-01"}, // autumn DST change
		{"2028-02-28", 1, "2028-02-29"},
		{"2027-02-28", 1, "2027-03-01"},
		{"2026-01-01", 364, "2026-12-31"},
		{"2024-01-01", 365, "2024-12-31"},
		{"2026-03-15", -15, "2026-02-28"},
	}
	for _, c := range cases {
		from := MustDate(c.from)
		got := from.AddDays(c.days)
		if got.String() != c.want {
			t.Errorf("%s + %d days = %s, want %s", c.from, c.days, got, c.want)
		}
		if back := got.DaysSince(from); back != c.days {
			t.Errorf("%s − %s = %d days, want %d", got, c.from, back, c.days)
		}
	}
}

func TestParseDate(t *testing.T) {
	good := []string{"2026-11-30", "2028-02-29", "1900-01-01", "2199-12-31"}
	for _, s := range good {
		d, err := ParseDate(s)
		if err != nil || d.String() != s {
			t.Errorf("ParseDate(%q) = %v, %v", s, d, err)
		}
	}
	bad := map[string]string{
		"2026-02-31":           "not a calendar date",
		"2027-02-29":           "not a calendar date",
		"0001-01-01":           "out of range",
		"1899-12-31":           "out of range",
		"2200-01-01":           "out of range",
		"2026-1-5":             "not a date",
		"2026-11-30T00:00:00Z": "not a date",
		"":                     "not a date",
		"30/11/2026":           "not a date",
	}
	for s, want := range bad {
		_, err := ParseDate(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDate(%q) error = %v, want it to say %q", s, err, want)
			continue
		}
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("ParseDate(%q) error repeats the input: %v", s, err)
		}
	}
}

func TestDateJSON(t *testing.T) {
	var v struct {
		D Date `json:"d"`
		Z Date `json:"z"`
	}
	if err := json.Unmarshal([]byte(`{"d":"2024-02-29","z":""}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.D != (Date{2024, time.February, 29}) || !v.Z.IsZero() {
		t.Fatalf("decoded %+v", v)
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) != `{"d":"2024-02-29","z":""}` {
		t.Fatalf("encoded %s, %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"d":"2023-02-29"}`), &v); err == nil {
		t.Fatal("29 February 2023 decoded")
	}
}

func TestAtCarriesTheOffsetOfItsDate(t *testing.T) {
	p := DefaultPolicy()
	cases := []struct{ date, want string }{
		{"2026-03-07", "2026-03-07T09:00:00-08:00"}, // day before the spring change
		{"2026-03-08", "2026-03-08T09:00:00-07:00"}, // spring change (02:00 → 03:00)
		{"2026-10-31", "2026-10-31T09:00:00-07:00"},
		{"2026-11-01", "2026-11-01T09:00:00-08:00"}, // autumn change (02:00 → 01:00)
		{"2027-01-14", "2027-01-14T09:00:00-08:00"},
		{"2027-07-01", "2027-07-01T09:00:00-07:00"},
	}
	for _, c := range cases {
		if got := p.At(MustDate(c.date)).Format(time.RFC3339); got != c.want {
			t.Errorf("At(%s) = %s, want %s", c.date, got, c.want)
		}
	}
	// A notice hour that does not exist on the spring change day fires at the first instant
	// after the gap; on the autumn day the first of the two 01:00s is used.
	p.NoticeHour = 2
	if got := p.At(MustDate("2026-03-08")).Format(time.RFC3339); got != "2026-03-08T03:00:00-07:00" {
		t.Errorf("02:00 on the spring change day = %s", got)
	}
	p.NoticeHour = 1
	if got := p.At(MustDate("2026-11-01")).Format(time.RFC3339); got != "2026-11-01T01:00:00-07:00" {
		t.Errorf("01:00 on the autumn change day = %s", got)
	}
	// A notice minute: 08:30, and 02:30 in the spring gap moves to 03:30.
	p.NoticeHour, p.NoticeMinute = 8, 30
	if got := p.At(MustDate("2026-12-01")).Format(time.RFC3339); got != "2026-12-01T08:30:00-08:00" {
		t.Errorf("08:30 = %s", got)
	}
	p.NoticeHour = 2
	if got := p.At(MustDate("2026-03-08")).Format(time.RFC3339); got != "2026-03-08T03:30:00-07:00" {
		t.Errorf("02:30 on the spring change day = %s", got)
	}
}

func TestTodayIsInThePolicyZone(t *testing.T) {
	p := DefaultPolicy()
	// 05:30 UTC on 1 December is still 30 November in California.
	now := time.Date(2026, time.December, 1, 5, 30, 0, 0, time.UTC)
	if got := p.Today(now).String(); got != "2026-11-30" {
		t.Fatalf("Today = %s, want 2026-11-30", got)
	}
	if got := p.Today(now.Add(3 * time.Hour)).String(); got != "2026-12-01" {
		t.Fatalf("Today = %s, want 2026-12-01", got)
	}
}
