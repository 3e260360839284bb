package rules

import (
	"strings"
	"testing"
	"time"
)

// Every default holiday of 2026–2028 on the day it is observed (docs/rules.md, Business days),
// listed by hand from a calendar, not computed.
func TestDefaultHolidays2026To2028(t *testing.T) {
	want := map[int][]string{
		2026: {"2026-01-01", "2026-01-19", "2026-02-16", "2026-03-31", "2026-05-25", "2026-06-19",
			"2026-07-03", // 4 July is a Saturday: observed Friday
			"2026-09-07", "2026-11-11", "2026-11-26", "2026-11-27", "2026-12-25"},
		2027: {"2027-01-01", "2027-01-18", "2027-02-15", "2027-03-31", "2027-05-31",
			"2027-06-18", // 19 June is a Saturday
			"2027-07-05", // 4 July is a Sunday: observed Monday
			"2027-09-06", "2027-11-11", "2027-11-25", "2027-11-26",
			"2027-12-24", // 25 December is a Saturday
			"2027-12-31", // 1 January 2028 is a Saturday: observed in 2027
		},
		2028: {"2028-01-17", "2028-02-21", "2028-03-31", "2028-05-29", "2028-06-19", "2028-07-04",
			"2028-09-04",
			"2028-11-10", // 11 November is a Saturday
			"2028-11-23", "2028-11-24", "2028-12-25"},
	}
	p := DefaultPolicy()
	for year, days := range want {
		var got []string
		for _, h := range p.HolidaysIn(year) {
			got = append(got, h.Date.String())
		}
		if strings.Join(got, " ") != strings.Join(days, " ") {
			t.Errorf("%d:\n got %v\nwant %v", year, got, days)
		}
		for _, d := range days {
			if p.IsBusinessDay(MustDate(d)) {
				t.Errorf("%s is a business day", d)
			}
		}
	}
	// The day a holiday falls on is a business day when another is observed instead.
	for _, d := range []string{"2026-07-06", "2027-06-21", "2027-12-27", "2028-11-13"} {
		if !p.IsBusinessDay(MustDate(d)) {
			t.Errorf("%s is not a business day", d)
		}
	}
}

