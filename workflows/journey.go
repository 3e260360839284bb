// Package workflows holds careclock's journeys: one Temporal workflow per business key, each a
// plan (a pure function from the journey's facts and policy to dated events) plus how each
// inbound event changes the facts. One runner turns that into timers, publications and signals.
package workflows

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// Names shared with the worker, the listener and operators.
const (
	// TaskQueue is the default task queue of careclock's worker.
	TaskQueue = "careclock"
	// SignalEvent carries an inbound events.Event to an open journey.
	SignalEvent = "event"
	// QueryState returns the journey's View: its facts, what it published and skipped, and what
	// is next.
	QueryState = "state"
	// EventPolicyChanged is the type of the event `starter replan` signalled before
	// UpdateReplan: its data is the new policy, which replaces the one the journey started with.
	// Journeys still take it.
	EventPolicyChanged = "careclock.policy_changed"
	// UpdateReplan gives an open journey a new policy (its argument, JSON), which it reads over
	// its own and re-plans with; a policy that does not read is refused with the reason.
	UpdateReplan = "replan"
)

// Journey names; each is also the workflow type name and the first part of its workflow ids.
const (
	JourneyCCSReferral   = "ccs-referral"
	JourneyCoC           = "coc"
	JourneyAgeOut        = "ageout"
	JourneyPostpartum    = "postpartum"
	JourneyReimbursement = "reimbursement"
	JourneyAuthorization = "authorization"
	JourneyGrievance     = "grievance"
	JourneyAppeal        = "appeal"
)

// Journeys lists every journey name.
var Journeys = []string{JourneyCCSReferral, JourneyCoC, JourneyAgeOut, JourneyPostpartum, JourneyReimbursement, JourneyAuthorization, JourneyGrievance, JourneyAppeal}

// Search attributes every journey keeps current. They hold no PHI: the member key is a keyed
// hash, the rest are journey facts that identify nobody.
var (
	AttrJourney     = temporal.NewSearchAttributeKeyKeyword("CareclockJourney")
	AttrStatus      = temporal.NewSearchAttributeKeyKeyword("CareclockStatus")
	AttrNextAt      = temporal.NewSearchAttributeKeyTime("CareclockNextAt")
	AttrDeadline    = temporal.NewSearchAttributeKeyTime("CareclockDeadline")
	AttrMemberKey   = temporal.NewSearchAttributeKeyKeyword("CareclockMemberKey")
	AttrProviderKey = temporal.NewSearchAttributeKeyKeyword("CareclockProviderKey")
)

// SearchAttributes lists the custom search attributes to register in a namespace.
var SearchAttributes = []temporal.SearchAttributeKey{AttrJourney, AttrStatus, AttrNextAt, AttrDeadline, AttrMemberKey, AttrProviderKey}

// Journey statuses, as kept in AttrStatus.
const (
	StatusWaiting   = "waiting"   // nothing is overdue
	StatusOverdue   = "overdue"   // its deadline has passed and it is still open
	StatusClosed    = "closed"    // it ended by its own rules
	StatusCancelled = "cancelled" // it ended because the member left
)

// WorkflowID is the one place workflow ids come from: the journey name and a keyed hash of the
// journey and its business key, so the same event always maps to the same workflow and the id
// reveals nobody.
func WorkflowID(k privacy.Keyer, journey string, key ...string) string {
	return journey + "-" + k.Hash(append([]string{journey}, key...)...)
}

// MemberKey is the keyed hash that finds a member's journeys.
func MemberKey(k privacy.Keyer, memberID string) string { return k.Hash("member", memberID) }

// ProviderKey is the keyed hash that finds the journeys about a provider.
func ProviderKey(k privacy.Keyer, providerID string) string { return k.Hash("provider", providerID) }

// facts is what each journey implements: plain methods, no Temporal calls, so the plan command
// and the tests run the very code the workflows run.
type facts interface {
	// plan lists the dated events still ahead under the current facts.
	plan(p rules.Policy) []rules.Due
	// begin returns what to publish at once when the journey starts.
	begin(p rules.Policy) []Notice
	// apply changes the facts for an inbound event and returns what to do at once.
	apply(ev events.Event, p rules.Policy) ([]Notice, error)
	// deadline is the date the journey is about, for its events and search attributes.
	deadline(p rules.Policy) rules.Date
	// ended returns the journey's final status, or "" while it is open.
	ended() string
	memberID() string
}

