package listener

import (
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// recordingMsg is a message that records how JetStream was told about it.
type recordingMsg struct {
	jetstream.Msg
	mu    sync.Mutex
	calls []string
}

func (m *recordingMsg) record(c string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, c)
	return nil
}
func (m *recordingMsg) Ack() error        { return m.record("ack") }
func (m *recordingMsg) InProgress() error { return m.record("in progress") }

func (m *recordingMsg) seen() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

// Once a message is acked, the keep-alive sends no InProgress for it, even while the worker
// that acked it has not yet returned.
func TestNoInProgressAfterTheAck(t *testing.T) {
	msg := &recordingMsg{}
	acked, finish := make(chan struct{}), make(chan struct{})
	h := newHolder(30*time.Second, 1, func(j job) {
		if err := j.settle(j.msg.Ack); err != nil {
			t.Error(err)
		}
		close(acked)
		<-finish // the worker is still busy after its ack
	})
	h.add(job{msg: msg, shardKey: "k"})
	<-acked
	h.touch(time.Now().Add(time.Hour), zerolog.Nop()) // long past a third of the ack wait
	close(finish)
	h.close()
	if got := msg.seen(); len(got) != 1 || got[0] != "ack" {
		t.Errorf("JetStream told %v, want only the ack", got)
	}
}

// An event that keeps failing holds back its journey's later events for as long as it is
// retried, even past an hour (an outage); one nobody retries any more is let go after an hour.
func TestAnEarlierEventHoldsItsJourneyThroughALongOutage(t *testing.T) {
	var o order
	o.block("journey", 5)
	o.by["journey"] = blocker{seq: 5, since: time.Now().Add(-2 * time.Hour)} // first failed 2 hours ago
	o.block("journey", 5)                                                    // and again now
	if seq, ok := o.blocker("journey"); !ok || seq != 5 {
		t.Fatalf("after a 2-hour outage: blocked %v by %d, want held by event 5", ok, seq)
	}
	o.by["journey"] = blocker{seq: 5, since: time.Now().Add(-61 * time.Minute)} // not retried here since
	if _, ok := o.blocker("journey"); ok {
		t.Error("an event nobody here retried for an hour still holds its journey")
	}
}
