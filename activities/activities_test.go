package activities_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/careclock/careclock/activities"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/internal/testkit"
	"github.com/careclock/careclock/metrics"
	"github.com/careclock/careclock/rules"
)

// A retry of a publication whose acknowledgement was lost sends the same event again: JetStream
// stores it once, and it is counted once.
func TestPublishRetryIsStoredOnce(t *testing.T) {
	js := testkit.JetStream(t, testkit.StartNATS(t))
	ctx := context.Background()
	if err := events.EnsureStreams(ctx, js, events.StreamSettings{Replicas: 1}); err != nil {
		t.Fatal(err)
	}

	m := metrics.New()
	a := &activities.Activities{JS: js, Metrics: m}
	ev := events.NewJourneyEvent(events.Occurrence{
		Journey: "reimbursement", WorkflowID: "reimbursement-0f", MemberID: "M-1", Type: "reimbursement.overdue",
		Key: "reimbursement.overdue@2027-01-30", On: rules.MustDate("2027-01-30"), Deadline: rules.MustDate("2027-01-29"),
		At: time.Date(2027, 1, 30, 17, 0, 0, 0, time.UTC),
	})
	for range 2 {
		if err := a.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	st, err := js.Stream(ctx, events.JourneyStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("%d messages on the journey stream after a retry, want 1", info.State.Msgs)
	}
	msg, err := st.GetLastMsgForSubject(ctx, "journeys.reimbursement.overdue")
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get(jetstream.MsgIDHeader); got != ev.ID {
		t.Errorf("Nats-Msg-Id %q, want the event id %q", got, ev.ID)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := `careclock_journey_events_published_total{type="reimbursement.overdue"} 1`
	if !strings.Contains(rec.Body.String(), want) {
		t.Errorf("metrics do not contain %s", want)
	}
}

// A publication while the connection to NATS is down fails at once, so that Temporal retries it, rather
// than waiting in a client buffer.
func TestPublishWithoutNATSFails(t *testing.T) {
	ns := testkit.StartNATS(t)
	nc, js, err := connect.NATS(config.Config{NATSURL: ns.ClientURL()}, config.RoleWorker, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ns.Shutdown()
	ns.WaitForShutdown()
	for deadline := time.Now().Add(10 * time.Second); nc.IsConnected(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the client never noticed the server had gone")
		}
	}
	ev := events.NewJourneyEvent(events.Occurrence{Journey: "reimbursement", WorkflowID: "w", Type: "reimbursement.overdue", Key: "k"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err = (&activities.Activities{JS: js}).Publish(ctx, ev)
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("publish without NATS: %v after %s; want an error at once", err, time.Since(start))
	}
}