// instantClock is what a journey whose deadline can be an instant adds to facts (an expedited
// authorization: docs/rules.md, Instants).
type instantClock interface {
	// deadlineAt is the deadline instant, or zero while the deadline is a date.
	deadlineAt(p rules.Policy) time.Time
}

// deadlineAt is f's deadline instant in the policy's zone, or zero for a journey whose deadline
// is a date.
func deadlineAt(f facts, p rules.Policy) time.Time {
	if c, ok := f.(instantClock); ok {
		if at := c.deadlineAt(p); !at.IsZero() {
			return at.In(p.Zone())
		}
	}
	return time.Time{}
}

// deadlineInstant is the instant kept in AttrDeadline: the deadline instant, or the notice hour
// on the deadline date.
func deadlineInstant(p rules.Policy, deadline rules.Date, at time.Time) time.Time {
	if !at.IsZero() {
		return at
	}
	return p.At(deadline)
}

// showDeadline is a deadline as people read it: a date, or an instant in the policy's zone with
// its hour.
func showDeadline(p rules.Policy, deadline rules.Date, at time.Time) string {
	if at.IsZero() {
		return deadline.String()
	}
	return at.In(p.Zone()).Format("2006-01-02 15:04 MST")
}

// Notice is what a journey does at once, at its start or in answer to an inbound event:
// publish an event, or, when Start is set, start another journey (if it is not already there).
type Notice struct {
	Type   string
	On     rules.Date
	Fields map[string]any
	Start  *Start
}

// State is a journey's whole state: its facts, the policy it started with, and what it has done.
// It is the workflow's input, so continue-as-new carries it over unchanged.
type State[F any] struct {
	Facts  F            `json:"facts"`
	Policy rules.Policy `json:"policy"`
	// PolicyOn is the date of the fact that started the journey, and PolicyFrom the date from
	// which the policy block it took was in force on it (docs/rules.md, Rules in force on a
	// date): a replan takes the new book's block in force on PolicyOn. Zero in a state recorded
	// before policies were dated, and for the block in force from the beginning.
	PolicyOn   rules.Date `json:"policyOn,omitzero"`
	PolicyFrom rules.Date `json:"policyFrom,omitzero"`
	// MemberKey is the keyed hash of the member id (AttrMemberKey); ProviderKey that of the
	// provider id, for journeys about one provider (AttrProviderKey).
	MemberKey   string `json:"memberKey"`
	ProviderKey string `json:"providerKey,omitempty"`
	// Started is set once the journey's opening notices are published.
	Started bool `json:"started"`
	// Applied is the inbound events the journey has seen, the start event first (by its id),
	// the others by source and id (appliedKey): a second delivery of one of them is ignored. It
	// keeps the latest maxApplied; AppliedCount counts them all.
	Applied []string `json:"applied"`
	// AppliedCount is how many inbound events the journey has seen, its start included (0 in a
	// state recorded before it was kept: then len(Applied)).
	AppliedCount int `json:"appliedCount,omitempty"`
	// Held are inbound events dated in the future, in the order they take effect: each is
	// applied on its own date, not on its arrival (changeFutureFacts).
	Held []HeldFact `json:"held,omitempty"`
	// Refused is the latest inbound events (at most maxRefused) the journey could not apply, with
	// the reason: shown by `starter describe`, counted in careclock_journey_events_refused.
	Refused   []Refusal `json:"refused,omitempty"`
	Published []Record  `json:"published"`
	Skipped   []Record  `json:"skipped"`
	// Status is the journey's status (StatusWaiting, …).
	Status string `json:"status"`
	// Run counts the runs of a journey opened again under one workflow id (a re-enrolled
	// member's age-out journey): 0 for the first, which knows no other, then 2, 3…
	Run int `json:"run,omitempty"`
	// Versions are the versions of the journey's changes (changeLocalPublish, changeFactsFirst)
	// chosen by whoever started it, so that its runs need no version marker, nor the
	// TemporalChangeVersion upsert that comes with one: a visibility write saved on every start.
	// A change missing here is asked with workflow.GetVersion, as by journeys started before.
	Versions map[string]workflow.Version `json:"versions,omitempty"`
	// GoLive is the plan's go-live date for a journey imported from its open work (`starter
	// import`): every event dated before it is recorded as skipped, marked BeforeGoLive, not
	// published, because the plan's previous system handled it. Zero for every other journey,
	// which is why no version guards it: a journey recorded without it runs as it did.
	GoLive rules.Date `json:"goLive,omitzero"`
}

