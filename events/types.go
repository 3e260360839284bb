package events

import (
	"maps"
	"slices"
	"time"

	"github.com/careclock/careclock/rules"
)

// Inbound event types (events.md, "Inbound").
const (
	MemberEnrolled            = "member.enrolled"
	MemberDisenrolled         = "member.disenrolled"
	MemberCountyChanged       = "member.county_changed"
	MemberBirthdateCorrected  = "member.birthdate_corrected"
	CCSReferralSubmitted      = "ccs.referral.submitted"
	CCSApplicationReceived    = "ccs.application.received"
	CCSEligibilityDetermined  = "ccs.eligibility.determined"
	CCSReferralWithdrawn      = "ccs.referral.withdrawn"
	WCMTransitioned           = "wcm.transitioned"
	ProviderContracted        = "provider.contracted"
	PregnancyEnded            = "pregnancy.ended"
	PregnancyEndDateCorrected = "pregnancy.end_date_corrected"
	ReimbursementSubmitted    = "reimbursement.submitted"
	ReimbursementResubmitted  = "reimbursement.resubmitted"
	ReimbursementDecided      = "reimbursement.decided"
	ReimbursementPaid         = "reimbursement.paid"
	AuthorizationRequested    = "authorization.requested"
	AuthorizationInfoReceived = "authorization.info_received"
	AuthorizationExtended     = "authorization.extended"
	AuthorizationDecided      = "authorization.decided"
	AuthorizationNoticeSent   = "authorization.notice_sent"
	AuthorizationWithdrawn    = "authorization.withdrawn"
	CoCRequested              = "coc.requested"
	CoCDecided                = "coc.decided"
	GrievanceReceived         = "grievance.received"
	GrievanceAcknowledged     = "grievance.acknowledged"
	GrievanceResolved         = "grievance.resolved"
	AppealReceived            = "appeal.received"
	AppealAcknowledged        = "appeal.acknowledged"
	AppealExtended            = "appeal.extended"
	AppealResolved            = "appeal.resolved"
)

// The data of each inbound type. Every field is required unless its json tag says omitempty
// (events.md's "?"). Booleans are pointers so that a missing one is told from false.

type MemberEnrolledData struct {
	MemberID         string     `json:"memberId"`
	DateOfBirth      rules.Date `json:"dateOfBirth" cc:"past"`
	EnrollmentDate   rules.Date `json:"enrollmentDate"`
	County           string     `json:"county"`
	CountyModel      string     `json:"countyModel" cc:"countyModel"`
	FullScopeMediCal *bool      `json:"fullScopeMediCal"`
	CCSEligible      *bool      `json:"ccsEligible"`
}

type MemberDisenrolledData struct {
	MemberID      string     `json:"memberId"`
	EffectiveDate rules.Date `json:"effectiveDate"`
	Reason        string     `json:"reason,omitempty"`
}

type MemberCountyChangedData struct {
	MemberID      string     `json:"memberId"`
	County        string     `json:"county"`
	CountyModel   string     `json:"countyModel" cc:"countyModel"`
	EffectiveDate rules.Date `json:"effectiveDate"`
}

type MemberBirthdateCorrectedData struct {
	MemberID    string     `json:"memberId"`
	DateOfBirth rules.Date `json:"dateOfBirth" cc:"past"`
}

type CCSReferralSubmittedData struct {
	ReferralID       string     `json:"referralId"`
	MemberID         string     `json:"memberId"`
	DateOfBirth      rules.Date `json:"dateOfBirth" cc:"past"`
	ConditionCode    string     `json:"conditionCode"`
	ReferralDate     rules.Date `json:"referralDate"`
	County           string     `json:"county"`
	CountyModel      string     `json:"countyModel" cc:"countyModel"`
	FullScopeMediCal *bool      `json:"fullScopeMediCal"`
	Referrer         string     `json:"referrer,omitempty"`
}

type CCSApplicationReceivedData struct {
	ReferralID   string     `json:"referralId"`
	ReceivedDate rules.Date `json:"receivedDate"`
}

type CCSEligibilityDeterminedData struct {
	ReferralID        string     `json:"referralId"`
	Outcome           string     `json:"outcome" cc:"oneof=eligible ineligible"`
	DeterminationDate rules.Date `json:"determinationDate"`
}

type CCSReferralWithdrawnData struct {
	ReferralID    string     `json:"referralId"`
	WithdrawnDate rules.Date `json:"withdrawnDate"`
}

type WCMTransitionedData struct {
	MemberID       string     `json:"memberId"`
	TransitionDate rules.Date `json:"transitionDate"`
	Providers      []Provider `json:"providers" cc:"nonempty"`
}

// Provider is one of the member's CCS providers at the Whole Child Model transition.
type Provider struct {
	ProviderID string `json:"providerId"`
	Contracted *bool  `json:"contracted"`
}

type ProviderContractedData struct {
	ProviderID    string     `json:"providerId"`
	EffectiveDate rules.Date `json:"effectiveDate"`
}

type PregnancyEndedData struct {
	MemberID         string     `json:"memberId"`
	PregnancyEndDate rules.Date `json:"pregnancyEndDate"`
}

