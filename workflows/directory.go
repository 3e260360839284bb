package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// A directory is one workflow per member (or per provider) that knows the member's journeys and
// hands them the member-wide facts, in the order it receives them (docs/architecture.md,
// Member-wide facts). The listener registers each journey a member-wide fact can reach when it
// starts it, and sends each member-wide fact to the directory, both with SignalWithStart on the
// directory's id, which is the member's keyed hash: no visibility query decides anything, and no
// id in clear. A fact that arrives before the journey it concerns is kept, and reaches the
// journey when it registers, if the fact is dated on or after the journey's starting fact; so
// the answer is the same whatever the order and timing in which they arrive. A journey tells its
// directory when it ends, which is how a re-enrollment that arrived while the journey it reopens
// was still open starts the new run once the old one is cancelled.
//
// Directory kinds; each is also the workflow type name and the first part of the directory's id.
const (
	DirectoryMember   = "member"
	DirectoryProvider = "provider"
	// SignalDirectory carries a DirectoryRequest to a directory.
	SignalDirectory = "directory"
)

// DirectoryID is the workflow id of the directory of kind for a member or provider key.
func DirectoryID(kind, key string) string { return kind + "-" + key }

// memberJourneys are the journeys a member-wide fact can reach, and so the ones a member's
// directory knows; providerJourneys those a provider's does.
var (
	memberJourneys   = []string{JourneyAgeOut, JourneyCCSReferral, JourneyCoC, JourneyPostpartum}
	providerJourneys = []string{JourneyCoC}
)

// DirectoryRequest is what a directory is sent: one of its fields.
type DirectoryRequest struct {
	// Register adds a journey, or a new run of one.
	Register *Registration `json:"register,omitempty"`
	// Fact is a member-wide (provider-wide) inbound event, for every journey it concerns.
	Fact *events.Event `json:"fact,omitempty"`
	// Ended tells that a journey's run ended, and how.
	Ended *Ended `json:"ended,omitempty"`
}

// Registration is a journey the listener started, or found already there.
type Registration struct {
	WorkflowID string `json:"workflowId"`
	Journey    string `json:"journey"`
	// RunID is the run the listener started, or found running ("" when it does not know).
	RunID string `json:"runId,omitempty"`
	// Started says the listener started this run now (a new journey, or a new run after one
	// that ended): facts kept for it start afresh.
	Started bool `json:"started,omitempty"`
	// From is the date of the fact that starts the journey (enrollment, referral, transition,
	// pregnancy end): a fact the directory kept reaches the journey when dated on or after it.
	From rules.Date `json:"from"`
	// Reopen is the run to start if the journey's open run ends cancelled on or before
	// Reopen.ReopenFrom: a re-enrollment that arrived while the journey was still open.
	Reopen *StartSpec `json:"reopen,omitempty"`
}

// Ended is a journey's run that ended, and its outcome.
type Ended struct {
	WorkflowID string  `json:"workflowId"`
	RunID      string  `json:"runId"`
	Outcome    Outcome `json:"outcome"`
}

// DirectoryState is a directory's state: its input, carried by continue-as-new.
type DirectoryState struct {
	Kind string `json:"kind"`
	Key  string `json:"key"`
	// Journeys are the journeys the directory knows, open and lately ended.
	Journeys []DirectoryEntry `json:"journeys"`
	// Facts are the latest facts received (maxKeptFacts), for journeys that register later.
	Facts []KeptFact `json:"facts"`
	// Seen are the latest facts' source and id (maxApplied): a redelivered fact is handed on once.
	Seen []string `json:"seen"`
	// LookedUp is set once the journeys started before directories existed were looked up
	// (before the first fact is handed on; the listener sets it at the start of a directory when
	// it knows there are none: CARECLOCK_DIRECTORY_LOOKUP off).
	LookedUp bool `json:"lookedUp"`
}

