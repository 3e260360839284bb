// Package rules holds careclock's deadline arithmetic: calendar dates, clamped months, the plan's
// zone and notice hour, the policy, and the schedule that decides what is due, late or skipped.
// It is plain Go with no Temporal import, so the workflows, the plan command and the tests share
// one implementation.
package rules

import (
	"fmt"
	"strings"
	"time"
)

// Date is a calendar date with no time of day and no zone; docs/rules.md's "date D". The zero
// Date is "no date".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// Earliest and latest dates careclock accepts from an inbound event. Anything outside is a data
// error (year 0001, a typo such as 2206), not a real deadline.
var (
	MinDate = Date{1900, time.January, 1}
	MaxDate = Date{2199, time.December, 31}
)

const layout = "2006-01-02"

// NewDate returns the date y-m-d, normalizing overflow the way time.Date does.
func NewDate(y int, m time.Month, d int) Date {
	return DateOf(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate reads a strict YYYY-MM-DD date between MinDate and MaxDate. Its errors never repeat
// the input, which may be a date of birth.
func ParseDate(s string) (Date, error) {
	if len(s) != len(layout) {
		return Date{}, fmt.Errorf("not a date (want YYYY-MM-DD)")
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		if strings.Contains(err.Error(), "out of range") {
			return Date{}, fmt.Errorf("not a calendar date")
		}
		return Date{}, fmt.Errorf("not a date (want YYYY-MM-DD)")
	}
	d := DateOf(t)
	if d.Before(MinDate) || d.After(MaxDate) {
		return Date{}, fmt.Errorf("out of range (%s to %s)", MinDate, MaxDate)
	}
	return d, nil
}

// MustDate parses a literal date; for tests and tables only.
func MustDate(s string) Date {
	d, err := time.Parse(layout, s)
	if err != nil {
		panic(err)
	}
	return DateOf(d)
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// MarshalText writes YYYY-MM-DD (empty for the zero Date).
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD strictly; empty text is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func (d Date) utc() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// Weekday is the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool { return d.utc().Before(o.utc()) }

// Compare returns -1, 0 or +1 as d is before, on or after o.
func (d Date) Compare(o Date) int { return d.utc().Compare(o.utc()) }

// After reports whether d is later than o.
func (d Date) After(o Date) bool { return d.utc().After(o.utc()) }

// AddDays returns d plus n calendar days (n may be negative).
func (d Date) AddDays(n int) Date { return DateOf(d.utc().AddDate(0, 0, n)) }

// DaysSince returns the number of calendar days from o to d (negative when d is earlier).
func (d Date) DaysSince(o Date) int {
	return int(d.utc().Sub(o.utc()).Hours() / 24)
}

// AddMonths returns d plus n calendar months with the day clamped to the end of the target
// month: 2026-08-31 − 6 months is 2026-02-28; 2024-01-31 + 1 month is 2024-02-29.
func (d Date) AddMonths(n int) Date {
	total := int(d.Month) - 1 + n
	y := d.Year + floorDiv(total, 12)
	m := time.Month(total - floorDiv(total, 12)*12 + 1)
	return Date{y, m, min(d.Day, DaysIn(y, m))}
}

// AddYears returns d plus n years. A 29 February that lands in a common year becomes 1 March
// (docs/rules.md §3: a member born on 29 February turns 21 on 1 March in a non-leap year).
func (d Date) AddYears(n int) Date { return NewDate(d.Year+n, d.Month, d.Day) }

// EndOfMonth returns the last day of d's month.
func (d Date) EndOfMonth() Date { return Date{d.Year, d.Month, DaysIn(d.Year, d.Month)} }

// DaysIn returns the number of days in month m of year y.
func DaysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
