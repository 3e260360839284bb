package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/activities"
	"github.com/careclock/careclock/contract"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/metrics"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

var testKeyer = func() privacy.Keyer {
	k, err := privacy.NewKeyer([]byte("careclock-test-key-32-bytes-long!!"))
	if err != nil {
		panic(err)
	}
	return k
}()

// journeyTest runs one journey under the time-skipping test environment and records every
// journey event it publishes, with the instant it was published, and every journey it starts.
// A journey that continues as new is run on, from its new input, in a fresh environment.
type journeyTest struct {
	t         *testing.T
	start     time.Time
	signals   []*pendingSignal
	published []string
	// publishedAt is the instant each journey event was published, in order.
	publishedAt []time.Time
	events      []events.JourneyEvent
	children    []string // "journey workflowId" of each journey started as a child
	runs        int      // workflow runs, 1 + continue-as-new count
	policy      rules.Policy
	// book, when set, is the dated policy the journey's start is routed with; otherwise the
	// built-in one, or policy on every date when a test changed it.
	book rules.Book
	// final, when set, is filled with the journey's state once it has ended (queryAtEnd).
	final *pendingQuery
	// attrs is the journey's search attributes at its start and after each upsert, as
	// "instant journey status next=… deadline=…" ("… (start)" for the start).
	attrs []string
	// localDown makes every publication by local activity fail, as when NATS does not answer
	// within the local activity's 30 s.
	localDown bool
	// preferVersions is the worker's PreferredVersionProvider; nil: careclock's default.
	preferVersions worker.PreferredVersionProvider
	// via is how each journey event was published: "local" or "activity", in order.
	via []string
	// visible is the search attributes as Temporal holds them: the start's, then each upsert
	// merged in; a run continued as new keeps them.
	visible map[temporal.SearchAttributeKey]any
	queries []*pendingQuery
	// oldIDs allows the ids of journeys started before changeEventIDs.
	oldIDs  bool
	updates []*pendingUpdate
	// directory is what the journey told its member's directory, in order.
	directory []string
	// metrics, when set, receives the SDK's metrics of the journey, as a worker's /metrics does.
	metrics *metrics.Metrics
}

// pendingQuery is a state query made at an instant, and its answer.
type pendingQuery struct {
	at   time.Time
	view View[json.RawMessage]
	// details is the journey's current details, as the UI reads them.
	details string
	done    bool
}

// pendingUpdate is a replan update made at an instant, and how it went.
type pendingUpdate struct {
	at       time.Time
	id       string
	policy   json.RawMessage
	done     bool
	accepted bool
	err      error
}

// replanAt sends the UpdateReplan update with policy (JSON) at the instant when, as
// `starter replan` does.
func (jt *journeyTest) replanAt(when, id string, policy any) *pendingUpdate {
	u := &pendingUpdate{at: mustTime(when), id: id, policy: mustJSON(policy)}
	jt.updates = append(jt.updates, u)
	return u
}

type pendingSignal struct {
	at    time.Time
	ev    events.Event
	fired bool
}

// newJourneyTest starts the test clock at now (RFC 3339, any offset).
func newJourneyTest(t *testing.T, now string) *journeyTest {
	return &journeyTest{t: t, start: mustTime(now), policy: rules.DefaultPolicy()}
}

