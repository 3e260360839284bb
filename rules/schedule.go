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
	// At, when set, is the exact instant the event is due (an hour clock: docs/rules.md,
	// Instants), and Date is its date in the policy's zone; otherwise the event fires at the
	// notice hour on Date. An event due at an instant repeats by EveryHours, not EveryDays.
	At time.Time
	// EveryHours > 0 repeats an event due at an instant every that many hours of elapsed time
	// after At, for as long as the journey's plan still lists it (the expedited overdue).
	EveryHours int
	// DeadlineAt, when set, is the instant Deadline is about: a reminder of it is skipped once
	// that instant has passed, rather than once its date has.
	DeadlineAt time.Time
	// Fields returns the event-specific data for the occurrence on a date; nil means none.
	Fields func(on Date) map[string]any
}

// Occurrence is a Due on one particular date.
type Occurrence struct {
	Due
	On   Date
	At   time.Time
	Late bool
	// Superseded marks a missed advance notice skipped because a later notice of its series is
	// published instead (Step.Supersede).
	Superseded bool
	// Closed marks a missed notice skipped because the fact that ends its purpose is already
	// known (docs/rules.md, Time: a missed notice whose purpose is over is not sent).
	Closed bool
	// BeforeGoLive marks an event skipped because it fell due before the journey's go-live date:
	// the plan's previous system handled it (Step.SkipBefore).
	BeforeGoLive bool
}

// InstantGrace is how long after its instant an event due at an instant may be published and
// still not be late: the time a timer takes to fire and a worker to pick it up.
const InstantGrace = time.Minute

// Lateness says whether o, due at or before now, is published late, or skipped: a reminder
// whose deadline has passed by now (an instant deadline, once it is reached). A dated event is
// late once its date has passed; one due at an instant, once InstantGrace has.
func (p Policy) Lateness(o Occurrence, now time.Time) (late, skip bool) {
	today := p.Today(now)
	if o.Due.At.IsZero() {
		late = o.On.Before(today)
	} else {
		late = now.Sub(o.At) > InstantGrace
	}
	if o.Reminder {
		if o.DeadlineAt.IsZero() {
			skip = o.Deadline.Before(today)
		} else {
			skip = !o.DeadlineAt.After(now)
		}
	}
	return late, skip
}

