package main

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/internal/testkit"
)

// `starter setup` against a fresh cluster whose meta leader appears late: the streams are in
// place within seconds of the leader, however long --wait is, since each attempt has its own
// timeout.
func TestSetupCreatesTheStreamsSoonAfterTheMetaLeaderAppears(t *testing.T) {
	c := testkit.NewNATSCluster(t, 3)
	c.Start(0) // one node of three: no quorum, no meta leader
	js := testkit.JetStream(t, c.Nodes[0])
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // as with --wait 2m
	defer cancel()
	done := make(chan error, 1)
	settings := events.StreamSettings{Replicas: 3, InboundMaxAge: 90 * 24 * time.Hour, JourneyMaxAge: 3653 * 24 * time.Hour}
	go func() { done <- ensureStreams(ctx, time.Now().Add(2*time.Minute), zerolog.Nop(), js, settings) }()

	time.Sleep(3 * time.Second)
	select {
	case err := <-done:
		t.Fatalf("streams set up without a meta leader: %v", err)
	default:
	}
	c.Start(1)
	c.Start(2)
	c.WaitForLeader(30 * time.Second)
	leader := time.Now()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("setup: %v", err)
		}
		t.Logf("streams in place %.1f s after the meta leader", time.Since(leader).Seconds())
	case <-time.After(attemptTimeout + 10*time.Second):
		t.Fatalf("streams not in place %s after the meta leader appeared", attemptTimeout+10*time.Second)
	}
	check := func(maxAge map[string]time.Duration) {
		t.Helper()
		for name, age := range maxAge {
			s, err := js.Stream(context.Background(), name)
			if err != nil {
				t.Fatalf("stream %s: %v", name, err)
			}
			if info, err := s.Info(context.Background()); err != nil || info.Config.Replicas != 3 || info.Config.MaxAge != age {
				t.Fatalf("stream %s: %+v %v, want 3 replicas kept %s", name, info, err, age)
			}
		}
	}
	check(map[string]time.Duration{events.EnrollmentStream: settings.InboundMaxAge, events.JourneyStream: settings.JourneyMaxAge})
	// A plan that shortens the inbound retention later: setup updates the stream in place.
	settings.InboundMaxAge = 30 * 24 * time.Hour
	if err := ensureStreams(ctx, time.Now().Add(time.Minute), zerolog.Nop(), js, settings); err != nil {
		t.Fatal(err)
	}
	check(map[string]time.Duration{events.EnrollmentStream: 30 * 24 * time.Hour, events.JourneyStream: settings.JourneyMaxAge})
}