type PregnancyEndDateCorrectedData struct {
	MemberID         string     `json:"memberId"`
	PreviousEndDate  rules.Date `json:"previousEndDate"`
	PregnancyEndDate rules.Date `json:"pregnancyEndDate"`
}

type ReimbursementSubmittedData struct {
	ClaimID       string     `json:"claimId"`
	MemberID      string     `json:"memberId"`
	SubmittedDate rules.Date `json:"submittedDate"`
	AmountCents   *int64     `json:"amountCents" cc:"nonnegative"`
	Category      string     `json:"category" cc:"oneof=transportation mileage meals lodging parking tolls"`
}

type ReimbursementResubmittedData struct {
	ClaimID       string     `json:"claimId"`
	SubmittedDate rules.Date `json:"submittedDate"`
}

type ReimbursementDecidedData struct {
	ClaimID      string     `json:"claimId"`
	Decision     string     `json:"decision" cc:"oneof=approved denied"`
	DecisionDate rules.Date `json:"decisionDate"`
}

type ReimbursementPaidData struct {
	ClaimID  string     `json:"claimId"`
	PaidDate rules.Date `json:"paidDate"`
}

// Authorization urgencies.
const (
	UrgencyStandard  = "standard"
	UrgencyExpedited = "expedited"
)

// A timestamp (time.Time) is RFC 3339 with its offset: 2027-03-13T10:00:00-08:00.

type AuthorizationRequestedData struct {
	RequestID    string    `json:"requestId"`
	MemberID     string    `json:"memberId"`
	ReceivedAt   time.Time `json:"receivedAt"`
	Urgency      string    `json:"urgency" cc:"oneof=standard expedited"`
	InfoComplete *bool     `json:"infoComplete"`
	ServiceCode  string    `json:"serviceCode"`
}

type AuthorizationInfoReceivedData struct {
	RequestID    string     `json:"requestId"`
	ReceivedDate rules.Date `json:"receivedDate"`
}

type AuthorizationExtendedData struct {
	RequestID  string     `json:"requestId"`
	ExtendedOn rules.Date `json:"extendedOn"`
}

type AuthorizationDecidedData struct {
	RequestID string    `json:"requestId"`
	Decision  string    `json:"decision" cc:"oneof=approved denied modified"`
	DecidedAt time.Time `json:"decidedAt"`
}

type AuthorizationNoticeSentData struct {
	RequestID string     `json:"requestId"`
	SentDate  rules.Date `json:"sentDate"`
}

type AuthorizationWithdrawnData struct {
	RequestID     string     `json:"requestId"`
	WithdrawnDate rules.Date `json:"withdrawnDate"`
}

type CoCRequestedData struct {
	MemberID       string     `json:"memberId"`
	ProviderID     string     `json:"providerId"`
	TransitionDate rules.Date `json:"transitionDate"`
	RequestDate    rules.Date `json:"requestDate"`
	Urgency        string     `json:"urgency" cc:"oneof=standard urgent immediate_risk"`
}

type CoCDecidedData struct {
	MemberID     string     `json:"memberId"`
	ProviderID   string     `json:"providerId"`
	Decision     string     `json:"decision" cc:"oneof=approved denied"`
	DecisionDate rules.Date `json:"decisionDate"`
}

type GrievanceReceivedData struct {
	GrievanceID string    `json:"grievanceId"`
	MemberID    string    `json:"memberId"`
	ReceivedAt  time.Time `json:"receivedAt"`
	Expedited   *bool     `json:"expedited"`
}

type GrievanceAcknowledgedData struct {
	GrievanceID      string     `json:"grievanceId"`
	AcknowledgedDate rules.Date `json:"acknowledgedDate"`
}

type GrievanceResolvedData struct {
	GrievanceID string    `json:"grievanceId"`
	ResolvedAt  time.Time `json:"resolvedAt"`
}

type AppealReceivedData struct {
	AppealID   string     `json:"appealId"`
	MemberID   string     `json:"memberId"`
	ReceivedAt time.Time  `json:"receivedAt"`
	Expedited  *bool      `json:"expedited"`
	NoticeDate rules.Date `json:"noticeDate"`
	// RequestID is the prior-authorization request the appeal is about, when it is one: an
	// overturned appeal counts as an approval after appeal in the public metrics.
	RequestID string `json:"requestId,omitempty"`
}

type AppealAcknowledgedData struct {
	AppealID         string     `json:"appealId"`
	AcknowledgedDate rules.Date `json:"acknowledgedDate"`
}

type AppealExtendedData struct {
	AppealID   string     `json:"appealId"`
	ExtendedOn rules.Date `json:"extendedOn"`
}

type AppealResolvedData struct {
	AppealID   string    `json:"appealId"`
	Outcome    string    `json:"outcome" cc:"oneof=upheld overturned"`
	ResolvedAt time.Time `json:"resolvedAt"`
	// NoticeDate is the date of the notice of appeal resolution, from which the State Hearing
	// window runs; the resolved date when left out.
	NoticeDate rules.Date `json:"noticeDate,omitempty"`
}