// DirectoryEntry is one journey a directory knows.
type DirectoryEntry struct {
	WorkflowID string     `json:"workflowId"`
	Journey    string     `json:"journey"`
	RunID      string     `json:"runId,omitempty"`
	From       rules.Date `json:"from,omitzero"`
	// Open is false once its run ended (Ended) or could not be reached.
	Open bool `json:"open"`
	// Outcome is how its last run ended, when it told.
	Outcome Outcome `json:"outcome,omitzero"`
	// CancelledOn is the date of the last cancelling fact handed to it (a disenrollment).
	CancelledOn rules.Date `json:"cancelledOn,omitzero"`
	// Reopen is a run to start once this one ends (Registration.Reopen).
	Reopen *StartSpec `json:"reopen,omitempty"`
}

// KeptFact is a fact a directory keeps for journeys that register later.
type KeptFact struct {
	// On is the fact's date; zero for a correction, which has none.
	On    rules.Date   `json:"on,omitzero"`
	Event events.Event `json:"event"`
}

// StartSpec is a journey start as data: what a directory needs to start a new run.
type StartSpec struct {
	Journey    string          `json:"journey"`
	WorkflowID string          `json:"workflowId"`
	Input      json.RawMessage `json:"input"`
	Summary    string          `json:"summary"`
	Attrs      StartAttrs      `json:"attrs"`
	ReopenFrom rules.Date      `json:"reopenFrom"`
}

// StartAttrs are a journey's search attributes at its start.
type StartAttrs struct {
	Journey     string    `json:"journey"`
	Status      string    `json:"status"`
	MemberKey   string    `json:"memberKey"`
	ProviderKey string    `json:"providerKey,omitempty"`
	Deadline    time.Time `json:"deadline"`
	Next        time.Time `json:"next,omitzero"`
}

// changeDirectory versions a journey's part in its member's directory: from versionDirectory a
// journey a member-wide fact can reach tells the member's directory when it ends (the
// directory's cue to start a run a re-enrollment waits for), and a journey that starts another
// (an eligible referral's age-out) registers it there. Journeys started before tell nothing;
// their directory finds them once (DirectoryActivities.FindJourneys) and learns of their end when
// a fact can no longer reach them.
const (
	changeDirectory  = "directory"
	versionDirectory = workflow.Version(1)
)

// tellDirectory sends the directory of the journey's member a request, from versionDirectory.
// A directory that is not there (a journey started before directories) is not an error.
func tellDirectory(ctx workflow.Context, v *versions, memberKey string, req DirectoryRequest) {
	if memberKey == "" || v.get(ctx, changeDirectory, versionDirectory) < versionDirectory {
		return
	}
	err := workflow.SignalExternalWorkflow(ctx, DirectoryID(DirectoryMember, memberKey), "", SignalDirectory, req).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Info("the member's directory was not told", "error", err)
	}
}

// Limits that keep a directory small however long its member lives.
const (
	maxKeptFacts = 50
	// maxEnded is how many ended journeys a directory remembers for reopening them.
	maxEnded = 20
	// directoryRunRequests is how many requests a directory run takes before it continues as
	// new, so that a member with events over decades has no history without bound.
	directoryRunRequests = 500
	// directoryIdle is how long a directory with no open journey waits for a request before it
	// ends; a later request starts it again (SignalWithStart).
	directoryIdle = 90 * 24 * time.Hour
)

// Directory is the directory workflow, of either kind.
func Directory(ctx workflow.Context, s DirectoryState) error {
	d := &directory{s: s, requests: workflow.GetSignalChannel(ctx, SignalDirectory)}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (DirectoryState, error) { return d.s, nil }); err != nil {
		return fmt.Errorf("register %s query: %w", QueryState, err)
	}
	ctx = workflow.WithActivityOptions(ctx, directoryActivityOptions)
	for handled := 0; ; handled++ {
		if handled >= directoryRunRequests || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := d.drain(ctx); err != nil {
				return err
			}
			return workflow.NewContinueAsNewError(ctx, workflow.GetInfo(ctx).WorkflowType.Name, d.s)
		}
		req, got, err := d.next(ctx)
		if err != nil {
			return err // cancelled
		}
		if !got {
			if err := d.drain(ctx); err != nil {
				return err
			}
			return nil // idle, nothing open: a later request starts the directory again
		}
		if err := d.handle(ctx, req); err != nil {
			return err
		}
	}
}

var directoryActivityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
}

type directory struct {
	s        DirectoryState
	requests workflow.ReceiveChannel
}

// next waits for the next request: for as long as it takes while a journey is open or a run is to
// be started, else for directoryIdle at most (false: none came).
//
// A request that does not decode (not encrypted with a careclock key: privacy.Codec's
// EncryptedOnly) is dropped by the SDK, which logs it; the directory goes on waiting. It takes a
// request with ReceiveAsync, not Receive, which would wait inside the selector for the next good
// one and leave the idle timer unserved.
func (d *directory) next(ctx workflow.Context) (DirectoryRequest, bool, error) {
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	var idle workflow.Future
	if !slices.ContainsFunc(d.s.Journeys, func(e DirectoryEntry) bool { return e.Open || e.Reopen != nil }) {
		idle = workflow.NewTimerWithOptions(timerCtx, directoryIdle, workflow.TimerOptions{Summary: "end when idle"})
	}
	for {
		var req DirectoryRequest
		got, signalled := false, false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(d.requests, func(c workflow.ReceiveChannel, _ bool) { got, signalled = c.ReceiveAsync(&req), true })
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		if idle != nil {
			sel.AddFuture(idle, func(workflow.Future) {})
		}
		sel.Select(ctx)
		if signalled && !got {
			workflow.GetLogger(ctx).Warn("directory request not decodable: dropped")
			continue
		}
		if !got && ctx.Err() != nil {
			return req, false, temporal.NewCanceledError()
		}
		return req, got, nil
	}
}

// drain handles the requests already received.
func (d *directory) drain(ctx workflow.Context) error {
	for {
		var req DirectoryRequest
		if !d.requests.ReceiveAsync(&req) {
			return nil
		}
		if err := d.handle(ctx, req); err != nil {
			return err
		}
	}
}

// handle does what a request asks, then forgets the oldest ended journeys (not while a request
// walks the list of journeys).
func (d *directory) handle(ctx workflow.Context, req DirectoryRequest) error {
	defer d.prune()
	switch {
	case req.Register != nil:
		return d.register(ctx, *req.Register)
	case req.Fact != nil:
		return d.fact(ctx, *req.Fact)
	case req.Ended != nil:
		return d.ended(ctx, *req.Ended)
	}
	workflow.GetLogger(ctx).Warn("empty directory request; ignored")
	return nil
}

// lookUp registers, once in a directory's life and before it hands on its first fact, the
// journeys of its member or provider that were started before directories existed. It reads
// visibility, once: every journey started since is registered by whoever starts it, and one
// registered meanwhile is not listed twice.
func (d *directory) lookUp(ctx workflow.Context) error {
	var a *DirectoryActivities
	var found []DirectoryEntry
	if err := workflow.ExecuteActivity(ctx, a.FindJourneys, d.s.Kind, d.s.Key).Get(ctx, &found); err != nil {
		return fmt.Errorf("look up the journeys started before the directory: %w", err)
	}
	for _, f := range found {
		if d.entry(f.WorkflowID) == nil {
			d.s.Journeys = append(d.s.Journeys, f)
		}
	}
	d.s.LookedUp = true
	return nil
}

func (d *directory) entry(workflowID string) *DirectoryEntry {
	i := slices.IndexFunc(d.s.Journeys, func(e DirectoryEntry) bool { return e.WorkflowID == workflowID })
	if i < 0 {
		return nil
	}
	return &d.s.Journeys[i]
}

