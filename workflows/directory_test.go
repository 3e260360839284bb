package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// directoryTest runs a member's directory under the time-skipping test environment, with the
// requests sent to it one minute apart, and records what it hands to which journey and what it
// starts.
type directoryTest struct {
	t        *testing.T
	requests []DirectoryRequest
	// existing are the journeys the one-time look-up finds.
	existing []DirectoryEntry
	// gone are journeys that can no longer be signalled (ended).
	gone []string
	// handed is "<workflowId> <event id>" for each fact handed on, in order; started the
	// journeys the directory started again.
	handed, started []string
	state           DirectoryState
}

func (dt *directoryTest) run() {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quietLogger{})
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(mustTime("2026-12-01T10:00:00-08:00"))
	Register(env)
	var a *DirectoryActivities
	env.RegisterActivity(a)
	env.OnActivity(a.FindJourneys, mock.Anything, DirectoryMember, "mk").Return(dt.existing, nil)
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", SignalEvent, mock.Anything).Return(
		func(_, workflowID, _, _ string, arg any) error {
			if slices.Contains(dt.gone, workflowID) {
				return fmt.Errorf("workflow execution already completed")
			}
			dt.handed = append(dt.handed, workflowID+" "+arg.(events.Event).ID)
			return nil
		})
	env.OnWorkflow(JourneyAgeOut, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, s State[AgeOutFacts]) (Outcome, error) {
			dt.started = append(dt.started, fmt.Sprintf("%s run %d", workflow.GetInfo(ctx).WorkflowExecution.ID, s.Run))
			return Outcome{}, nil
		})
	for i, req := range dt.requests {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalDirectory, req) }, time.Duration(i+1)*time.Minute)
	}
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryState)
		if err == nil {
			err = v.Get(&dt.state)
		}
		if err != nil {
			dt.t.Error(err)
		}
		env.CancelWorkflow()
	}, time.Duration(len(dt.requests)+1)*time.Minute)
	env.ExecuteWorkflow(DirectoryMember, DirectoryState{Kind: DirectoryMember, Key: "mk"})
	var cancelled *temporal.CanceledError
	if err := env.GetWorkflowError(); !errors.As(err, &cancelled) {
		dt.t.Fatalf("directory: %v, want it running until cancelled", err)
	}
}

func memberFactEvent(id, eventType string, data map[string]any) DirectoryRequest {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	return DirectoryRequest{Fact: &events.Event{SpecVersion: "1.0", ID: id, Source: "urn:enrollment", Type: eventType, Data: raw}}
}

func disenrolled(id, on string) DirectoryRequest {
	return memberFactEvent(id, events.MemberDisenrolled, map[string]any{"memberId": "M-1", "effectiveDate": on})
}

func registered(id, journey, from string, started bool) DirectoryRequest {
	return DirectoryRequest{Register: &Registration{WorkflowID: id, Journey: journey, RunID: id + "-run", Started: started, From: rules.MustDate(from)}}
}

// A member-wide fact reaches every journey of the member it concerns, whatever the order in which
// the fact and the journeys' registrations arrive: one that registers later gets the facts dated
// on or after its starting fact.
func TestDirectoryHandsFactsWhateverTheOrder(t *testing.T) {
	for _, c := range []struct {
		name     string
		requests []DirectoryRequest
		want     []string
	}{
		{"registered first", []DirectoryRequest{
			registered("ageout-1", JourneyAgeOut, "2026-01-01", true), disenrolled("d-1", "2026-06-01"),
		}, []string{"ageout-1 d-1"}},
		{"fact first", []DirectoryRequest{
			disenrolled("d-1", "2026-06-01"), registered("ageout-1", JourneyAgeOut, "2026-01-01", true),
		}, []string{"ageout-1 d-1"}},
		{"a journey started after the fact's date does not get it", []DirectoryRequest{
			disenrolled("d-1", "2026-06-01"), registered("ageout-1", JourneyAgeOut, "2026-07-01", true),
		}, nil},
		{"a redelivered fact is handed on once", []DirectoryRequest{
			registered("ageout-1", JourneyAgeOut, "2026-01-01", true), disenrolled("d-1", "2026-06-01"), disenrolled("d-1", "2026-06-01"),
		}, []string{"ageout-1 d-1"}},
		{"each fact to the journeys it concerns", []DirectoryRequest{
			registered("ageout-1", JourneyAgeOut, "2026-01-01", true),
			registered("ccs-referral-1", JourneyCCSReferral, "2026-02-01", true),
			registered("postpartum-1", JourneyPostpartum, "2026-03-15", true),
			registered("postpartum-2", JourneyPostpartum, "2025-01-10", true),
			memberFactEvent("county", events.MemberCountyChanged, map[string]any{"memberId": "M-1", "county": "Yolo", "countyModel": "independent", "effectiveDate": "2026-11-01"}),
			memberFactEvent("dob", events.MemberBirthdateCorrected, map[string]any{"memberId": "M-1", "dateOfBirth": "2010-01-02"}),
			memberFactEvent("preg", events.PregnancyEndDateCorrected, map[string]any{"memberId": "M-1", "previousEndDate": "2026-03-15", "pregnancyEndDate": "2026-03-20"}),
			memberFactEvent("preg-2", events.PregnancyEndDateCorrected, map[string]any{"memberId": "M-1", "previousEndDate": "2026-03-20", "pregnancyEndDate": "2026-03-21"}),
			disenrolled("d-1", "2026-12-01"),
		}, []string{
			"ccs-referral-1 county", "ageout-1 dob", "postpartum-1 preg", "postpartum-1 preg-2",
			"ageout-1 d-1", "ccs-referral-1 d-1", "postpartum-1 d-1", "postpartum-2 d-1",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dt := &directoryTest{t: t, requests: c.requests}
			dt.run()
			if !slices.Equal(dt.handed, c.want) {
				t.Errorf("handed %v, want %v", dt.handed, c.want)
			}
		})
	}
}

