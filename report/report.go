// Package report computes careclock's timeliness report (docs/reports.md): for each journey and
// period, the journeys opened, and for each deadline a plan is audited on, how many were met on
// time, how many late, and how many are still open past due.
//
// Closes come from the JOURNEYS stream: what careclock published is the record a regulator sees,
// and each closing event carries its own onTime. Openings and what is still open past due come
// from Temporal's visibility: a journey that has published nothing yet is on no stream.
package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// Deadline kinds: the clocks the report counts, each met or missed by one closing event.
const (
	KindReimbursementPaid = "reimbursement paid within 60 days"
	KindAuthDecided       = "authorization decided in time"
	KindNoticeOfAction    = "notice of action sent in time"
	KindGrievanceResolved = "grievance resolved in time"
	KindAppealResolved    = "appeal resolved in time"
	KindCoCDecided        = "continuity-of-care request decided in time"
)

// Kinds lists the deadline kinds in the report's order.
var Kinds = []string{KindReimbursementPaid, KindAuthDecided, KindNoticeOfAction, KindGrievanceResolved, KindAppealResolved, KindCoCDecided}

// kindJourney is the journey each kind belongs to.
var kindJourney = map[string]string{
	KindReimbursementPaid: "reimbursement", KindAuthDecided: "authorization", KindNoticeOfAction: "authorization",
	KindGrievanceResolved: "grievance", KindAppealResolved: "appeal", KindCoCDecided: "coc",
}

// ownDeadline is each journey's own deadline kind: a journey still open past due counts under it.
var ownDeadline = map[string]string{
	"reimbursement": KindReimbursementPaid, "authorization": KindAuthDecided, "grievance": KindGrievanceResolved,
	"appeal": KindAppealResolved, "coc": KindCoCDecided,
}

// closingTypes are the journey event types that settle a deadline (Closes).
var closingTypes = []string{"reimbursement.closed", "authorization.closed", "grievance.closed", "appeal.closed", "coc.approved", "coc.closed"}

// Close is one deadline met or missed: a journey's closing event, by kind.
type Close struct {
	Kind       string
	WorkflowID string
	On         rules.Date
	OnTime     bool
}

// Closes are the deadlines a journey event settles: a paid claim, an authorization's decision and
// its notice of action, a resolved grievance or appeal, a decided continuity-of-care request.
func Closes(ev events.JourneyEvent) []Close {
	on, err := rules.ParseDate(fmt.Sprint(ev.Data["eventDate"]))
	if err != nil {
		return nil
	}
	c := func(kind, field string) []Close {
		onTime, ok := ev.Data[field].(bool)
		if !ok {
			return nil
		}
		return []Close{{Kind: kind, WorkflowID: ev.Subject, On: on, OnTime: onTime}}
	}
	switch ev.Type {
	case "reimbursement.closed":
		if ev.Data["outcome"] == "paid" {
			return c(KindReimbursementPaid, "onTime")
		}
	case "authorization.closed":
		// The decision counts on its own date, the notice of action on the close's: a denial on
		// time whose notice went out late is late under the notice row only.
		decision := c(KindAuthDecided, "onTime")
		if at, ok := ev.Data["decidedAt"].(string); ok && len(decision) == 1 {
			if d, err := rules.ParseDate(at[:min(len(at), 10)]); err == nil {
				decision[0].On = d
			}
		}
		return append(decision, c(KindNoticeOfAction, "noticeOnTime")...)
	case "grievance.closed":
		return c(KindGrievanceResolved, "onTime")
	case "appeal.closed":
		return c(KindAppealResolved, "onTime")
	case "coc.approved", "coc.closed":
		return c(KindCoCDecided, "onTime")
	}
	return nil
}

// Journey is one journey as visibility lists it.
type Journey struct {
	Journey    string
	WorkflowID string
	Started    time.Time
	Deadline   time.Time
	// Open and Overdue: still running, and past its deadline.
	Open, Overdue bool
	// Continued marks a run that a continue-as-new started: the same journey, not an opening.
	// Superseded marks a run that is not the journey's current one: it counts no open past due.
	Continued, Superseded bool
}