// register adds a journey, or updates the one it knows, and hands it the kept facts that concern
// it.
func (d *directory) register(ctx workflow.Context, r Registration) error {
	e := d.entry(r.WorkflowID)
	fresh := e == nil || r.Started
	if e == nil {
		d.s.Journeys = append(d.s.Journeys, DirectoryEntry{WorkflowID: r.WorkflowID, Journey: r.Journey})
		e = &d.s.Journeys[len(d.s.Journeys)-1]
	}
	if fresh {
		*e = DirectoryEntry{WorkflowID: r.WorkflowID, Journey: r.Journey, RunID: r.RunID, From: r.From, Open: true}
	} else if e.RunID == "" {
		e.RunID = r.RunID
	}
	if r.Reopen != nil {
		if !e.Open {
			// It ended before the re-enrollment reached the directory.
			if reopens(r.Reopen.ReopenFrom, e.Outcome) {
				return d.startRun(ctx, e, *r.Reopen, e.Outcome)
			}
		} else {
			e.Reopen = r.Reopen
		}
	}
	if !fresh {
		return nil
	}
	for _, f := range d.s.Facts {
		if !concerns(f.Event, e.Journey) || !f.On.IsZero() && f.On.Before(e.From) {
			continue
		}
		if err := d.hand(ctx, e, f.Event); err != nil {
			return err
		}
		if !e.Open {
			break
		}
	}
	return nil
}

// fact hands a member-wide fact to every open journey it concerns, in the order received, and
// keeps it for journeys that register later.
func (d *directory) fact(ctx workflow.Context, ev events.Event) error {
	if !d.s.LookedUp {
		if err := d.lookUp(ctx); err != nil {
			return err
		}
	}
	key := appliedKey(ev)
	if slices.Contains(d.s.Seen, key) {
		workflow.GetLogger(ctx).Info("fact already handed on; ignored", "type", ev.Type)
		return nil
	}
	d.s.Seen = append(d.s.Seen, key)
	if n := len(d.s.Seen); n > maxApplied {
		d.s.Seen = slices.Delete(d.s.Seen, 0, n-maxApplied)
	}
	on, _ := factDate(ev)
	d.s.Facts = append(d.s.Facts, KeptFact{On: on, Event: ev})
	if n := len(d.s.Facts); n > maxKeptFacts {
		d.s.Facts = slices.Delete(d.s.Facts, 0, n-maxKeptFacts)
	}
	for i := range d.s.Journeys {
		e := &d.s.Journeys[i]
		if !e.Open || !concerns(ev, e.Journey) {
			continue
		}
		if err := d.hand(ctx, e, ev); err != nil {
			return err
		}
	}
	return nil
}

// hand signals a fact to one journey. A journey that cannot be signalled has ended.
func (d *directory) hand(ctx workflow.Context, e *DirectoryEntry, ev events.Event) error {
	if ev.Type == events.PregnancyEndDateCorrected {
		// It concerns the pregnancy whose end date it corrects, whose date is From.
		c, err := events.As[events.PregnancyEndDateCorrectedData](ev) //workflowcheck:ignore
		if err != nil || c.PreviousEndDate != e.From {
			return nil
		}
		e.From = c.PregnancyEndDate
	}
	err := workflow.SignalExternalWorkflow(ctx, e.WorkflowID, "", SignalEvent, ev).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Info("journey not reached; it has ended", "workflow", e.WorkflowID, "error", err)
		e.Open = false
		return nil
	}
	if ev.Type == events.MemberDisenrolled {
		if on, ok := factDate(ev); ok {
			e.CancelledOn = on
		}
	}
	return nil
}