// Key identifies an occurrence within its journey: the event type and its scheduled date, or for
// an event due at an instant, that instant in UTC (two warnings of one type can fall on one
// day). It is how a journey knows what it has already published.
func (o Occurrence) Key() string {
	if !o.Due.At.IsZero() {
		return o.Type + "@" + o.At.UTC().Format(time.RFC3339)
	}
	return OccurrenceKey(o.Type, o.On)
}

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
	var s Step
	consider := func(o Occurrence) {
		if !o.At.After(now) {
			if done(o.Key()) {
				return
			}
			var skip bool
			if o.Late, skip = p.Lateness(o, now); skip {
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
		if !d.repeats() || first.At.After(now) {
			consider(first)
			continue
		}
		last, next := p.around(d, now)
		consider(last)
		consider(next)
	}
	slices.SortStableFunc(s.Publish, byInstant)
	slices.SortStableFunc(s.Skip, byInstant)
	return s
}

// Supersede applies docs/rules.md's rule for several missed advance notices of one series (a
// journey started late): of the reminders of one type published late, only the latest is
// published; the earlier ones move to Skip, marked Superseded, so that a family does not get
// three letters on one day.
func (s *Step) Supersede() {
	latest := map[string]time.Time{}
	for _, o := range s.Publish {
		if o.Reminder && o.Late && o.At.After(latest[o.Type]) {
			latest[o.Type] = o.At
		}
	}
	s.skip(func(o *Occurrence) bool {
		o.Superseded = o.Reminder && o.Late && o.At.Before(latest[o.Type])
		return o.Superseded
	})
}

// skip moves to Skip the occurrences to publish that mark says to skip (mark records why in them).
func (s *Step) skip(mark func(o *Occurrence) bool) {
	publish := s.Publish[:0:0]
	for _, o := range s.Publish {
		if mark(&o) {
			s.Skip = append(s.Skip, o)
			continue
		}
		publish = append(publish, o)
	}
	s.Publish = publish
	slices.SortStableFunc(s.Skip, byInstant)
}

// Supersedes reports whether Supersede would change the step: it publishes two late reminders
// of one type.
func (s Step) Supersedes() bool {
	series := map[string]bool{}
	for _, o := range s.Publish {
		if o.Reminder && o.Late {
			if series[o.Type] {
				return true
			}
			series[o.Type] = true
		}
	}
	return false
}

// SkipBefore moves to Skip, marked BeforeGoLive, every event to publish that is dated before
// goLive: a journey imported from the plan's open work at go-live does not send again what the
// plan's previous system sent (docs/operations.md, Go-live). A zero goLive changes nothing.
func (s *Step) SkipBefore(goLive Date) {
	if goLive.IsZero() {
		return
	}
	s.skip(func(o *Occurrence) bool {
		o.BeforeGoLive = o.On.Before(goLive)
		return o.BeforeGoLive
	})
}

func byInstant(a, b Occurrence) int { return cmp.Compare(a.At.UnixNano(), b.At.UnixNano()) }

// repeats reports whether d repeats: by EveryHours when due at an instant, else by EveryDays.
func (d Due) repeats() bool {
	if !d.At.IsZero() {
		return d.EveryHours > 0
	}
	return d.EveryDays > 0
}

// around is, for a repeating due whose first occurrence is at or before now, its latest
// occurrence at or before now and the one after it.
func (p Policy) around(d Due, now time.Time) (last, next Occurrence) {
	if !d.At.IsZero() {
		period := time.Duration(d.EveryHours) * time.Hour
		k := now.Sub(d.At) / period
		return p.instantOccurrence(d, d.At.Add(k*period)), p.instantOccurrence(d, d.At.Add((k+1)*period))
	}
	k := p.Today(now).DaysSince(d.Date) / d.EveryDays
	if last = p.occurrence(d, d.Date.AddDays(k*d.EveryDays)); last.At.After(now) {
		k--
		last = p.occurrence(d, d.Date.AddDays(k*d.EveryDays))
	}
	return last, p.occurrence(d, d.Date.AddDays((k+1)*d.EveryDays))
}

func (p Policy) occurrence(d Due, on Date) Occurrence {
	if !d.At.IsZero() {
		return p.instantOccurrence(d, d.At)
	}
	return Occurrence{Due: d, On: on, At: p.At(on)}
}

// instantOccurrence is the occurrence of a Due due at an instant (or one of its repeats) at t.
func (p Policy) instantOccurrence(d Due, t time.Time) Occurrence {
	return Occurrence{Due: d, On: DateOf(t.In(p.location())), At: t}
}

// Planned is one line of a plan preview: a Due at its first date, as `starter plan` prints it.
type Planned struct {
	Type            string    `json:"type"`
	Date            Date      `json:"date"`
	At              time.Time `json:"at"`
	RepeatEveryDays int       `json:"repeatEveryDays,omitempty"`
	// RepeatEveryHours repeats an event due at an instant.
	RepeatEveryHours int  `json:"repeatEveryHours,omitempty"`
	Late             bool `json:"late,omitempty"`
	Skipped          bool `json:"skipped,omitempty"`
	// Superseded marks a skipped advance notice whose series has a later one published late.
	Superseded bool `json:"superseded,omitempty"`
}

// Preview lists dues in date order at their first date, marked late or skipped relative to now
// by the same rules as Step, superseded notices included.
func (p Policy) Preview(dues []Due, now time.Time) []Planned {
	var due Step
	out := make([]Planned, 0, len(dues))
	for _, d := range dues {
		o := p.occurrence(d, d.Date)
		if o.At.After(now) {
			out = append(out, planned(o))
			continue
		}
		var skip bool
		if o.Late, skip = p.Lateness(o, now); skip {
			due.Skip = append(due.Skip, o)
		} else {
			due.Publish = append(due.Publish, o)
		}
	}
	due.Supersede()
	for _, o := range due.Publish {
		out = append(out, planned(o))
	}
	for _, o := range due.Skip {
		pl := planned(o)
		pl.Late, pl.Skipped, pl.Superseded = false, true, o.Superseded
		out = append(out, pl)
	}
	slices.SortStableFunc(out, func(a, b Planned) int { return cmp.Compare(a.At.UnixNano(), b.At.UnixNano()) })
	return out
}

func planned(o Occurrence) Planned {
	return Planned{Type: o.Type, Date: o.On, At: o.At, RepeatEveryDays: o.EveryDays, RepeatEveryHours: o.EveryHours, Late: o.Late}
}

// Ahead lists, in date order, the next occurrence after now of each of dues: what a journey
// still has to publish if nothing changes. A repeating event appears once, at its next date.
func (p Policy) Ahead(dues []Due, now time.Time) []Planned {
	var out []Planned
	for _, d := range dues {
		o := p.occurrence(d, d.Date)
		if d.repeats() && !o.At.After(now) {
			_, o = p.around(d, now)
		}
		if o.At.After(now) {
			out = append(out, Planned{Type: d.Type, Date: o.On, At: o.At, RepeatEveryDays: d.EveryDays, RepeatEveryHours: d.EveryHours})
		}
	}
	slices.SortStableFunc(out, func(a, b Planned) int { return cmp.Compare(a.At.UnixNano(), b.At.UnixNano()) })
	return out
}