// withRun returns the state of a journey opened again, as its run-th run (State.Run).
func (s State[F]) withRun(run int) any {
	s.Run = run
	return s
}

// withPolicyBlock returns the state with the date of its starting fact and of its policy block.
func (s State[F]) withPolicyBlock(from, on rules.Date) any {
	s.PolicyFrom, s.PolicyOn = from, on
	return s
}

// withVersions returns the state with the journey's change versions set.
func (s State[F]) withVersions(v map[string]workflow.Version) any {
	s.Versions = v
	return s
}

// CurrentVersions are the change versions a journey starts with today: publishing through the
// publish activity, and facts first.
func CurrentVersions() map[string]workflow.Version {
	return map[string]workflow.Version{
		changeLocalPublish: versionChangedUpserts, changeFactsFirst: versionFactsFirst, changeEventIDs: versionNumberedIDs,
		changeSuperseded: versionSuperseded, changeEventTime: versionPublishTime, changeSourceIDs: versionSourceIDs,
		changePolicyOver: versionPolicyOver, changeFutureFacts: versionFutureFacts,
		changeDirectory: versionDirectory, changeCancelWakes: versionCancelWakes, changeClosedNotices: versionClosedNotices,
	}
}

// Policy is the policy the journey starts with (its block, and its place in the spread window).
func (s Start) Policy() rules.Policy { return s.policy }

// inForce records in the start's input the date of its starting fact (on) and of the policy block
// in force on it (from).
func (s Start) inForce(from, on rules.Date) Start {
	if st, ok := s.Input.(interface {
		withPolicyBlock(from, on rules.Date) any
	}); ok {
		s.Input = st.withPolicyBlock(from, on)
	}
	s.PolicyFrom = from
	return s
}

// WithVersions returns the start with its journey's change versions in its input.
func (s Start) WithVersions(v map[string]workflow.Version) Start {
	if st, ok := s.Input.(interface {
		withVersions(map[string]workflow.Version) any
	}); ok {
		s.Input = st.withVersions(v)
	}
	return s
}

// withGoLive returns the state with its go-live date set.
func (s State[F]) withGoLive(d rules.Date) any {
	s.GoLive = d
	return s
}

// WithGoLive returns the start of a journey imported at go-live (State.GoLive).
func (s Start) WithGoLive(d rules.Date) Start {
	if st, ok := s.Input.(interface{ withGoLive(rules.Date) any }); ok {
		s.Input = st.withGoLive(d)
	}
	return s
}

// Record is one event a journey published or skipped.
type Record struct {
	Key  string     `json:"key"`
	Type string     `json:"type"`
	On   rules.Date `json:"date"`
	At   time.Time  `json:"at"`
	Late bool       `json:"late,omitempty"`
	// Superseded marks a skipped notice whose series had a later one published late.
	Superseded bool `json:"superseded,omitempty"`
	// Closed marks a missed notice not sent because the journey already knew the fact that ended
	// its purpose (changeClosedNotices).
	Closed bool `json:"closed,omitempty"`
	// BeforeGoLive marks an event not sent because it fell due before the journey's go-live date
	// (State.GoLive).
	BeforeGoLive bool `json:"beforeGoLive,omitempty"`
}

// View is what the state query answers, for operators: the journey's facts and status, what it
// has published and skipped, and what is ahead.
type View[F any] struct {
	Journey  string     `json:"journey"`
	Status   string     `json:"status"`
	Deadline rules.Date `json:"deadline"`
	// DeadlineAt is the deadline instant of a journey whose clock is one.
	DeadlineAt time.Time `json:"deadlineAt,omitzero"`
	// PolicyFrom names the policy block the journey uses: the date it is in force from, or
	// "beginning" (docs/rules.md, Rules in force on a date).
	PolicyFrom string `json:"policyFrom"`
	Facts      F      `json:"facts"`
	// Next is the event the journey's timer waits for, if any.
	Next *rules.Planned `json:"next,omitempty"`
	// Ahead is the rest of the plan not yet published or skipped, in date order; a repeating
	// event appears at its next date.
	Ahead     []rules.Planned `json:"ahead"`
	Published []Record        `json:"published"`
	Skipped   []Record        `json:"skipped"`
	// Applied counts the inbound events the journey has applied, its start event included.
	Applied int `json:"applied"`
	// Refused is the latest inbound events the journey could not apply, with the reason.
	Refused []Refusal `json:"refused,omitempty"`
	// Held are inbound events dated in the future, each with the instant it takes effect.
	Held []HeldFact `json:"held,omitempty"`
}