// A journey started before directories existed is found once and gets the member's facts; one
// that can no longer be reached is taken as ended.
func TestDirectoryFindsTheJourneysStartedBefore(t *testing.T) {
	dt := &directoryTest{t: t,
		existing: []DirectoryEntry{{WorkflowID: "ageout-old", Journey: JourneyAgeOut, Open: true}, {WorkflowID: "coc-old", Journey: JourneyCoC, Open: true}},
		gone:     []string{"coc-old"},
		requests: []DirectoryRequest{disenrolled("d-1", "2026-12-01"), disenrolled("d-2", "2026-12-02")},
	}
	dt.run()
	if want := []string{"ageout-old d-1", "ageout-old d-2"}; !slices.Equal(dt.handed, want) {
		t.Errorf("handed %v, want %v", dt.handed, want)
	}
	if len(dt.state.Journeys) != 2 || dt.state.Journeys[1].Open {
		t.Errorf("journeys %+v, want coc-old no longer open", dt.state.Journeys)
	}
}

// A re-enrollment that reached the listener while the age-out journey it reopens was still open
// (the disenrollment not yet applied) starts the new run once the old one ends cancelled, in
// either order of the journey's end and the re-enrollment; an old enrollment redelivered starts
// nothing.
func TestDirectoryStartsTheRunAReEnrollmentWaitsFor(t *testing.T) {
	spec := func(from string) *StartSpec {
		return &StartSpec{Journey: JourneyAgeOut, WorkflowID: "ageout-1", Input: json.RawMessage(`{"facts":{}}`), ReopenFrom: rules.MustDate(from)}
	}
	reenrolled := func(from string) DirectoryRequest {
		r := registered("ageout-1", JourneyAgeOut, from, false)
		r.Register.Reopen = spec(from)
		return r
	}
	ended := DirectoryRequest{Ended: &Ended{WorkflowID: "ageout-1", RunID: "ageout-1-run", Outcome: Outcome{Status: StatusCancelled, EndedOn: rules.MustDate("2026-06-01")}}}
	for _, c := range []struct {
		name     string
		requests []DirectoryRequest
		started  int
	}{
		{"the re-enrollment, then the end", []DirectoryRequest{registered("ageout-1", JourneyAgeOut, "2026-01-01", true), disenrolled("d-1", "2026-06-01"), reenrolled("2026-07-01"), ended}, 1},
		{"the end, then the re-enrollment", []DirectoryRequest{registered("ageout-1", JourneyAgeOut, "2026-01-01", true), disenrolled("d-1", "2026-06-01"), ended, reenrolled("2026-07-01")}, 1},
		{"the re-enrollment before the disenrollment", []DirectoryRequest{registered("ageout-1", JourneyAgeOut, "2026-01-01", true), reenrolled("2026-07-01"), disenrolled("d-1", "2026-06-01"), ended}, 1},
		{"an old enrollment redelivered", []DirectoryRequest{registered("ageout-1", JourneyAgeOut, "2026-01-01", true), disenrolled("d-1", "2026-06-01"), reenrolled("2026-01-01"), ended}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dt := &directoryTest{t: t, requests: c.requests}
			dt.run()
			if len(dt.started) != c.started {
				t.Fatalf("started %v, want %d new run", dt.started, c.started)
			}
			if c.started == 1 && dt.started[0] != "ageout-1 run 2" {
				t.Errorf("started %v, want ageout-1 as its run 2 (its events' ids carry it)", dt.started)
			}
			e := dt.state.Journeys[0]
			if c.started == 1 && (!e.Open || e.From != rules.MustDate("2026-07-01") || e.Reopen != nil) {
				t.Errorf("after the new run: %+v, want it open from 2026-07-01", e)
			}
			if !strings.Contains(strings.Join(dt.handed, ","), "ageout-1 d-1") {
				t.Errorf("handed %v, want the disenrollment to the first run", dt.handed)
			}
		})
	}
}

