package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// Grievance is docs/rules.md §7: a member's expression of dissatisfaction, acknowledged in writing
// within 5 calendar days and resolved within 30 (72 hours when expedited). 28 CCR §1300.68;
// 42 CFR §438.408; DHCS APL 21-011.
//
// Disenrollment does not end it: the plan still owes the member a resolution.
func Grievance(ctx workflow.Context, s State[GrievanceFacts]) (Outcome, error) {
	return run(ctx, JourneyGrievance, s)
}

// GrievanceFacts is what the journey knows about one grievance.
type GrievanceFacts struct {
	GrievanceID  string     `json:"grievanceId"`
	MemberID     string     `json:"memberId"`
	ReceivedAt   time.Time  `json:"receivedAt"`
	Expedited    bool       `json:"expedited"`
	Acknowledged rules.Date `json:"acknowledgedDate,omitzero"`
	ResolvedAt   time.Time  `json:"resolvedAt,omitzero"`
}

// Starts on grievance.received; both clocks start at receivedAt.
func startGrievance(ev events.Event, d events.GrievanceReceivedData, k privacy.Keyer, p rules.Policy) Start {
	f := GrievanceFacts{GrievanceID: d.GrievanceID, MemberID: d.MemberID, ReceivedAt: d.ReceivedAt, Expedited: *d.Expedited}
	id := WorkflowID(k, JourneyGrievance, d.GrievanceID)
	return newStart(JourneyGrievance, id, f, p, MemberKey(k, d.MemberID), ev.ID)
}

func (g *GrievanceFacts) startedOn(p rules.Policy) rules.Date { return g.clock(p).receivedOn(p) }

func (g *GrievanceFacts) clock(p rules.Policy) resolutionClock {
	return resolutionClock{journey: JourneyGrievance, received: g.ReceivedAt, expedited: g.Expedited, policy: p.Grievance.ResolutionPolicy}
}

// Resolution due: received date + policy resolveDays (30), or receivedAt + expeditedHours (72).
func (g *GrievanceFacts) deadline(p rules.Policy) rules.Date { return g.clock(p).due(p) }

func (g *GrievanceFacts) deadlineAt(p rules.Policy) time.Time { return g.clock(p).dueAt(p) }

// acknowledgeBy is the written acknowledgment's due date: received date + policy
// acknowledgeDays (5).
func (g *GrievanceFacts) acknowledgeBy(p rules.Policy) rules.Date {
	return g.clock(p).receivedOn(p).AddDays(p.Grievance.AcknowledgeDays)
}

func (g *GrievanceFacts) plan(p rules.Policy) []rules.Due {
	if !g.ResolvedAt.IsZero() {
		return nil
	}
	plan := g.clock(p).plan(p)
	// Standard only: grievance.acknowledgment_overdue on the acknowledgment's due date + 1,
	// unless grievance.acknowledged arrived.
	if !g.Expedited && g.Acknowledged.IsZero() {
		by := g.acknowledgeBy(p)
		plan = append(plan, rules.Due{Type: "grievance.acknowledgment_overdue", Date: by.AddDays(1), Deadline: by,
			Fields: fixed(map[string]any{"acknowledgeBy": by.String()})})
	}
	return plan
}

func (g *GrievanceFacts) begin(rules.Policy) []Notice { return nil }

func (g *GrievanceFacts) apply(ev events.Event, p rules.Policy) ([]Notice, error) {
	switch ev.Type {
	case events.GrievanceAcknowledged:
		d, err := events.As[events.GrievanceAcknowledgedData](ev)
		if err != nil {
			return nil, err
		}
		if !g.Acknowledged.IsZero() {
			return nil, fmt.Errorf("%w: already acknowledged", errIgnored)
		}
		g.Acknowledged = d.AcknowledgedDate
		return nil, nil
	case events.GrievanceResolved:
		// grievance.resolved: grievance.closed (onTime, daysLate or hoursLate).
		d, err := events.As[events.GrievanceResolvedData](ev)
		if err != nil {
			return nil, err
		}
		g.ResolvedAt = d.ResolvedAt
		return []Notice{{Type: "grievance.closed", On: rules.DateOf(d.ResolvedAt.In(p.Zone())), Fields: g.clock(p).closed(p, d.ResolvedAt)}}, nil
	}
	return nil, fmt.Errorf("grievance does not take %s", ev.Type)
}

func (g *GrievanceFacts) ended() string {
	if !g.ResolvedAt.IsZero() {
		return StatusClosed
	}
	return ""
}

func (g *GrievanceFacts) memberID() string { return g.MemberID }