// NewState returns the initial state of a journey started by the inbound event id.
func NewState[F any](f F, p rules.Policy, memberKey, startEventID string) State[F] {
	return State[F]{Facts: f, Policy: p, MemberKey: memberKey, Applied: []string{startEventID}, Status: StatusWaiting}
}

// Start is one journey an inbound event starts.
type Start struct {
	Journey    string
	WorkflowID string
	// Input is the workflow's argument (a State); the workflow type is the journey name.
	Input any
	// MemberKey and ProviderKey are stored as search attributes at start.
	MemberKey   string
	ProviderKey string
	// Opening, Deadline and Dues are the journey's plan at start, for `starter plan`: what it
	// publishes at once, the date it is about, and its dated events.
	Opening  []Notice
	Deadline rules.Date
	// DeadlineAt is the deadline instant of a journey whose clock is one, else zero.
	DeadlineAt time.Time
	Dues       []rules.Due
	// PolicyFrom is the date from which the policy block the journey takes is in force (zero:
	// from the beginning), for `starter plan`.
	PolicyFrom rules.Date
	// policy is the journey's policy, for its search attributes at start.
	policy rules.Policy
	// reopenFrom, when set, is the date of the fact that starts the journey (an enrollment
	// date): it opens a new run of a journey whose last run was cancelled on or before it.
	reopenFrom rules.Date
	// from is the date of the fact that starts the journey, for its directory (Registration).
	from rules.Date
}

// Outcome is how a journey run ended: its workflow result.
type Outcome struct {
	// Status is StatusClosed or StatusCancelled; "" for a run that continued as new.
	Status string `json:"status,omitempty"`
	// EndedOn is the date of the fact that ended it, where the journey keeps one (the
	// disenrollment that cancelled an age-out journey).
	EndedOn rules.Date `json:"endedOn,omitzero"`
	// Run is the ended journey's run (State.Run), when it was opened again before.
	Run int `json:"run,omitempty"`
}

// Reopened returns the start as the run that follows one that ended with last: its events' ids
// then carry the run (events.JourneyEventIDOfRun).
func (s Start) Reopened(last Outcome) Start {
	if st, ok := s.Input.(interface{ withRun(int) any }); ok {
		s.Input = st.withRun(max(last.Run, 1) + 1)
	}
	return s
}

// CanReopen reports whether the start may open a new run of a journey that already ended.
func (s Start) CanReopen() bool { return !s.reopenFrom.IsZero() }

// Reopens reports whether the start opens a new run after one that ended with last: the last run
// was cancelled, and the fact that starts this one is dated on or after the cancellation. A
// redelivered copy of the event that started the last run is older than the cancellation, so it
// opens nothing. A run that ended before journeys kept their outcome has none: it is not
// reopened, since a copy of its start could not be told from a new fact.
func (s Start) Reopens(last Outcome) bool {
	return s.CanReopen() && reopens(s.reopenFrom, last)
}

func newStart[F any, PF interface {
	*F
	facts
}](journey, id string, f F, p rules.Policy, memberKey, eventID string) Start {
	preview := f // begin may change the facts; the journey runs it again from the input
	pf := PF(&preview)
	p = p.ForJourney(id)
	return Start{
		Journey:    journey,
		WorkflowID: id,
		Input:      NewState(f, p, memberKey, eventID),
		MemberKey:  memberKey,
		Opening:    pf.begin(p),
		Deadline:   pf.deadline(p),
		DeadlineAt: deadlineAt(pf, p),
		Dues:       pf.plan(p),
		policy:     p,
	}
}

// withProvider sets the provider key of a start and of its initial state.
func withProvider[F any](s Start, providerKey string) Start {
	st := s.Input.(State[F])
	st.ProviderKey = providerKey
	s.Input, s.ProviderKey = st, providerKey
	return s
}

// searchAttributes are the attributes a journey starts with: all of them, as its first workflow
// task would set them at now, so that the task has nothing to upsert unless something fell due
// in between.
func (s Start) searchAttributes(now time.Time) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(s.startAttrs(now).set()...)
}

// startAttrs are the values of the attributes a journey starts with, at now.
func (s Start) startAttrs(now time.Time) attrs {
	a := attrs{
		journey: s.Journey, status: openStatus(s.policy, s.Deadline, s.DeadlineAt, now), memberKey: s.MemberKey,
		providerKey: s.ProviderKey, deadline: deadlineInstant(s.policy, s.Deadline, s.DeadlineAt),
	}
	if next := s.policy.Step(s.Dues, func(string) bool { return false }, now).Next; next != nil {
		a.next = next.At
	}
	return a
}

