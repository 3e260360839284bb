package workflows

import (
	"errors"
	"strings"
	"time"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// Route is what the listener does with one inbound event.
type Route struct {
	// Starts are journeys to start; starting one that already exists is a duplicate.
	Starts []Start
	// Signals are the workflow ids of the journeys the event concerns.
	Signals []string
	// Directories are member-wide (provider-wide) facts for the directory of the member or
	// provider, which hands them to the journeys they concern (Directory).
	Directories []DirectorySend
}

// OrderKey is the key under which the events of one journey, or of one member whose directory
// orders them (its journeys' registrations and its member-wide facts), are applied one at a time
// and in order: the member's directory for a start of a member's journey, else the journey's or
// the directory's workflow id. "" for an event that routes to nothing.
func (r Route) OrderKey() string {
	switch {
	case len(r.Starts) > 0:
		key := r.Starts[0].WorkflowID
		for _, d := range r.Starts[0].Directories(false, "", nil) {
			if d.Kind == DirectoryMember {
				key = d.WorkflowID()
			}
		}
		return key
	case len(r.Signals) > 0:
		return r.Signals[0]
	case len(r.Directories) > 0:
		return r.Directories[0].WorkflowID()
	}
	return ""
}

// ErrNoJourney is returned for a valid event that no journey handles.
var ErrNoJourney = errors.New("no journey handles this event type")

// RouteEvent maps a validated inbound event (with its typed payload from events.Decode) to the
// journeys it starts or signals. An event that concerns no journey (a member enrolled who is
// not CCS-eligible) routes to nothing. A journey it starts takes the policy block in force on the
// date of the fact that starts it (docs/rules.md, Rules in force on a date).
func RouteEvent(ev events.Event, payload any, k privacy.Keyer, b rules.Book) (Route, error) {
	if len(b) == 0 {
		b = rules.DefaultBook()
	}
	on, starts := startingDate(payload, b[0].Zone())
	blk := b.On(on)
	r, err := route(ev, payload, k, blk.Policy)
	if starts {
		for i := range r.Starts {
			r.Starts[i] = r.Starts[i].inForce(blk.From, on)
		}
	}
	return r, err
}

// startingDate is the date of the fact an inbound event that starts journeys states: the date
// whose policy block its journeys take.
func startingDate(payload any, zone *time.Location) (rules.Date, bool) {
	switch d := payload.(type) {
	case *events.MemberEnrolledData:
		return d.EnrollmentDate, true
	case *events.CCSReferralSubmittedData:
		return d.ReferralDate, true
	case *events.WCMTransitionedData:
		return d.TransitionDate, true
	case *events.CoCRequestedData:
		return d.RequestDate, true
	case *events.PregnancyEndedData:
		return d.PregnancyEndDate, true
	case *events.ReimbursementSubmittedData:
		return d.SubmittedDate, true
	case *events.AuthorizationRequestedData:
		return rules.DateOf(d.ReceivedAt.In(zone)), true
	case *events.GrievanceReceivedData:
		return rules.DateOf(d.ReceivedAt.In(zone)), true
	case *events.AppealReceivedData:
		return rules.DateOf(d.ReceivedAt.In(zone)), true
	}
	return rules.Date{}, false
}

func route(ev events.Event, payload any, k privacy.Keyer, p rules.Policy) (Route, error) {
	switch d := payload.(type) {
	// Member-wide events.
	case *events.MemberEnrolledData:
		if !*d.CCSEligible {
			return Route{}, nil
		}
		s := reopenAgeOut(startAgeOut(ev, d.MemberID, d.DateOfBirth, k, p), d.EnrollmentDate)
		s.from = d.EnrollmentDate
		return Route{Starts: []Start{s}}, nil
	case *events.MemberDisenrolledData:
		// Every open journey of the member except reimbursements, authorizations, grievances and
		// appeals (the plan still owes the member a payment, a decision or a resolution): those
		// its directory knows (memberJourneys).
		return memberFact(ev, MemberKey(k, d.MemberID)), nil
	case *events.MemberCountyChangedData:
		return memberFact(ev, MemberKey(k, d.MemberID)), nil
	case *events.MemberBirthdateCorrectedData:
		return memberFact(ev, MemberKey(k, d.MemberID)), nil

	// §1 CCS referral.
	case *events.CCSReferralSubmittedData:
		s := startCCSReferral(ev, *d, k, p)
		s.from = d.ReferralDate
		return Route{Starts: []Start{s}}, nil
	case *events.CCSApplicationReceivedData:
		return Route{Signals: []string{WorkflowID(k, JourneyCCSReferral, d.ReferralID)}}, nil
	case *events.CCSEligibilityDeterminedData:
		return Route{Signals: []string{WorkflowID(k, JourneyCCSReferral, d.ReferralID)}}, nil
	case *events.CCSReferralWithdrawnData:
		return Route{Signals: []string{WorkflowID(k, JourneyCCSReferral, d.ReferralID)}}, nil

	// §2 Continuity of care.
	case *events.WCMTransitionedData:
		starts := startCoC(ev, *d, k, p)
		for i := range starts {
			starts[i].from = d.TransitionDate
		}
		return Route{Starts: starts}, nil
	case *events.CoCRequestedData:
		s := startCoCRequest(ev, *d, k, p)
		s.from = d.TransitionDate
		return Route{Starts: []Start{s}}, nil
	case *events.CoCDecidedData:
		return Route{Signals: []string{WorkflowID(k, JourneyCoC, d.MemberID, d.ProviderID)}}, nil
	case *events.ProviderContractedData:
		return Route{Directories: []DirectorySend{{Kind: DirectoryProvider, Key: ProviderKey(k, d.ProviderID), Request: DirectoryRequest{Fact: &ev}}}}, nil

	// §4 Postpartum. A correction goes to the member's open postpartum journeys; the one whose
	// end date is the previous one takes it.
	case *events.PregnancyEndedData:
		s := startPostpartum(ev, *d, k, p)
		s.from = d.PregnancyEndDate
		return Route{Starts: []Start{s}}, nil
	case *events.PregnancyEndDateCorrectedData:
		return memberFact(ev, MemberKey(k, d.MemberID)), nil

	// §5 Reimbursement.
	case *events.ReimbursementSubmittedData:
		return Route{Starts: []Start{startReimbursement(ev, *d, k, p)}}, nil
	case *events.ReimbursementResubmittedData:
		return Route{Signals: []string{WorkflowID(k, JourneyReimbursement, d.ClaimID)}}, nil
	case *events.ReimbursementDecidedData:
		return Route{Signals: []string{WorkflowID(k, JourneyReimbursement, d.ClaimID)}}, nil
	case *events.ReimbursementPaidData:
		return Route{Signals: []string{WorkflowID(k, JourneyReimbursement, d.ClaimID)}}, nil

	// §6 Prior authorization.
	case *events.AuthorizationRequestedData:
		return Route{Starts: []Start{startAuthorization(ev, *d, k, p)}}, nil
	case *events.AuthorizationInfoReceivedData:
		return Route{Signals: []string{WorkflowID(k, JourneyAuthorization, d.RequestID)}}, nil
	case *events.AuthorizationExtendedData:
		return Route{Signals: []string{WorkflowID(k, JourneyAuthorization, d.RequestID)}}, nil
	case *events.AuthorizationDecidedData:
		return Route{Signals: []string{WorkflowID(k, JourneyAuthorization, d.RequestID)}}, nil
	case *events.AuthorizationNoticeSentData:
		return Route{Signals: []string{WorkflowID(k, JourneyAuthorization, d.RequestID)}}, nil
	case *events.AuthorizationWithdrawnData:
		return Route{Signals: []string{WorkflowID(k, JourneyAuthorization, d.RequestID)}}, nil

	// §7 Grievance.
	case *events.GrievanceReceivedData:
		return Route{Starts: []Start{startGrievance(ev, *d, k, p)}}, nil
	case *events.GrievanceAcknowledgedData:
		return Route{Signals: []string{WorkflowID(k, JourneyGrievance, d.GrievanceID)}}, nil
	case *events.GrievanceResolvedData:
		return Route{Signals: []string{WorkflowID(k, JourneyGrievance, d.GrievanceID)}}, nil

	// §8 Appeal.
	case *events.AppealReceivedData:
		return Route{Starts: []Start{startAppeal(ev, *d, k, p)}}, nil
	case *events.AppealAcknowledgedData:
		return Route{Signals: []string{WorkflowID(k, JourneyAppeal, d.AppealID)}}, nil
	case *events.AppealExtendedData:
		return Route{Signals: []string{WorkflowID(k, JourneyAppeal, d.AppealID)}}, nil
	case *events.AppealResolvedData:
		return Route{Signals: []string{WorkflowID(k, JourneyAppeal, d.AppealID)}}, nil
	}
	return Route{}, ErrNoJourney
}

// memberFact routes a member-wide fact to the member's directory.
func memberFact(ev events.Event, memberKey string) Route {
	return Route{Directories: []DirectorySend{{Kind: DirectoryMember, Key: memberKey, Request: DirectoryRequest{Fact: &ev}}}}
}

// quoted is a visibility query's list of keywords: 'a', 'b'.
func quoted(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = "'" + v + "'"
	}
	return strings.Join(q, ", ")
}
