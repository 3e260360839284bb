package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/internal/testkit"
)

// `starter watch` prints every message of a 3-replica stream on a 3-node cluster, those stored
// before it started and those that arrive while it runs.
func TestWatchReadsEveryMessageOnACluster(t *testing.T) {
	js := testkit.JetStream(t, testkit.StartNATSCluster(t, 3)...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := events.EnsureStreams(ctx, js, events.StreamSettings{Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			msg := &nats.Msg{Subject: "journeys.reimbursement.overdue", Data: fmt.Appendf(nil, `{"n":%d}`, i), Header: nats.Header{}}
			msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprint("ev-", i))
			if _, err := js.PublishMsg(ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(0, 100)

	var out testkit.LockedBuffer
	saved := t.TempDir()
	watchCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- watchStream(watchCtx, js, events.JourneyStream, events.JourneySubjects, &out, saved) }()
	publish(100, 150)
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(string(out.Bytes()), "journeys.reimbursement.overdue\n") < 150 && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("watch stopped after %d messages: %v", strings.Count(string(out.Bytes()), "\n")/2, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("watch: %v", err)
	}
	text := string(out.Bytes())
	for i := range 150 {
		if !strings.Contains(text, fmt.Sprintf(`  {"n":%d}`+"\n", i)) {
			t.Fatalf("message %d not printed; %d printed", i, strings.Count(text, "\n")/2)
		}
	}
	if n := strings.Count(text, "journeys.reimbursement.overdue\n"); n != 150 {
		t.Errorf("%d messages printed, want 150", n)
	}
	// --save writes each body byte for byte, named by its stream sequence.
	for _, seq := range []int{1, 150} {
		b, err := os.ReadFile(filepath.Join(saved, fmt.Sprintf("%d.json", seq)))
		if err != nil || string(b) != fmt.Sprintf(`{"n":%d}`, seq-1) {
			t.Errorf("saved %d: %q %v", seq, b, err)
		}
	}
}
