package workflows

import (
	"math"
	"time"

	"github.com/careclock/careclock/rules"
)

// resolutionClock is the clock of a member's own request, grievances' (docs/rules.md §7) and
// appeals' (§8) alike: resolved within policy resolveDays calendar days of the received date, or
// for an expedited case expeditedHours from the instant it was received; warned before, overdue
// after, again and again until resolved.
type resolutionClock struct {
	// journey prefixes its event types: grievance.resolution_due_soon, appeal.resolution_overdue.
	journey   string
	received  time.Time
	expedited bool
	// extendDays moves the deadline (an instant by as many 24 hours); 0 when not extended.
	extendDays int
	policy     rules.ResolutionPolicy
}

func (c resolutionClock) receivedOn(p rules.Policy) rules.Date {
	return rules.DateOf(c.received.In(p.Zone()))
}

// dueAt is the expedited deadline instant; zero for a standard case.
func (c resolutionClock) dueAt(p rules.Policy) time.Time {
	if !c.expedited {
		return time.Time{}
	}
	return p.HoursAfter(c.received, c.policy.ExpeditedHours+24*c.extendDays)
}

// due is the deadline's date: the standard due date, or the expedited instant's date.
func (c resolutionClock) due(p rules.Policy) rules.Date {
	if c.expedited {
		return rules.DateOf(c.dueAt(p))
	}
	return c.receivedOn(p).AddDays(c.policy.ResolveDays + c.extendDays)
}

// plan is the warnings (resolution_due_soon) and the repeating overdue event
// (resolution_overdue): days before and after a standard due date, at the notice hour; hours
// before and after an expedited deadline instant, at those instants.
func (c resolutionClock) plan(p rules.Policy) []rules.Due {
	due, at := c.due(p), c.dueAt(p)
	soon, overdue := c.journey+".resolution_due_soon", c.journey+".resolution_overdue"
	var plan []rules.Due
	if c.expedited {
		for _, before := range c.policy.ReminderHoursBefore {
			if warn := at.Add(-time.Duration(before) * time.Hour); !warn.Before(c.received) {
				plan = append(plan, rules.Due{Type: soon, At: warn, Deadline: due, DeadlineAt: at, Reminder: true,
					Fields: fixed(map[string]any{"hoursBefore": before, "expedited": true})})
			}
		}
		return append(plan, rules.Due{Type: overdue, At: at, Deadline: due, DeadlineAt: at, EveryHours: c.policy.OverdueRepeatHours,
			Fields: func(on rules.Date) map[string]any { return map[string]any{"expedited": true} }})
	}
	for _, before := range c.policy.ReminderDaysBefore {
		if on := due.AddDays(-before); !on.Before(c.receivedOn(p)) {
			plan = append(plan, rules.Due{Type: soon, Date: on, Deadline: due, Reminder: true,
				Fields: fixed(map[string]any{"dueDate": due.String(), "daysBefore": before, "expedited": false})})
		}
	}
	return append(plan, rules.Due{Type: overdue, Date: due.AddDays(1), Deadline: due, EveryDays: c.policy.OverdueRepeatDays,
		Fields: func(on rules.Date) map[string]any {
			return map[string]any{"dueDate": due.String(), "daysOverdue": on.DaysSince(due), "expedited": false}
		}})
}

// closed is the fields of a resolution at resolved: onTime, and by how much it was late (days
// for a standard case, hours started for an expedited one).
func (c resolutionClock) closed(p rules.Policy, resolved time.Time) map[string]any {
	f := map[string]any{"resolvedAt": resolved.In(p.Zone()).Format(time.RFC3339), "expedited": c.expedited}
	if c.expedited {
		at := c.dueAt(p)
		f["onTime"], f["hoursLate"] = !resolved.After(at), hoursLate(resolved, at)
		return f
	}
	due, on := c.due(p), rules.DateOf(resolved.In(p.Zone()))
	f["onTime"], f["daysLate"], f["dueDate"] = !on.After(due), max(0, on.DaysSince(due)), due.String()
	return f
}

// hoursLate is how many hours, started, done came after deadline: 0 when on time.
func hoursLate(done, deadline time.Time) int {
	return max(0, int(math.Ceil(done.Sub(deadline).Hours())))
}
