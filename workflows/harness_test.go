package workflows

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/careclock/careclock/activities"
	"github.com/careclock/careclock/events"
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
// journey event it publishes, with the instant it was published.
type journeyTest struct {
	t         *testing.T
	env       *testsuite.TestWorkflowEnvironment
	start     time.Time
	published []string
	events    []events.JourneyEvent
}

// newJourneyTest starts the test clock at now (RFC 3339, any offset).
func newJourneyTest(t *testing.T, now string) *journeyTest {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	start := mustTime(now)
	env.SetStartTime(start)
	Register(env)
	a := &activities.Activities{}
	env.RegisterActivity(a)
	jt := &journeyTest{t: t, env: env, start: start}
	env.OnActivity(a.Publish, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ev events.JourneyEvent) error {
			jt.events = append(jt.events, ev)
			jt.published = append(jt.published, describe(env.Now(), ev))
			return nil
		})
	return jt
}

// signalAt delivers an inbound event at the instant when (RFC 3339).
func (jt *journeyTest) signalAt(when, eventType, id string, data any) {
	jt.t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		jt.t.Fatal(err)
	}
	ev := events.Event{SpecVersion: "1.0", ID: id, Source: "test", Type: eventType, Data: raw}
	delay := mustTime(when).Sub(jt.start)
	if delay < 0 {
		jt.t.Fatalf("signal at %s is before the start", when)
	}
	jt.env.RegisterDelayedCallback(func() { jt.env.SignalWorkflow(SignalEvent, ev) }, delay)
}

// run starts the journey of the given start event and runs it to its end.
func (jt *journeyTest) run(eventType string, data any) {
	jt.t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		jt.t.Fatal(err)
	}
	ev, payload, err := events.Decode(mustJSON(map[string]any{
		"specversion": "1.0", "id": "start-1", "source": "test", "type": eventType, "data": json.RawMessage(raw),
	}), rules.DateOf(jt.start))
	if err != nil {
		jt.t.Fatalf("start event: %v", err)
	}
	route, err := RouteEvent(ev, payload, testKeyer, rules.DefaultPolicy())
	if err != nil || len(route.Starts) != 1 {
		jt.t.Fatalf("route: %+v, %v", route, err)
	}
	s := route.Starts[0]
	jt.env.SetStartWorkflowOptions(StartOptions(s, TaskQueue))
	jt.env.ExecuteWorkflow(s.Journey, s.Input)
	if !jt.env.IsWorkflowCompleted() {
		jt.t.Fatal("journey did not complete")
	}
	if err := jt.env.GetWorkflowError(); err != nil {
		jt.t.Fatalf("journey failed: %v", err)
	}
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
		case "journey", "workflowId", "memberId", "eventDate", "deadline", "late":
			continue
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
