package stack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
)

// connectAs connects to the stack's NATS with a role's nkey, collecting the server's
// asynchronous errors (permission violations).
func connectAs(t *testing.T, s *stack.Stack, role string) (*nats.Conn, chan error) {
	t.Helper()
	seed, err := nats.NkeyOptionFromSeed(s.NKeySeedFile(role))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 16)
	nc, err := nats.Connect(s.NATSURL(), seed, nats.CustomInboxPrefix(config.InboxPrefix(role)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	if err != nil {
		t.Fatalf("connect as %s: %v", role, err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

func violation(t *testing.T, errs chan error, what string) {
	t.Helper()
	select {
	case err := <-errs:
		if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			t.Errorf("%s: %v, want a permissions violation", what, err)
		}
	case <-time.After(3 * time.Second):
		t.Errorf("%s: allowed, want a permissions violation", what)
	}
}

// Each role gets only its subjects: a wrong subject is refused by the server, and a connection
// without a key is refused altogether.
func TestNATSPermissions(t *testing.T) {
	s := startStack(t)
	if nc, err := nats.Connect(s.NATSURL()); err == nil {
		nc.Close()
		t.Fatal("connected to the dev stack's NATS without credentials")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
		t.Errorf("no credentials: %v", err)
	}

	for _, c := range []struct{ role, subject string }{
		{config.RoleProducer, events.DeadLetterSubject},
		{config.RoleProducer, "journeys.reimbursement.overdue"},
		{config.RoleWorker, "enrollment.member.enrolled"},
		{config.RoleReader, "journeys.reimbursement.overdue"},
		{config.RoleListener, "journeys.reimbursement.overdue"},
		{config.RoleReader, "$JS.API.CONSUMER.CREATE." + events.EnrollmentStream},
	} {
		nc, errs := connectAs(t, s, c.role)
		if err := nc.Publish(c.subject, []byte("{}")); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		violation(t, errs, c.role+" publishing to "+c.subject)
	}
	for _, c := range []struct{ role, subject string }{
		{config.RoleReader, events.EnrollmentSubjects},
		{config.RoleReader, config.InboxPrefix(config.RoleListener) + ".>"},
		{config.RoleProducer, events.JourneySubjects},
	} {
		nc, errs := connectAs(t, s, c.role)
		if _, err := nc.SubscribeSync(c.subject); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		violation(t, errs, c.role+" subscribing to "+c.subject)
	}

	// What each role is for still works: a producer's event becomes a journey event a reader
	// reads.
	nc, _ := connectAs(t, s, config.RoleProducer)
	producer, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	today := testPolicy().Today(time.Now())
	body, want := overdueClaim(s, "perm-1", "CLM-PERM-1", today)
	publish(t, producer, events.Subject(events.ReimbursementSubmitted), "perm-1", body)
	rc, rerrs := connectAs(t, s, config.RoleReader)
	reader, err := jetstream.New(rc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cons, err := reader.OrderedConsumer(ctx, events.JourneyStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("reader consumer on %s: %v", events.JourneyStream, err)
	}
	msg, err := cons.Next(jetstream.FetchContext(ctx))
	if err != nil {
		t.Fatalf("reader: %v", err)
	}
	if ev := journeyData(t, msg.Data()); ev["type"] != want.EventType || ev["eventDate"] != want.On.String() {
		t.Errorf("reader got %v, want %s", ev, want)
	}
	select {
	case err := <-rerrs:
		t.Errorf("the reader was refused something it needs: %v", err)
	default:
	}
	short, cancelShort := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancelShort()
	if _, err := reader.OrderedConsumer(short, events.EnrollmentStream, jetstream.OrderedConsumerConfig{}); err == nil {
		t.Error("a reader created a consumer on the enrollment stream")
	}
}

// A client written by others (the nats CLI, a downstream system's own code) must use its role's
// inbox prefix (docs/clients.md): with the library's default _INBOX, the JetStream API's replies
// cannot reach it and its first request fails; with --inbox-prefix _INBOX_reader it works.
func TestAThirdPartyClientNeedsTheRolesInboxPrefix(t *testing.T) {
	s := startStack(t)
	seed, err := nats.NkeyOptionFromSeed(s.NKeySeedFile(config.RoleReader))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts []nats.Option
		ok   bool
	}{
		{[]nats.Option{seed}, false},
		{[]nats.Option{seed, nats.CustomInboxPrefix("_INBOX_" + config.RoleReader)}, true},
	} {
		nc, err := nats.Connect(s.NATSURL(), c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = js.Stream(ctx, events.JourneyStream)
		cancel()
		nc.Close()
		if (err == nil) != c.ok {
			t.Errorf("inbox prefix given %v: stream info error %v", c.ok, err)
		}
	}
}