// ended records that a journey's run ended, and starts the run a re-enrollment waits for.
func (d *directory) ended(ctx workflow.Context, x Ended) error {
	e := d.entry(x.WorkflowID)
	if e == nil || e.RunID != "" && x.RunID != "" && e.RunID != x.RunID {
		return nil // a run the directory does not know, or an older one
	}
	e.Open, e.Outcome = false, x.Outcome
	if e.Reopen != nil {
		spec := *e.Reopen
		e.Reopen = nil
		if reopens(spec.ReopenFrom, x.Outcome) {
			return d.startRun(ctx, e, spec, x.Outcome)
		}
	}
	return nil
}

// startRun starts a new run of a journey whose last one ended, as a child that outlives the
// directory.
func (d *directory) startRun(ctx workflow.Context, e *DirectoryEntry, spec StartSpec, last Outcome) error {
	// Decoding and encoding JSON bytes is deterministic; workflowcheck cannot see through
	// encoding/json's reflection.
	input, err := withRun(spec.Input, max(last.Run, 1)+1) //workflowcheck:ignore
	if err != nil {
		return fmt.Errorf("start %s again: %w", spec.WorkflowID, err)
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            spec.WorkflowID,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(spec.Attrs.attrs().set()...),
		StaticSummary:         spec.Summary + " (started again by the member's directory)",
	})
	var run workflow.Execution
	err = workflow.ExecuteChildWorkflow(cctx, spec.Journey, input).GetChildWorkflowExecution().Get(ctx, &run)
	var already *temporal.ChildWorkflowExecutionAlreadyStartedError
	switch {
	case errors.As(err, &already):
		workflow.GetLogger(ctx).Info("journey already started again", "workflow", spec.WorkflowID)
	case err != nil:
		return fmt.Errorf("start %s again: %w", spec.WorkflowID, err)
	}
	*e = DirectoryEntry{WorkflowID: e.WorkflowID, Journey: e.Journey, RunID: run.RunID, From: spec.ReopenFrom, Open: true}
	return nil
}

// withRun sets the run of a journey's state given as JSON (State.Run).
func withRun(input json.RawMessage, run int) (json.RawMessage, error) {
	var st map[string]json.RawMessage
	if err := json.Unmarshal(input, &st); err != nil { //workflowcheck:ignore
		return nil, err
	}
	st["run"] = json.RawMessage(fmt.Sprint(run))
	return json.Marshal(st) //workflowcheck:ignore
}

// prune forgets the oldest ended journeys beyond maxEnded.
func (d *directory) prune() {
	ended := 0
	for i := len(d.s.Journeys) - 1; i >= 0; i-- {
		if e := d.s.Journeys[i]; !e.Open && e.Reopen == nil {
			if ended++; ended > maxEnded {
				d.s.Journeys = slices.Delete(d.s.Journeys, i, i+1)
			}
		}
	}
}

// reopens reports whether a start dated from opens a new run after one that ended with last
// (Start.Reopens).
func reopens(from rules.Date, last Outcome) bool {
	return last.Status == StatusCancelled && !last.EndedOn.IsZero() && !from.Before(last.EndedOn)
}

// concerns reports whether a member-wide (provider-wide) fact is for journeys of this type
// (docs/rules.md, Member-wide events).
func concerns(ev events.Event, journey string) bool {
	switch ev.Type {
	case events.MemberDisenrolled:
		return slices.Contains(memberJourneys, journey)
	case events.MemberCountyChanged:
		return journey == JourneyCCSReferral
	case events.MemberBirthdateCorrected:
		return journey == JourneyAgeOut
	case events.PregnancyEndDateCorrected:
		return journey == JourneyPostpartum
	case events.ProviderContracted:
		return journey == JourneyCoC
	}
	return false
}

// factDate is the date a member-wide fact takes effect; false for a correction, which has none.
func factDate(ev events.Event) (rules.Date, bool) {
	payload, err := ev.Payload() //workflowcheck:ignore
	if err != nil {
		return rules.Date{}, false
	}
	return effectiveDate(payload)
}

