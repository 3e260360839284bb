package rules

import (
	"cmp"
	"slices"
	"time"
)

// Due is one dated event in a journey's plan: docs/rules.md's "X on date D".
type Due struct {
	Type string
	// Date is the day it is due; for a repeating event, the first day.
	Date Date
	// Deadline is the date the event is about (a due date, a last day, a birthday).
	Deadline Date
	// EveryDays > 0 repeats the event every that many days after Date for as long as the
	// journey's plan still lists it (the overdue escalation, the referral follow-up).
	EveryDays int
	// Reminder marks an advance notice of Deadline: once Deadline has passed it is skipped,
	// not published late (docs/rules.md, Time).
	Reminder bool
	// Final ends the journey once published.
	Final bool
	// Fields returns the event-specific data for the occurrence on a date; nil means none.
	Fields func(on Date) map[string]any
}

// Occurrence is a Due on one particular date.
type Occurrence struct {
	Due
	On   Date
	At   time.Time
	Late bool
}

// Key identifies an occurrence within its journey: the event type and its scheduled date. It is
// how a journey knows what it has already published, and part of the published event's id.
func (o Occurrence) Key() string { return OccurrenceKey(o.Type, o.On) }

// OccurrenceKey is Occurrence.Key for a type and date.
func OccurrenceKey(eventType string, on Date) string { return eventType + "@" + on.String() }

// Step is what a journey does at one instant.
type Step struct {
	// Publish is everything due at or before now, in date order.
	Publish []Occurrence
	// Skip is the reminders whose deadline passed before they could be published.
	Skip []Occurrence
	// Next is the earliest occurrence still in the future, or nil when nothing is left to wait
	// for but signals.
	Next *Occurrence
}

// Step decides, at now, what of the plan dues is published, skipped or next. done reports the
// keys already published or skipped; they are never returned again.
//
// A repeating event that missed several occurrences (the journey started late, or no worker ran
// for weeks) is published once, at its latest due occurrence, rather than once per missed date.
func (p Policy) Step(dues []Due, done func(key string) bool, now time.Time) Step {
	today := p.Today(now)
	var s Step
	consider := func(o Occurrence) {
		if !o.At.After(now) {
			if done(o.Key()) {
				return
			}
			o.Late = o.On.Before(today)
			if o.Reminder && o.Deadline.Before(today) {
				s.Skip = append(s.Skip, o)
			} else {
				s.Publish = append(s.Publish, o)
			}
			return
		}
		if s.Next == nil || o.At.Before(s.Next.At) {
			o := o
			s.Next = &o
		}
	}
	for _, d := range dues {
		first := p.occurrence(d, d.Date)
		if d.EveryDays <= 0 || first.At.After(now) {
			consider(first)
			continue
		}
		// Latest occurrence at or before now, then the one after it.
		k := today.DaysSince(d.Date) / d.EveryDays
		last := p.occurrence(d, d.Date.AddDays(k*d.EveryDays))
		if last.At.After(now) {
			k--
			last = p.occurrence(d, d.Date.AddDays(k*d.EveryDays))
		}
		consider(last)
		consider(p.occurrence(d, d.Date.AddDays((k+1)*d.EveryDays)))
	}
	byDate := func(a, b Occurrence) int { return cmp.Compare(a.At.UnixNano(), b.At.UnixNano()) }
	slices.SortStableFunc(s.Publish, byDate)
	slices.SortStableFunc(s.Skip, byDate)
	return s
}

func (p Policy) occurrence(d Due, on Date) Occurrence {
	return Occurrence{Due: d, On: on, At: p.At(on)}
}

// Planned is one line of a plan preview: a Due at its first date, as `starter plan` prints it.
type Planned struct {
	Type            string    `json:"type"`
	Date            Date      `json:"date"`
	At              time.Time `json:"at"`
	RepeatEveryDays int       `json:"repeatEveryDays,omitempty"`
	Late            bool      `json:"late,omitempty"`
	Skipped         bool      `json:"skipped,omitempty"`
}

// Preview lists dues in date order at their first date, marked late or skipped relative to now
// by the same rules as Step.
func (p Policy) Preview(dues []Due, now time.Time) []Planned {
	today := p.Today(now)
	out := make([]Planned, 0, len(dues))
	for _, d := range dues {
		pl := Planned{Type: d.Type, Date: d.Date, At: p.At(d.Date), RepeatEveryDays: d.EveryDays}
		if d.Date.Before(today) {
			pl.Skipped = d.Reminder && d.Deadline.Before(today)
			pl.Late = !pl.Skipped
		}
		out = append(out, pl)
	}
	slices.SortStableFunc(out, func(a, b Planned) int { return cmp.Compare(a.At.UnixNano(), b.At.UnixNano()) })
	return out
}

// Ahead lists, in date order, the next occurrence after now of each of dues: what a journey
// still has to publish if nothing changes. A repeating event appears once, at its next date.
func (p Policy) Ahead(dues []Due, now time.Time) []Planned {
	today := p.Today(now)
	var out []Planned
	for _, d := range dues {
		o := p.occurrence(d, d.Date)
		if d.EveryDays > 0 && !o.At.After(now) {
			k := today.DaysSince(d.Date) / d.EveryDays
			if o = p.occurrence(d, d.Date.AddDays(k*d.EveryDays)); !o.At.After(now) {
				o = p.occurrence(d, d.Date.AddDays((k+1)*d.EveryDays))
			}
		}
		if o.At.After(now) {
			out = append(out, Planned{Type: d.Type, Date: o.On, At: o.At, RepeatEveryDays: d.EveryDays})
		}
	}
	slices.SortStableFunc(out, func(a, b Planned) int { return cmp.Compare(a.At.UnixNano(), b.At.UnixNano()) })
	return out
}