func (jt *journeyTest) newEnv(journey string, start time.Time) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quietLogger{})
	if jt.metrics != nil {
		suite.SetMetricsHandler(jt.metrics.SDK())
	}
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	prefer := WorkerOptions().PreferredVersionProvider // as careclock's worker by default
	if jt.preferVersions != nil {
		prefer = jt.preferVersions
	}
	env.SetWorkerOptions(worker.Options{PreferredVersionProvider: prefer})
	Register(env)
	a := &activities.Activities{}
	env.RegisterActivity(a)
	env.OnActivity(a.Publish, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, ev events.JourneyEvent) error {
			how := "activity"
			if activity.GetInfo(ctx).IsLocalActivity {
				how = "local"
				if jt.localDown {
					return errors.New("nats: timeout")
				}
			}
			jt.via = append(jt.via, how)
			if how == "activity" && !events.JourneyEventIDPattern.MatchString(ev.ID) && !jt.oldIDs {
				jt.t.Errorf("journey event id %q is not of the documented form <workflowId>:<type>@<date>#<n>", ev.ID)
			}
			jt.events = append(jt.events, ev)
			// Every journey event the tests publish is held to the event contract.
			if data, err := json.Marshal(ev.Data); err != nil {
				jt.t.Error(err)
			} else if err := contract.Validate(contract.Journeys, ev.Type, data); err != nil {
				jt.t.Errorf("journey event against its schema: %v", err)
			}
			jt.published = append(jt.published, describe(env.Now(), ev))
			jt.publishedAt = append(jt.publishedAt, env.Now())
			return nil
		})
	if journey != JourneyAgeOut {
		// Age-out journeys started by another journey are recorded, not run.
		env.OnWorkflow(JourneyAgeOut, mock.Anything, mock.Anything).Return(
			func(ctx workflow.Context, s State[AgeOutFacts]) (Outcome, error) {
				child := JourneyAgeOut + " " + workflow.GetInfo(ctx).WorkflowExecution.ID
				if !s.GoLive.IsZero() {
					child += " goLive=" + s.GoLive.String()
				}
				jt.children = append(jt.children, child)
				return Outcome{}, nil
			})
	}
	// The member's directory is told what the journey starts and how it ends, in order.
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, SignalDirectory, mock.Anything).Return(
		func(_, workflowID, _, _ string, arg any) error {
			req := arg.(DirectoryRequest)
			switch {
			case req.Ended != nil:
				jt.directory = append(jt.directory, fmt.Sprintf("%s ended %s %s", req.Ended.WorkflowID, req.Ended.Outcome.Status, req.Ended.Outcome.EndedOn))
			case req.Register != nil:
				jt.directory = append(jt.directory, fmt.Sprintf("%s register %s from %s", workflowID, req.Register.WorkflowID, req.Register.From))
			}
			return nil
		})
	if err := env.SetTypedSearchAttributesOnStart(typedAttrs(jt.t, jt.visible)); err != nil {
		jt.t.Fatal(err)
	}
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		upsert := args.Get(0).(temporal.SearchAttributes)
		maps.Copy(jt.visible, upsert.GetUntypedValues())
		for _, k := range SearchAttributes {
			if unsets(upsert, k) {
				delete(jt.visible, k)
			}
		}
		jt.attrs = append(jt.attrs, describeAttrs(env.Now(), typedAttrs(jt.t, jt.visible)))
	})
	for _, q := range jt.queries {
		if q.done || q.at.Before(start) {
			continue
		}
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(QueryState)
			if err == nil {
				err = v.Get(&q.view)
			}
			if err == nil {
				v, err = env.QueryWorkflow(queryWorkflowMetadata)
			}
			var md sdkpb.WorkflowMetadata
			if err == nil {
				err = v.Get(&md)
			}
			q.details = md.GetCurrentDetails()
			if err != nil {
				jt.t.Errorf("state query at %s: %v", q.at, err)
			}
			q.done = true
		}, q.at.Sub(start))
	}
	for _, u := range jt.updates {
		if u.done || u.at.Before(start) {
			continue
		}
		env.RegisterDelayedCallback(func() {
			u.done = true
			env.UpdateWorkflow(UpdateReplan, u.id, &testsuite.TestUpdateCallback{
				OnAccept: func() { u.accepted = true },
				OnReject: func(err error) { u.err = err },
				OnComplete: func(_ any, err error) {
					if err != nil {
						u.err = err
					}
				},
			}, u.policy)
		}, u.at.Sub(start))
	}
	for _, s := range jt.signals {
		if s.fired {
			continue
		}
		delay := s.at.Sub(start)
		if delay < 0 {
			jt.t.Fatalf("signal at %s is before the run that starts at %s", s.at, start)
		}
		env.RegisterDelayedCallback(func() {
			s.fired = true
			env.SignalWorkflow(SignalEvent, s.ev)
		}, delay)
	}
	return env
}