// dataTypes maps each inbound type to a constructor of its data.
var dataTypes = map[string]func() any{
	MemberEnrolled:            func() any { return new(MemberEnrolledData) },
	MemberDisenrolled:         func() any { return new(MemberDisenrolledData) },
	MemberCountyChanged:       func() any { return new(MemberCountyChangedData) },
	MemberBirthdateCorrected:  func() any { return new(MemberBirthdateCorrectedData) },
	CCSReferralSubmitted:      func() any { return new(CCSReferralSubmittedData) },
	CCSApplicationReceived:    func() any { return new(CCSApplicationReceivedData) },
	CCSEligibilityDetermined:  func() any { return new(CCSEligibilityDeterminedData) },
	CCSReferralWithdrawn:      func() any { return new(CCSReferralWithdrawnData) },
	WCMTransitioned:           func() any { return new(WCMTransitionedData) },
	ProviderContracted:        func() any { return new(ProviderContractedData) },
	PregnancyEnded:            func() any { return new(PregnancyEndedData) },
	PregnancyEndDateCorrected: func() any { return new(PregnancyEndDateCorrectedData) },
	ReimbursementSubmitted:    func() any { return new(ReimbursementSubmittedData) },
	ReimbursementResubmitted:  func() any { return new(ReimbursementResubmittedData) },
	ReimbursementDecided:      func() any { return new(ReimbursementDecidedData) },
	ReimbursementPaid:         func() any { return new(ReimbursementPaidData) },
	AuthorizationRequested:    func() any { return new(AuthorizationRequestedData) },
	AuthorizationInfoReceived: func() any { return new(AuthorizationInfoReceivedData) },
	AuthorizationExtended:     func() any { return new(AuthorizationExtendedData) },
	AuthorizationDecided:      func() any { return new(AuthorizationDecidedData) },
	AuthorizationNoticeSent:   func() any { return new(AuthorizationNoticeSentData) },
	AuthorizationWithdrawn:    func() any { return new(AuthorizationWithdrawnData) },
	CoCRequested:              func() any { return new(CoCRequestedData) },
	CoCDecided:                func() any { return new(CoCDecidedData) },
	GrievanceReceived:         func() any { return new(GrievanceReceivedData) },
	GrievanceAcknowledged:     func() any { return new(GrievanceAcknowledgedData) },
	GrievanceResolved:         func() any { return new(GrievanceResolvedData) },
	AppealReceived:            func() any { return new(AppealReceivedData) },
	AppealAcknowledged:        func() any { return new(AppealAcknowledgedData) },
	AppealExtended:            func() any { return new(AppealExtendedData) },
	AppealResolved:            func() any { return new(AppealResolvedData) },
}

// Known reports whether t is an inbound event type.
func Known(t string) bool { _, ok := dataTypes[t]; return ok }

// InboundTypes lists every inbound event type, sorted.
func InboundTypes() []string { return slices.Sorted(maps.Keys(dataTypes)) }

// NewData returns a new value of an inbound type's data struct (nil for an unknown type): what
// the event contract's schemas are generated from.
func NewData(eventType string) any {
	if f, ok := dataTypes[eventType]; ok {
		return f()
	}
	return nil
}

// A dated fact takes effect on its own date, not on its arrival (docs/rules.md, Time): each
// inbound type whose fact has one says which, and the journeys ask no other list. A type with a
// timestamp says its instant (EffectiveAt); one with a date, its date (EffectiveOn), whose start
// in the plan's zone is the instant.

func (d MemberDisenrolledData) EffectiveOn() rules.Date        { return d.EffectiveDate }
func (d MemberCountyChangedData) EffectiveOn() rules.Date      { return d.EffectiveDate }
func (d CCSApplicationReceivedData) EffectiveOn() rules.Date   { return d.ReceivedDate }
func (d CCSEligibilityDeterminedData) EffectiveOn() rules.Date { return d.DeterminationDate }
func (d CCSReferralWithdrawnData) EffectiveOn() rules.Date     { return d.WithdrawnDate }
func (d ProviderContractedData) EffectiveOn() rules.Date       { return d.EffectiveDate }
func (d ReimbursementDecidedData) EffectiveOn() rules.Date     { return d.DecisionDate }
func (d ReimbursementPaidData) EffectiveOn() rules.Date        { return d.PaidDate }
func (d AuthorizationNoticeSentData) EffectiveOn() rules.Date  { return d.SentDate }
func (d AuthorizationWithdrawnData) EffectiveOn() rules.Date   { return d.WithdrawnDate }
func (d CoCDecidedData) EffectiveOn() rules.Date               { return d.DecisionDate }

func (d AuthorizationDecidedData) EffectiveAt() time.Time { return d.DecidedAt }
func (d GrievanceResolvedData) EffectiveAt() time.Time    { return d.ResolvedAt }
func (d AppealResolvedData) EffectiveAt() time.Time       { return d.ResolvedAt }

// Dated is an inbound fact with a date it takes effect on.
type Dated interface{ EffectiveOn() rules.Date }

// Timed is an inbound fact with an instant it takes effect at.
type Timed interface{ EffectiveAt() time.Time }