// Row is one line of the report: a journey (or a deadline kind of it) in one period.
type Row struct {
	Journey string `json:"journey"`
	// Kind is the deadline kind; "" for the journey's own line (Opened).
	Kind   string `json:"kind,omitempty"`
	Period string `json:"period"`
	Opened int    `json:"opened"`
	OnTime int    `json:"onTime"`
	Late   int    `json:"late"`
	// OpenPastDue counts journeys still open whose deadline fell in the period and has passed.
	OpenPastDue int `json:"openPastDue"`
	// Share is OnTime / (OnTime + Late); -1 when nothing closed.
	Share float64 `json:"onTimeShare"`
}

// Late is one deadline missed, for --detail: a workflow id, never a member's.
type Late struct {
	Kind       string     `json:"kind"`
	WorkflowID string     `json:"workflowId"`
	On         rules.Date `json:"date"`
	Link       string     `json:"link,omitempty"`
}

// Report is the whole report.
type Report struct {
	Period string `json:"periodKind"`
	From   string `json:"from"`
	To     string `json:"to"`
	Rows   []Row  `json:"rows"`
	Late   []Late `json:"late,omitempty"`
	// OpenedFrom, when after From, is the first day whose openings are all counted: visibility
	// keeps a closed journey only for the namespace's retention (docs/reports.md).
	OpenedFrom string `json:"openedFrom,omitempty"`
}

// Period is the month (2027-01) or quarter (2027-Q1) a day falls in.
func Period(d rules.Date, kind string) string {
	if kind == "quarter" {
		return fmt.Sprintf("%d-Q%d", d.Year, (int(d.Month)-1)/3+1)
	}
	return fmt.Sprintf("%d-%02d", d.Year, int(d.Month))
}

// Build counts closes by kind and period, for days in [from, to], beside the openings and what is
// open past due the tally holds (TallyJourneys, CountJourneys); a close counts in the period of its
// date. openedFrom, when after from, is the first day the tally counts openings from. detail
// lists the late closes.
func Build(closes []Close, t Tally, kind string, from, to rules.Date, detail bool, openedFrom rules.Date) Report {
	r := Report{Period: kind, From: from.String(), To: to.String()}
	if openedFrom.After(from) {
		r.OpenedFrom = openedFrom.String()
	}
	in := func(d rules.Date) bool { return !d.Before(from) && !d.After(to) }
	rows := map[[3]string]*Row{}
	row := func(journey, k, period string) *Row {
		key := [3]string{journey, k, period}
		if rows[key] == nil {
			rows[key] = &Row{Journey: journey, Kind: k, Period: period}
		}
		return rows[key]
	}
	for k, n := range t.Opened {
		row(k[0], "", k[1]).Opened += n
	}
	for k, n := range t.OpenPastDue {
		row(k[0], ownDeadline[k[0]], k[1]).OpenPastDue += n
	}
	for _, c := range closes {
		if !in(c.On) {
			continue
		}
		rw := row(kindJourney[c.Kind], c.Kind, Period(c.On, kind))
		if c.OnTime {
			rw.OnTime++
		} else {
			rw.Late++
			if detail {
				r.Late = append(r.Late, Late{Kind: c.Kind, WorkflowID: c.WorkflowID, On: c.On})
			}
		}
	}
	order := map[string]int{"": -1}
	for i, k := range Kinds {
		order[k] = i
	}
	for _, k := range slices.SortedFunc(maps.Keys(rows), func(a, b [3]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(order[a[1]], order[b[1]]), cmp.Compare(a[2], b[2]))
	}) {
		rw := rows[k]
		rw.Share = -1
		if n := rw.OnTime + rw.Late; n > 0 {
			rw.Share = float64(rw.OnTime) / float64(n)
		}
		r.Rows = append(r.Rows, *rw)
	}
	slices.SortFunc(r.Late, func(a, b Late) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), a.On.DaysSince(b.On), cmp.Compare(a.WorkflowID, b.WorkflowID))
	})
	return r
}