func (a StartAttrs) attrs() attrs {
	return attrs{journey: a.Journey, status: a.Status, memberKey: a.MemberKey, providerKey: a.ProviderKey, deadline: a.Deadline, next: a.Next}
}

// Spec is the start as data, its search attributes as at now.
func (s Start) Spec(now time.Time) (StartSpec, error) {
	input, err := json.Marshal(s.Input)
	if err != nil {
		return StartSpec{}, fmt.Errorf("encode the start of %s: %w", s.WorkflowID, err)
	}
	a := s.startAttrs(now)
	return StartSpec{
		Journey: s.Journey, WorkflowID: s.WorkflowID, Input: input, Summary: s.summary(), ReopenFrom: s.reopenFrom,
		Attrs: StartAttrs{Journey: a.journey, Status: a.status, MemberKey: a.memberKey, ProviderKey: a.providerKey, Deadline: a.deadline, Next: a.next},
	}, nil
}

// Directories are the directory requests that register a journey the listener started (started,
// with its run id) or found there (a duplicate; reopen, when it could not open a new run because
// the journey was still open), for each directory that knows journeys of its type.
func (s Start) Directories(started bool, runID string, reopen *StartSpec) []DirectorySend {
	var out []DirectorySend
	reg := Registration{WorkflowID: s.WorkflowID, Journey: s.Journey, RunID: runID, Started: started, From: s.from, Reopen: reopen}
	if slices.Contains(memberJourneys, s.Journey) && s.MemberKey != "" {
		out = append(out, DirectorySend{Kind: DirectoryMember, Key: s.MemberKey, Request: DirectoryRequest{Register: &reg}})
	}
	if slices.Contains(providerJourneys, s.Journey) && s.ProviderKey != "" {
		r := reg
		r.Reopen = nil // the member's directory reopens; the provider's only hands on contracts
		out = append(out, DirectorySend{Kind: DirectoryProvider, Key: s.ProviderKey, Request: DirectoryRequest{Register: &r}})
	}
	return out
}

// DirectorySend is one request for the directory of a member or provider.
type DirectorySend struct {
	Kind    string
	Key     string
	Request DirectoryRequest
}

// WorkflowID is the directory's workflow id.
func (d DirectorySend) WorkflowID() string { return DirectoryID(d.Kind, d.Key) }

// Options are the options SignalWithStart starts the directory with, when it is not running.
func (d DirectorySend) Options(taskQueue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                    d.WorkflowID(),
		TaskQueue:             taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:         d.Kind + " directory: hands member-wide facts to the journeys they concern",
	}
}

// Input is the state a directory starts with.
func (d DirectorySend) Input() DirectoryState { return DirectoryState{Kind: d.Kind, Key: d.Key} }

// DirectoryActivities are the directory's reads of Temporal.
type DirectoryActivities struct {
	Client client.Client
}

// FindJourneys lists the open journeys of a member or provider key that a directory of kind
// knows, by visibility: the one-time look-up of journeys started before directories existed.
func (a *DirectoryActivities) FindJourneys(ctx context.Context, kind, key string) ([]DirectoryEntry, error) {
	journeys, attr := memberJourneys, AttrMemberKey.GetName()
	if kind == DirectoryProvider {
		journeys, attr = providerJourneys, AttrProviderKey.GetName()
	}
	q := fmt.Sprintf("%s = '%s' AND %s IN (%s) AND ExecutionStatus = 'Running'", attr, key, AttrJourney.GetName(), quoted(journeys))
	found, err := ListQuery(ctx, a.Client, q, nil)
	if err != nil {
		return nil, err
	}
	out := make([]DirectoryEntry, 0, len(found))
	for _, f := range Current(found) {
		// No run id: the journey tells its end from the first run of its chain, which a
		// listing of the current run does not know.
		out = append(out, DirectoryEntry{WorkflowID: f.WorkflowID, Journey: f.Journey, Open: true})
	}
	return out, nil
}