// openStatus is the status of an open journey at now: overdue once its deadline has passed (a
// deadline instant, once it is reached).
func openStatus(p rules.Policy, deadline rules.Date, at, now time.Time) string {
	if at.IsZero() && p.Today(now).After(deadline) || !at.IsZero() && !now.Before(at) {
		return StatusOverdue
	}
	return StatusWaiting
}

// attrs are the values of a journey's search attributes.
type attrs struct {
	journey, status, memberKey, providerKey string
	deadline                                time.Time
	// next is when the journey's next event is due; zero when nothing is ahead.
	next time.Time
}

// set sets every attribute that has a value.
func (a attrs) set() []temporal.SearchAttributeUpdate {
	updates := []temporal.SearchAttributeUpdate{
		AttrJourney.ValueSet(a.journey),
		AttrStatus.ValueSet(a.status),
		AttrMemberKey.ValueSet(a.memberKey),
		AttrDeadline.ValueSet(a.deadline),
	}
	if a.providerKey != "" {
		updates = append(updates, AttrProviderKey.ValueSet(a.providerKey))
	}
	if !a.next.IsZero() {
		updates = append(updates, AttrNextAt.ValueSet(a.next))
	}
	return updates
}

// all sets every attribute and unsets the next instant when nothing is ahead: the upsert of
// journeys recorded before changeLocalPublish.
func (a attrs) all() []temporal.SearchAttributeUpdate {
	updates := a.set()
	if a.next.IsZero() {
		updates = append(updates, AttrNextAt.ValueUnset())
	}
	return updates
}

// changed are the updates that turn cur into a: none when the journey's attributes are current.
func (a attrs) changed(cur temporal.SearchAttributes) []temporal.SearchAttributeUpdate {
	var updates []temporal.SearchAttributeUpdate
	keyword := func(k temporal.SearchAttributeKeyKeyword, v string) {
		if got, ok := cur.GetKeyword(k); v != "" && (!ok || got != v) {
			updates = append(updates, k.ValueSet(v))
		}
	}
	keyword(AttrJourney, a.journey)
	keyword(AttrStatus, a.status)
	keyword(AttrMemberKey, a.memberKey)
	keyword(AttrProviderKey, a.providerKey)
	if got, ok := cur.GetTime(AttrDeadline); !ok || !got.Equal(a.deadline) {
		updates = append(updates, AttrDeadline.ValueSet(a.deadline))
	}
	got, ok := cur.GetTime(AttrNextAt)
	switch {
	case a.next.IsZero() && ok:
		updates = append(updates, AttrNextAt.ValueUnset())
	case !a.next.IsZero() && (!ok || !got.Equal(a.next)):
		updates = append(updates, AttrNextAt.ValueSet(a.next))
	}
	return updates
}

// deadlineNames say what each journey's deadline is, in its summary and current details.
var deadlineNames = map[string]string{
	JourneyCCSReferral:   "application expected by",
	JourneyCoC:           "last day",
	JourneyAgeOut:        "21st birthday",
	JourneyPostpartum:    "last covered day",
	JourneyReimbursement: "due",
	JourneyAuthorization: "decision due",
	JourneyGrievance:     "resolution due",
	JourneyAppeal:        "resolution due",
}

// summary is the journey's one-line summary in the UI's workflow list. It is a payload, so it
// goes through the client's payload codec; it names no member and no claim.
func (s Start) summary() string {
	return fmt.Sprintf("%s · %s %s", s.Journey, deadlineNames[s.Journey], showDeadline(s.policy, s.Deadline, s.DeadlineAt))
}

// StartOptions are the options a journey is started with. A second start of the same journey,
// running or ended, is refused by Temporal (WorkflowExecutionAlreadyStarted): that is how the
// listener tells a duplicate from a new journey. now is the instant of the start.
func StartOptions(s Start, taskQueue string, now time.Time) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       s.WorkflowID,
		TaskQueue:                                taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    s.searchAttributes(now),
		StaticSummary:                            s.summary(),
	}
}

// ReopenOptions start a new run of a journey whose last run has ended, when Reopens says so.
func ReopenOptions(s Start, taskQueue string, now time.Time) client.StartWorkflowOptions {
	o := StartOptions(s, taskQueue, now)
	o.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	return o
}
