package workflows

import (
	"errors"
	"fmt"

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
	// Queries are visibility queries; every journey they find receives the event. They find
	// journeys by keyed hash, never by a clear id.
	Queries []string
}

// ErrNoJourney is returned for a valid event that no journey handles.
var ErrNoJourney = errors.New("no journey handles this event type")

// RouteEvent maps a validated inbound event (with its typed payload from events.Decode) to the
// journeys it starts or signals. An event that concerns no journey (a member enrolled who is
// not CCS-eligible) routes to nothing.
func RouteEvent(ev events.Event, payload any, k privacy.Keyer, p rules.Policy) (Route, error) {
	switch d := payload.(type) {
	// Member-wide events.
	case *events.MemberEnrolledData:
		if !*d.CCSEligible {
			return Route{}, nil
		}
		return Route{Starts: []Start{reopenAgeOut(startAgeOut(ev, d.MemberID, d.DateOfBirth, k, p), d.EnrollmentDate)}}, nil
	case *events.MemberDisenrolledData:
		// Every open journey of the member except reimbursements and authorizations: the plan
		// still owes the member a payment or a decision.
		return Route{Queries: []string{openJourneysOf(MemberKey(k, d.MemberID),
			fmt.Sprintf("%s NOT IN ('%s', '%s')", AttrJourney.GetName(), JourneyReimbursement, JourneyAuthorization))}}, nil
	case *events.MemberCountyChangedData:
		return Route{Queries: []string{openJourneysOf(MemberKey(k, d.MemberID),
			fmt.Sprintf("%s = '%s'", AttrJourney.GetName(), JourneyCCSReferral))}}, nil
	case *events.MemberBirthdateCorrectedData:
		return Route{Signals: []string{WorkflowID(k, JourneyAgeOut, d.MemberID)}}, nil

	// §1 CCS referral.
	case *events.CCSReferralSubmittedData:
		return Route{Starts: []Start{startCCSReferral(ev, *d, k, p)}}, nil
	case *events.CCSApplicationReceivedData:
		return Route{Signals: []string{WorkflowID(k, JourneyCCSReferral, d.ReferralID)}}, nil
	case *events.CCSEligibilityDeterminedData:
		return Route{Signals: []string{WorkflowID(k, JourneyCCSReferral, d.ReferralID)}}, nil
	case *events.CCSReferralWithdrawnData:
		return Route{Signals: []string{WorkflowID(k, JourneyCCSReferral, d.ReferralID)}}, nil

	// §2 Continuity of care.
	case *events.WCMTransitionedData:
		return Route{Starts: startCoC(ev, *d, k, p)}, nil
	case *events.ProviderContractedData:
		return Route{Queries: []string{fmt.Sprintf("%s = '%s' AND %s = '%s' AND ExecutionStatus = 'Running'",
			AttrProviderKey.GetName(), ProviderKey(k, d.ProviderID), AttrJourney.GetName(), JourneyCoC)}}, nil

	// §4 Postpartum. A correction goes to the member's open postpartum journeys; the one whose
	// end date is the previous one takes it.
	case *events.PregnancyEndedData:
		return Route{Starts: []Start{startPostpartum(ev, *d, k, p)}}, nil
	case *events.PregnancyEndDateCorrectedData:
		return Route{Queries: []string{openJourneysOf(MemberKey(k, d.MemberID),
			fmt.Sprintf("%s = '%s'", AttrJourney.GetName(), JourneyPostpartum))}}, nil

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
	}
	return Route{}, ErrNoJourney
}

// openJourneysOf is the visibility query for a member's running journeys matching cond.
func openJourneysOf(memberKey, cond string) string {
	return fmt.Sprintf("%s = '%s' AND %s AND ExecutionStatus = 'Running'", AttrMemberKey.GetName(), memberKey, cond)
}
