package rules

import (
	"fmt"
	"slices"
	"time"
)

// Holidays is the plan's holiday calendar (docs/rules.md, Business days): the default holidays,
// computed by rule for any year, plus the policy file's dated closures, less its dated
// removals. It is part of the policy, so a journey keeps the calendar it started with and
// replaying it never depends on the calendar of the day it runs.
type Holidays struct {
	// Calendar is the set of default holiday rules the calendar counts (Calendars): the one in
	// force when the policy was made (CurrentCalendar). A journey keeps it in its state with the
	// rest of its policy, so a later change of the defaults reaches only the journeys started
	// after it, or moved by replan. 0, in a state recorded before calendars were numbered, is 1.
	Calendar int `json:"calendar,omitempty"`
	// Add lists extra closure days (a day the State adds, a plan's own closure).
	Add []Date `json:"add,omitempty"`
	// Remove lists default holidays the plan works on, by the day they are observed.
	Remove []Date `json:"remove,omitempty"`
}

// Holiday is one day the plan is closed, and why.
type Holiday struct {
	Date Date   `json:"date"`
	Name string `json:"name"`
}

// Calendars are the sets of default holiday rules careclock has had, by number. To change the
// defaults (the State adds a holiday), add the next calendar and point CurrentCalendar at it:
// never change one that journeys already use, as they replay with it (docs/changing-a-journey.md).
var Calendars = map[int]func(year int) []Holiday{1: calendar1}

// CurrentCalendar is the calendar new policies take.
var CurrentCalendar = 1

// DefaultHolidays are the default holidays observed in year under CurrentCalendar.
func DefaultHolidays(year int) []Holiday { return Calendars[CurrentCalendar](year) }

// calendar returns the holiday rules of the calendar h counts.
func (h Holidays) calendar() func(year int) []Holiday {
	if f, ok := Calendars[max(h.Calendar, 1)]; ok {
		return f
	}
	return Calendars[CurrentCalendar] // Validate refuses an unknown calendar before it is used
}

// calendar1 is the first calendar (docs/rules.md, Business days): New Year's Day, Martin Luther
// King Jr. Day, Presidents' Day, César Chávez Day, Memorial Day, Juneteenth, Independence Day,
// Labor Day, Veterans Day, Thanksgiving and the day after, Christmas Day, in date order.
// Fixed-date ones falling on a Saturday are observed the Friday before, on a Sunday the Monday
// after. An observed day can fall in the year before (New Year's Day on a Saturday is observed on
// 31 December), so the list for a year holds the days observed in it.
func calendar1(year int) []Holiday {
	var out []Holiday
	for y := year; y <= year+1; y++ {
		fixed := func(m time.Month, d int, name string) {
			out = append(out, Holiday{Date: observed(NewDate(y, m, d)), Name: name})
		}
		nth := func(m time.Month, wd time.Weekday, n int, name string) {
			out = append(out, Holiday{Date: nthWeekday(y, m, wd, n), Name: name})
		}
		fixed(time.January, 1, "New Year's Day")
		if y > year {
			break // only the next New Year's Day can be observed in year
		}
		nth(time.January, time.Monday, 3, "Martin Luther King Jr. Day")
		nth(time.February, time.Monday, 3, "Presidents' Day")
		fixed(time.March, 31, "César Chávez Day")
		nth(time.May, time.Monday, -1, "Memorial Day")
		fixed(time.June, 19, "Juneteenth")
		fixed(time.July, 4, "Independence Day")
		nth(time.September, time.Monday, 1, "Labor Day")
		fixed(time.November, 11, "Veterans Day")
		thanksgiving := nthWeekday(y, time.November, time.Thursday, 4)
		out = append(out, Holiday{Date: thanksgiving, Name: "Thanksgiving"},
			Holiday{Date: thanksgiving.AddDays(1), Name: "Day after Thanksgiving"})
		fixed(time.December, 25, "Christmas Day")
	}
	return slices.DeleteFunc(out, func(h Holiday) bool { return h.Date.Year != year })
}

// observed is the day a fixed-date holiday on d is observed.
func observed(d Date) Date {
	switch d.Weekday() {
	case time.Saturday:
		return d.AddDays(-1)
	case time.Sunday:
		return d.AddDays(1)
	}
	return d
}

// nthWeekday is the n-th weekday wd of month m in year y; n = -1 is the last.
func nthWeekday(y int, m time.Month, wd time.Weekday, n int) Date {
	if n < 0 {
		last := NewDate(y, m, DaysIn(y, m))
		return last.AddDays(-((int(last.Weekday()) - int(wd) + 7) % 7))
	}
	first := NewDate(y, m, 1)
	return first.AddDays((int(wd)-int(first.Weekday())+7)%7 + 7*(n-1))
}