func TestBusinessDaysAfter(t *testing.T) {
	closed24Nov, err := ParsePolicy([]byte(`{"holidays": {"add": ["2026-11-24"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	open27Nov, err := ParsePolicy([]byte(`{"holidays": {"remove": ["2026-11-27"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		policy Policy
		from   string
		n      int
		want   string
	}{
		{"a Friday: Thanksgiving and the day after are holidays", DefaultPolicy(), "2026-11-20", 5, "2026-12-01"},
		{"a Saturday: day 1 is the next business day", DefaultPolicy(), "2026-11-21", 5, "2026-12-01"},
		{"a Sunday", DefaultPolicy(), "2026-11-22", 1, "2026-11-23"},
		{"the day before Thanksgiving", DefaultPolicy(), "2026-11-25", 5, "2026-12-04"},
		{"24 December: Christmas and New Year's Day", DefaultPolicy(), "2026-12-24", 5, "2027-01-04"},
		{"on a holiday itself", DefaultPolicy(), "2026-11-26", 1, "2026-11-30"},
		{"into an observed New Year's Day", DefaultPolicy(), "2027-12-29", 2, "2028-01-03"},
		{"notice of action: 2 business days after a Thursday", DefaultPolicy(), "2026-12-03", 2, "2026-12-07"},
		{"a policy that adds a closure day", closed24Nov, "2026-11-20", 5, "2026-12-02"},
		{"a policy that removes a default holiday", open27Nov, "2026-11-20", 5, "2026-11-30"},
		{"one business day before a Tuesday after the long weekend", DefaultPolicy(), "2026-12-01", -1, "2026-11-30"},
		{"one business day before the Monday after Thanksgiving", DefaultPolicy(), "2026-11-30", -1, "2026-11-25"},
		{"zero is the day itself", DefaultPolicy(), "2026-11-21", 0, "2026-11-21"},
	}
	for _, c := range cases {
		if got := c.policy.BusinessDaysAfter(MustDate(c.from), c.n); got.String() != c.want {
			t.Errorf("%s: %d business days after %s = %s, want %s", c.name, c.n, c.from, got, c.want)
		}
	}
}

func TestHolidayChangesAreValidated(t *testing.T) {
	for _, c := range []struct{ policy, want string }{
		{`{"holidays": {"add": ["2026-11-21"]}}`, "holidays.add[0]: 2026-11-21 is a Saturday"},
		{`{"holidays": {"add": ["2026-11-26"]}}`, "holidays.add[0]: 2026-11-26 is already a default holiday"},
		{`{"holidays": {"add": ["2026-11-24", "2026-11-24"]}}`, "holidays.add[1]: 2026-11-24 is listed twice"},
		{`{"holidays": {"remove": ["2026-07-04"]}}`, "holidays.remove[0]: 2026-07-04 is not a default holiday as observed"},
		{`{"holidays": {"add": ["2026-13-01"]}}`, "not a calendar date"},
	} {
		_, err := ParsePolicy([]byte(c.policy))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.policy, err, c.want)
		}
	}
}

// An hour clock is elapsed time: 72 hours is 72 × 3,600 s whatever the wall clock does.
func TestInstantDeadlinesAcrossClockChanges(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	p := DefaultPolicy()
	cases := []struct{ received, want string }{
		// The spring change shortens the night of 14 March 2027, not the clock.
		{"2027-03-13T10:00:00-08:00", "2027-03-16T11:00:00-07:00"},
		// The autumn change repeats 01:00–02:00 on 1 November 2026: two instants, two deadlines.
		{"2026-11-01T01:30:00-07:00", "2026-11-04T00:30:00-08:00"},
		{"2026-11-01T01:30:00-08:00", "2026-11-04T01:30:00-08:00"},
	}
	for _, c := range cases {
		got := p.HoursAfter(at(c.received), 72)
		if got.Format(time.RFC3339) != c.want {
			t.Errorf("%s + 72 h = %s, want %s", c.received, got.Format(time.RFC3339), c.want)
		}
		if d := got.Sub(at(c.received)); d != 72*3600*time.Second {
			t.Errorf("%s + 72 h is %v later", c.received, d)
		}
	}
}

func TestBirthdayOfALeapDayChild(t *testing.T) {
	feb28, err := ParsePolicy([]byte(`{"ageout": {"noticeMonthsBefore": [12, 6, 3, 1], "leapDayBirthday": "02-28"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		policy    Policy
		dob, want string
	}{
		{DefaultPolicy(), "2008-02-29", "2029-03-01"},
		{feb28, "2008-02-29", "2029-02-28"},
		{feb28, "2004-02-29", "2025-02-28"},
		{feb28, "2007-03-01", "2028-03-01"},
		{DefaultPolicy(), "2011-02-28", "2032-02-28"},
		{Policy{}, "2008-02-29", "2029-03-01"}, // a journey's policy from before the setting
	} {
		if got := c.policy.Birthday(MustDate(c.dob), 21); got.String() != c.want {
			t.Errorf("%q: born %s, 21 on %s, want %s", c.policy.AgeOut.LeapDayBirthday, c.dob, got, c.want)
		}
	}
	if _, err := ParsePolicy([]byte(`{"ageout": {"noticeMonthsBefore": [1], "leapDayBirthday": "02-29"}}`)); err == nil ||
		!strings.Contains(err.Error(), "ageout.leapDayBirthday") {
		t.Errorf("leapDayBirthday 02-29: %v", err)
	}
}

// A policy keeps the calendar it was made with: when careclock's defaults change (a new calendar
// becomes current), a journey's policy made before still counts the old holidays, and one with
// no calendar number (recorded before they were numbered) counts the first.
func TestAPolicyKeepsItsCalendar(t *testing.T) {
	old := CurrentCalendar
	t.Cleanup(func() { CurrentCalendar = old; delete(Calendars, 2) })
	before := DefaultPolicy()
	unnumbered := DefaultPolicy()
	unnumbered.Holidays.Calendar = 0
	Calendars[2] = func(year int) []Holiday {
		out := calendar1(year)
		if year == 2026 {
			out = append(out, Holiday{Date: MustDate("2026-11-25"), Name: "a new State holiday"})
		}
		return out
	}
	CurrentCalendar = 2
	after := DefaultPolicy()
	received := MustDate("2026-11-20") // a Friday; Thanksgiving and the day after are holidays
	for _, c := range []struct {
		name string
		p    Policy
		want string
	}{{"made before", before, "2026-12-01"}, {"unnumbered", unnumbered, "2026-12-01"}, {"made after", after, "2026-12-02"}} {
		if got := c.p.BusinessDaysAfter(received, 5).String(); got != c.want {
			t.Errorf("%s (calendar %d): 5 business days after %s is %s, want %s", c.name, c.p.Holidays.Calendar, received, got, c.want)
		}
	}
	bad := DefaultPolicy()
	bad.Holidays.Calendar = 7
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "holidays.calendar: 7 is not a calendar careclock has") {
		t.Errorf("calendar 7: %v", err)
	}
}
