package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/internal/testkit"
	"github.com/careclock/careclock/privacy"
)

// A stream backed up holds no member id in clear; restored into a new stream, it has every
// message again, in order, with its subject, body and headers; restored twice, nothing is
// there twice (the events' own ids); with another keyring, it does not open.
func TestBackupIsEncryptedAndRestoresEveryMessageOnce(t *testing.T) {
	js := testkit.JetStream(t, testkit.StartNATS(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := events.EnsureStreams(ctx, js, events.StreamSettings{Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	const n = 1203 // three chunks: 500, 500, 203
	for i := range n {
		msg := &nats.Msg{Subject: events.Subject(events.MemberEnrolled), Header: nats.Header{},
			Data: fmt.Appendf(nil, `{"memberId":"M-BACKUP-%04d"}`, i)}
		msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("evt-%04d", i))
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	ring, err := privacy.ParseKeyring("k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if err != nil {
		t.Fatal(err)
	}
	var backup bytes.Buffer
	written, err := writeBackup(ctx, js, events.EnrollmentStream, privacy.Codec{Keys: ring}, &backup)
	if err != nil || written != n {
		t.Fatalf("backup: %d messages, %v", written, err)
	}
	if bytes.Contains(backup.Bytes(), []byte("M-BACKUP-")) || bytes.Contains(backup.Bytes(), []byte("evt-0")) {
		t.Fatal("the backup holds a member id or an event id in clear")
	}

	if err := js.DeleteStream(ctx, events.EnrollmentStream); err != nil {
		t.Fatal(err)
	}
	if err := events.EnsureStreams(ctx, js, events.StreamSettings{Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	restore := func(codec privacy.Codec) (int, error) {
		return restoreBackup(ctx, js, codec, bufio.NewReader(bytes.NewReader(backup.Bytes())))
	}
	for range 2 {
		if got, err := restore(privacy.Codec{Keys: ring, EncryptedOnly: true}); err != nil || got != n {
			t.Fatalf("restore: %d messages, %v", got, err)
		}
	}
	stream, err := js.Stream(ctx, events.EnrollmentStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil || info.State.Msgs != n {
		t.Fatalf("after restoring twice: %+v %v, want %d messages", info.State, err, n)
	}
	for _, seq := range []uint64{1, 501, n} {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		i := seq - 1
		if m.Subject != events.Subject(events.MemberEnrolled) || string(m.Data) != fmt.Sprintf(`{"memberId":"M-BACKUP-%04d"}`, i) ||
			m.Header.Get(jetstream.MsgIDHeader) != fmt.Sprintf("evt-%04d", i) {
			t.Errorf("message %d restored as %s %s %v", seq, m.Subject, m.Data, m.Header)
		}
	}

	other, err := privacy.ParseKeyring("k2:1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := restore(privacy.Codec{Keys: other, EncryptedOnly: true}); err == nil || !strings.Contains(err.Error(), "keyring") {
		t.Errorf("restore with another keyring: %v", err)
	}
}