// HolidaysIn lists the days the plan is closed in year under the policy, in date order.
func (p Policy) HolidaysIn(year int) []Holiday {
	var out []Holiday
	for _, h := range p.Holidays.calendar()(year) {
		if !slices.Contains(p.Holidays.Remove, h.Date) {
			out = append(out, h)
		}
	}
	for _, d := range p.Holidays.Add {
		if d.Year == year {
			out = append(out, Holiday{Date: d, Name: "plan closure"})
		}
	}
	slices.SortFunc(out, func(a, b Holiday) int { return a.Date.utc().Compare(b.Date.utc()) })
	return out
}

// IsHoliday reports whether the plan is closed on d for a holiday.
func (p Policy) IsHoliday(d Date) bool {
	if slices.Contains(p.Holidays.Add, d) {
		return true
	}
	if slices.Contains(p.Holidays.Remove, d) {
		return false
	}
	return p.Holidays.isDefault(d)
}

// IsBusinessDay reports whether d is Monday to Friday and not a holiday.
func (p Policy) IsBusinessDay(d Date) bool {
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday && !p.IsHoliday(d)
}

// BusinessDaysAfter is the n-th business day strictly after d, whatever day d is: for a request
// received on a Saturday, day 1 is the next business day. n < 0 counts back: the |n|-th
// business day strictly before d. n = 0 is d itself.
func (p Policy) BusinessDaysAfter(d Date, n int) Date {
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		d = d.AddDays(step)
		if p.IsBusinessDay(d) {
			n--
		}
	}
	return d
}

// validate checks the policy's additions and removals: an added day is a weekday that is
// not already a holiday, a removed day is a default holiday as observed, and neither repeats.
func (h Holidays) validate() []error {
	var errs []error
	if _, ok := Calendars[max(h.Calendar, 1)]; !ok {
		errs = append(errs, fmt.Errorf("holidays.calendar: %d is not a calendar careclock has (1 to %d)", h.Calendar, len(Calendars)))
	}
	seen := map[Date]bool{}
	for i, d := range h.Add {
		key := fmt.Sprintf("holidays.add[%d]", i)
		switch {
		case d.IsZero():
			errs = append(errs, fmt.Errorf("%s: must be a date YYYY-MM-DD", key))
		case seen[d]:
			errs = append(errs, fmt.Errorf("%s: %s is listed twice", key, d))
		case d.Weekday() == time.Saturday || d.Weekday() == time.Sunday:
			errs = append(errs, fmt.Errorf("%s: %s is a %s, never a business day", key, d, d.Weekday()))
		case h.isDefault(d):
			errs = append(errs, fmt.Errorf("%s: %s is already a default holiday", key, d))
		}
		seen[d] = true
	}
	for i, d := range h.Remove {
		key := fmt.Sprintf("holidays.remove[%d]", i)
		switch {
		case seen[d]:
			errs = append(errs, fmt.Errorf("%s: %s is listed twice", key, d))
		case !h.isDefault(d):
			errs = append(errs, fmt.Errorf("%s: %s is not a default holiday as observed", key, d))
		}
		seen[d] = true
	}
	return errs
}

func (h Holidays) isDefault(d Date) bool {
	return slices.ContainsFunc(h.calendar()(d.Year), func(x Holiday) bool { return x.Date == d })
}

// HoursAfter is the instant h hours of elapsed time after t, in the policy's zone: across a
// clock change, 72 hours is still 72 × 3,600 s.
func (p Policy) HoursAfter(t time.Time, h int) time.Time {
	return t.Add(time.Duration(h) * time.Hour).In(p.location())
}

// DeemedDenialAt is the instant a standard authorization not decided by due is deemed denied:
// policy authorization.deemedDenialTime (17:00) on due, in the policy's zone.
func (p Policy) DeemedDenialAt(due Date) time.Time {
	h, m := p.Authorization.DeemedDenial()
	return time.Date(due.Year, due.Month, due.Day, h, m, 0, 0, p.location())
}

// Birthday is the day a member born on dob turns years old. A member born on 29 February turns
// it on 1 March in a common year, or on 28 February under policy leapDayBirthday "02-28"
// (docs/rules.md §3: no source settles it).
func (p Policy) Birthday(dob Date, years int) Date {
	d := dob.AddYears(years)
	if p.AgeOut.LeapDayBirthday == "02-28" && dob.Month == time.February && dob.Day == 29 && d.Month == time.March {
		return d.AddDays(-1)
	}
	return d
}