// queryWorkflowMetadata is the query the UI reads a workflow's current details with (the SDK's
// internal QueryTypeWorkflowMetadata).
const queryWorkflowMetadata = "__temporal_workflow_metadata"

// queryAt asks the journey for its state at the instant when (RFC 3339), after what is due at
// that instant has run.
func (jt *journeyTest) queryAt(when string) *pendingQuery {
	q := &pendingQuery{at: mustTime(when)}
	jt.queries = append(jt.queries, q)
	return q
}

// describeAttrs renders a search attribute upsert as "instant journey status next=… deadline=…",
// with "-" for an attribute the upsert unsets.
func describeAttrs(now time.Time, sa temporal.SearchAttributes) string {
	loc, err := rules.DefaultPolicy().Location()
	if err != nil {
		panic(err)
	}
	instant := func(k temporal.SearchAttributeKeyTime) string {
		if t, ok := sa.GetTime(k); ok {
			return t.In(loc).Format("2006-01-02T15:04")
		}
		return "-" // unset
	}
	journey, _ := sa.GetKeyword(AttrJourney)
	status, _ := sa.GetKeyword(AttrStatus)
	return fmt.Sprintf("%s %s %s next=%s deadline=%s", now.In(loc).Format("2006-01-02T15:04"), journey, status,
		instant(AttrNextAt), instant(AttrDeadline))
}

// typedAttrs turns untyped search attribute values back into SearchAttributes.
func typedAttrs(t *testing.T, values map[temporal.SearchAttributeKey]any) temporal.SearchAttributes {
	t.Helper()
	var updates []temporal.SearchAttributeUpdate
	for k, v := range values {
		switch k := k.(type) {
		case temporal.SearchAttributeKeyKeyword:
			updates = append(updates, k.ValueSet(v.(string)))
		case temporal.SearchAttributeKeyTime:
			updates = append(updates, k.ValueSet(v.(time.Time)))
		default:
			t.Fatalf("search attribute %s of an unexpected type %T", k.GetName(), k)
		}
	}
	return temporal.NewSearchAttributes(updates...)
}

// unsets reports whether an upsert unsets the attribute k. The SDK keeps an unset as a nil
// value, which every accessor of SearchAttributes leaves out, so it is read with reflect.
func unsets(upsert temporal.SearchAttributes, k temporal.SearchAttributeKey) bool {
	v := reflect.ValueOf(upsert).FieldByName("untypedValue").MapIndex(reflect.ValueOf(k))
	return v.IsValid() && v.IsNil()
}

// signalAt delivers an inbound event at the instant when (RFC 3339).
func (jt *journeyTest) signalAt(when, eventType, id string, data any) {
	jt.t.Helper()
	jt.signalFromAt(when, "test", eventType, id, data)
}

// signalFromAt delivers an inbound event from source at the instant when (RFC 3339).
func (jt *journeyTest) signalFromAt(when, source, eventType, id string, data any) {
	jt.t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		jt.t.Fatal(err)
	}
	ev := events.Event{SpecVersion: "1.0", ID: id, Source: source, Type: eventType, Data: raw}
	jt.signals = append(jt.signals, &pendingSignal{at: mustTime(when), ev: ev})
}

// route decodes a start event as the listener does and returns the journeys it starts.
func (jt *journeyTest) route(eventType string, data any) []Start {
	jt.t.Helper()
	return jt.routeAll(eventType, data).Starts
}

// routeAll decodes an event as the listener does and returns its route.
func (jt *journeyTest) routeAll(eventType string, data any) Route {
	jt.t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		jt.t.Fatal(err)
	}
	ev, payload, err := events.Decode(mustJSON(map[string]any{
		"specversion": "1.0", "id": "start-1", "source": "test", "type": eventType, "data": json.RawMessage(raw),
	}), jt.policy.Today(jt.start))
	if err != nil {
		jt.t.Fatalf("start event: %v", err)
	}
	book := jt.book
	if book == nil {
		book = rules.DefaultBook()
		if !reflect.DeepEqual(jt.policy, rules.DefaultPolicy()) {
			book = rules.BookOf(jt.policy, rules.Date{}) // a test's own policy, on every date
		}
	}
	route, err := RouteEvent(ev, payload, testKeyer, book)
	if err != nil {
		jt.t.Fatalf("route: %v", err)
	}
	return route
}

