package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// Reimbursement is docs/rules.md §5: when a member pays up front for necessary transportation
// (and, for CCS, meals, lodging, parking, tolls), the plan must approve and reimburse within 60
// calendar days of the member submitting the required receipts and documentation.
//
// Disenrollment does not cancel it: the plan still owes the member.
func Reimbursement(ctx workflow.Context, s State[ReimbursementFacts]) (Outcome, error) {
	return run(ctx, JourneyReimbursement, s)
}

// ReimbursementFacts is what the journey knows about one claim.
type ReimbursementFacts struct {
	ClaimID     string `json:"claimId"`
	MemberID    string `json:"memberId"`
	Category    string `json:"category"`
	AmountCents int64  `json:"amountCents"`
	// Submitted is the day complete documentation arrived: the clock starts there.
	Submitted rules.Date `json:"submittedDate"`
	Approved  rules.Date `json:"approvedDate,omitempty"`
	// Outcome is "" while open, then "denied" or "paid".
	Outcome  string     `json:"outcome,omitempty"`
	ClosedOn rules.Date `json:"closedDate,omitempty"`
}

// Starts on reimbursement.submitted; the clock starts on submittedDate.
func startReimbursement(ev events.Event, d events.ReimbursementSubmittedData, k privacy.Keyer, p rules.Policy) Start {
	f := ReimbursementFacts{
		ClaimID: d.ClaimID, MemberID: d.MemberID, Category: d.Category, AmountCents: *d.AmountCents,
		Submitted: d.SubmittedDate,
	}
	id := WorkflowID(k, JourneyReimbursement, d.ClaimID)
	return newStart(JourneyReimbursement, id, f, p, MemberKey(k, d.MemberID), ev.ID)
}

// Due date = submitted date + policy dueDays (60).
func (r *ReimbursementFacts) startedOn(rules.Policy) rules.Date { return r.Submitted }

func (r *ReimbursementFacts) deadline(p rules.Policy) rules.Date {
	return r.Submitted.AddDays(p.Reimbursement.DueDays)
}

func (r *ReimbursementFacts) plan(p rules.Policy) []rules.Due {
	if r.Outcome != "" {
		return nil
	}
	due := r.deadline(p)
	var plan []rules.Due
	// Reminders reimbursement.due_soon on due date − policy reminderDaysBefore ([15, 5]).
	for _, before := range p.Reimbursement.ReminderDaysBefore {
		plan = append(plan, rules.Due{
			Type: "reimbursement.due_soon", Date: due.AddDays(-before), Deadline: due, Reminder: true,
			Fields: fixed(map[string]any{"dueDate": due.String(), "daysBefore": before}),
		})
	}
	// reimbursement.overdue on due date + 1, then every policy overdueRepeatDays (7) until
	// closed, each with daysOverdue.
	plan = append(plan, rules.Due{
		Type: "reimbursement.overdue", Date: due.AddDays(1), Deadline: due,
		EveryDays: p.Reimbursement.OverdueRepeatDays,
		Fields: func(on rules.Date) map[string]any {
			return map[string]any{"dueDate": due.String(), "daysOverdue": on.DaysSince(due)}
		},
	})
	return plan
}

// Nothing is published at the start.
func (r *ReimbursementFacts) begin(rules.Policy) []Notice { return nil }

func (r *ReimbursementFacts) apply(ev events.Event, p rules.Policy) ([]Notice, error) {
	due := r.deadline(p)
	switch ev.Type {
	case events.ReimbursementDecided:
		d, err := events.As[events.ReimbursementDecidedData](ev)
		if err != nil {
			return nil, err
		}
		if d.Decision == "approved" {
			// approved: reimbursement.approved; the clock runs on until paid.
			r.Approved = d.DecisionDate
			return []Notice{{Type: "reimbursement.approved", On: d.DecisionDate,
				Fields: map[string]any{"dueDate": due.String()}}}, nil
		}
		// denied: reimbursement.closed (outcome denied, onTime, appealBy: the decision date + 60
		// days, the member's window to appeal, which the letter states).
		r.Outcome, r.ClosedOn = "denied", d.DecisionDate
		return []Notice{{Type: "reimbursement.closed", On: d.DecisionDate, Fields: map[string]any{
			"outcome": "denied", "dueDate": due.String(), "onTime": !d.DecisionDate.After(due),
			"appealBy": d.DecisionDate.AddDays(appealDays).String(),
		}}}, nil
	case events.ReimbursementPaid:
		// reimbursement.paid: reimbursement.closed (outcome paid, onTime, daysLate).
		d, err := events.As[events.ReimbursementPaidData](ev)
		if err != nil {
			return nil, err
		}
		r.Outcome, r.ClosedOn = "paid", d.PaidDate
		return []Notice{{Type: "reimbursement.closed", On: d.PaidDate, Fields: map[string]any{
			"outcome": "paid", "dueDate": due.String(), "onTime": !d.PaidDate.After(due),
			"daysLate": max(0, d.PaidDate.DaysSince(due)),
		}}}, nil
	case events.ReimbursementResubmitted:
		// reimbursement.resubmitted (documentation completed later): re-plan from the new date.
		d, err := events.As[events.ReimbursementResubmittedData](ev)
		if err != nil {
			return nil, err
		}
		r.Submitted = d.SubmittedDate
		return nil, nil
	}
	return nil, fmt.Errorf("reimbursement does not take %s", ev.Type)
}

func (r *ReimbursementFacts) ended() string {
	if r.Outcome != "" {
		return StatusClosed
	}
	return ""
}

func (r *ReimbursementFacts) memberID() string { return r.MemberID }

// fixed is event data that does not depend on the occurrence's date.
func fixed(m map[string]any) func(rules.Date) map[string]any {
	return func(rules.Date) map[string]any { return m }
}