// A directory stays small whatever a member's history: it keeps the latest facts only and
// continues as new every directoryRunRequests requests; one with no open journey ends when idle.
func TestDirectoryStaysSmall(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quietLogger{})
	env := suite.NewTestWorkflowEnvironment()
	Register(env)
	var a *DirectoryActivities
	env.RegisterActivity(a)
	env.OnActivity(a.FindJourneys, mock.Anything, DirectoryMember, "mk").Return([]DirectoryEntry(nil), nil)
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", SignalEvent, mock.Anything).Return(nil)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalDirectory, registered("ageout-1", JourneyAgeOut, "2026-01-01", true))
		for i := range directoryRunRequests {
			env.SignalWorkflow(SignalDirectory, memberFactEvent(fmt.Sprintf("dob-%d", i), events.MemberBirthdateCorrected,
				map[string]any{"memberId": "M-1", "dateOfBirth": "2010-01-02"}))
		}
	}, time.Minute)
	env.ExecuteWorkflow(DirectoryMember, DirectoryState{Kind: DirectoryMember, Key: "mk"})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("after %d requests: %v, want continue-as-new", directoryRunRequests+1, err)
	}
	var next DirectoryState
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if len(next.Facts) != maxKeptFacts || len(next.Journeys) != 1 || !next.Journeys[0].Open || next.Facts[maxKeptFacts-1].Event.ID != fmt.Sprintf("dob-%d", directoryRunRequests-1) {
		t.Errorf("carried over %d facts (last %s), journeys %+v; want the latest %d and the open journey",
			len(next.Facts), next.Facts[len(next.Facts)-1].Event.ID, next.Journeys, maxKeptFacts)
	}

	// Nothing open: it ends after directoryIdle without a request.
	env = suite.NewTestWorkflowEnvironment()
	Register(env)
	env.RegisterActivity(a)
	env.OnActivity(a.FindJourneys, mock.Anything, DirectoryMember, "mk").Return([]DirectoryEntry(nil), nil)
	start := mustTime("2026-12-01T10:00:00-08:00")
	env.SetStartTime(start)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalDirectory, disenrolled("d-1", "2026-12-01")) }, time.Minute)
	env.ExecuteWorkflow(DirectoryMember, DirectoryState{Kind: DirectoryMember, Key: "mk"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if idle := env.Now().Sub(start); idle < directoryIdle || idle > directoryIdle+time.Hour {
		t.Errorf("ended after %s, want %s after its last request", idle, directoryIdle)
	}
}

// A fact that finds many journeys ended hands itself to every open one, and the directory then
// forgets the oldest ended beyond maxEnded (not while it walks its list of journeys).
func TestDirectoryForgetsEndedJourneysAfterHandingOn(t *testing.T) {
	dt := &directoryTest{t: t, requests: []DirectoryRequest{disenrolled("d-1", "2026-12-01")}}
	for i := range maxEnded + 5 {
		id := fmt.Sprintf("coc-gone-%d", i)
		dt.existing = append(dt.existing, DirectoryEntry{WorkflowID: id, Journey: JourneyCoC, Open: true})
		dt.gone = append(dt.gone, id)
	}
	dt.existing = append(dt.existing, DirectoryEntry{WorkflowID: "ageout-1", Journey: JourneyAgeOut, Open: true},
		DirectoryEntry{WorkflowID: "postpartum-1", Journey: JourneyPostpartum, Open: true})
	dt.run()
	if want := []string{"ageout-1 d-1", "postpartum-1 d-1"}; !slices.Equal(dt.handed, want) {
		t.Errorf("handed %v, want %v", dt.handed, want)
	}
	if n := len(dt.state.Journeys); n != maxEnded+2 {
		t.Errorf("%d journeys kept, want the 2 open and the latest %d ended", n, maxEnded)
	}
}