// run starts the one journey of the given start event and runs it to its end.
func (jt *journeyTest) run(eventType string, data any) {
	jt.t.Helper()
	starts := jt.route(eventType, data)
	if len(starts) != 1 {
		jt.t.Fatalf("%d journeys started, want 1", len(starts))
	}
	jt.runStart(starts[0])
}

// withState returns the start with its initial state edited: a journey as an older careclock
// started it (the rule it keeps, a state from before policies were dated).
func withState[F any](s Start, edit func(*State[F])) Start {
	st := s.Input.(State[F])
	edit(&st)
	s.Input = st
	return s
}

// runStart runs a journey to its end, across continue-as-new.
func (jt *journeyTest) runStart(s Start) {
	jt.t.Helper()
	var input any = s.Input
	start := jt.start
	opts := StartOptions(s, TaskQueue, start)
	jt.visible = opts.TypedSearchAttributes.GetUntypedValues()
	jt.attrs = append(jt.attrs, describeAttrs(start, opts.TypedSearchAttributes)+" (start)")
	for {
		jt.runs++
		env := jt.newEnv(s.Journey, start)
		env.SetStartWorkflowOptions(opts)
		env.ExecuteWorkflow(s.Journey, input)
		if !env.IsWorkflowCompleted() {
			jt.t.Fatal("journey did not complete")
		}
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			var next json.RawMessage
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
				jt.t.Fatal(err)
			}
			input, start = next, env.Now()
			continue
		}
		if err != nil {
			jt.t.Fatalf("journey failed: %v", err)
		}
		if jt.final != nil {
			v, err := env.QueryWorkflow(QueryState)
			if err == nil {
				err = v.Get(&jt.final.view)
			}
			if err != nil {
				jt.t.Errorf("state query at the end: %v", err)
			}
		}
		return
	}
}

// queryAtEnd asks the journey for its state once it has ended.
func (jt *journeyTest) queryAtEnd() *pendingQuery {
	jt.final = &pendingQuery{}
	return jt.final
}

// expect asserts the exact journey events published, in order.
func (jt *journeyTest) expect(want ...string) {
	jt.t.Helper()
	if !slices.Equal(jt.published, want) {
		jt.t.Errorf("published:\n  %s\nwant:\n  %s", strings.Join(jt.published, "\n  "), strings.Join(want, "\n  "))
	}
}

// describe renders a published event as "instant type date [late] field=value…", leaving out
// the data every event carries.
func describe(now time.Time, ev events.JourneyEvent) string {
	loc, err := rules.DefaultPolicy().Location()
	if err != nil {
		panic(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %v", now.In(loc).Format("2006-01-02T15:04"), ev.Type, ev.Data["eventDate"])
	if ev.Data["late"] == true {
		b.WriteString(" late")
	}
	for _, k := range slices.Sorted(maps.Keys(ev.Data)) {
		switch k {
		case "journey", "workflowId", "memberId", "eventDate", "deadline", "late", "scheduledAt":
			continue // the data every event carries (scheduledAt: TestEventTimeIsWhenItWasPublished)
		}
		fmt.Fprintf(&b, " %s=%v", k, ev.Data[k])
	}
	return b.String()
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// quietLogger drops the SDK's logs in workflow tests; a failing test prints what was published.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

// expectIDs asserts the ids of the journey events published, each after "<workflowID>:".
func (jt *journeyTest) expectIDs(workflowID string, want ...string) {
	jt.t.Helper()
	var got []string
	for _, ev := range jt.events {
		got = append(got, strings.TrimPrefix(ev.ID, workflowID+":"))
	}
	if !slices.Equal(got, want) {
		jt.t.Errorf("journey event ids after %s:\n  %s\nwant:\n  %s", workflowID, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
