package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protodelim"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
)

// backup writes every message of a stream to a file encrypted with the payload keyring's current
// key (AES-256-GCM, as Temporal payloads are): `nats stream backup` writes the messages, PHI
// included, in clear. restore publishes them again.
type backupCmd struct {
	Stream string `name:"stream" required:"" placeholder:"NAME" help:"The stream to back up (ENROLLMENT, JOURNEYS, AUDIT)."`
	Out    string `name:"out" required:"" placeholder:"FILE" help:"The encrypted backup to write (mode 0600; an existing file is not replaced)."`
}

type restoreCmd struct {
	In string `name:"in" required:"" placeholder:"FILE" help:"An encrypted backup starter backup wrote; each message is published again to its subject, in order, with its headers."`
}

// archived is one message in a backup.
type archived struct {
	Subject string      `json:"subject"`
	Header  nats.Header `json:"header,omitempty"`
	Data    []byte      `json:"data"`
	Seq     uint64      `json:"seq"`
	Time    time.Time   `json:"time"`
}

// chunk is how many messages one encrypted payload of a backup holds.
const chunk = 500

func (c backupCmd) Run(cfg *config.Config, st *streams) error {
	ring, nc, js, err := keysAndStreams(cfg)
	if err != nil {
		return err
	}
	defer nc.Close()
	f, err := os.OpenFile(c.Out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	n, err := writeBackup(ctx, js, c.Stream, privacy.Codec{Keys: ring}, f)
	if err = errors.Join(err, f.Close()); err != nil {
		return errors.Join(err, os.Remove(c.Out))
	}
	_, err = fmt.Fprintf(st.out, "%d messages of %s written to %s, encrypted with key %s\n", n, c.Stream, c.Out, ring.Current())
	return err
}

// writeBackup writes every message of stream to w, in chunks each encrypted by codec.
func writeBackup(ctx context.Context, js jetstream.JetStream, stream string, codec privacy.Codec, w io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	var batch []archived
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		b, err := json.Marshal(batch)
		if err != nil {
			return err
		}
		sealed, err := codec.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: b}})
		if err != nil {
			return err
		}
		batch = batch[:0]
		_, err = protodelim.MarshalTo(bw, sealed[0])
		return err
	}
	n := 0
	err := events.ReadAll(ctx, js, stream, nil, func(msg jetstream.Msg) error {
		meta, err := msg.Metadata()
		if err != nil {
			return err
		}
		batch = append(batch, archived{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data(), Seq: meta.Sequence.Stream, Time: meta.Timestamp})
		n++
		if len(batch) == chunk {
			return flush()
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	if err := flush(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func (c restoreCmd) Run(cfg *config.Config, st *streams) error {
	ring, nc, js, err := keysAndStreams(cfg)
	if err != nil {
		return err
	}
	defer nc.Close()
	f, err := os.Open(c.In)
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	n, err := restoreBackup(ctx, js, privacy.Codec{Keys: ring, EncryptedOnly: true}, bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("%s: %d messages published again, then: %w", c.In, n, err)
	}
	_, err = fmt.Fprintf(st.out, "%d messages of %s published again\n", n, c.In)
	return err
}

// restoreBackup publishes every message of a backup again, in order, each acknowledged by
// JetStream before the next.
func restoreBackup(ctx context.Context, js jetstream.JetStream, codec privacy.Codec, r *bufio.Reader) (int, error) {
	n := 0
	for {
		var sealed commonpb.Payload
		err := protodelim.UnmarshalFrom(r, &sealed)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("not a backup, or cut short: %w", err)
		}
		open, err := codec.Decode([]*commonpb.Payload{&sealed})
		if err != nil {
			return n, fmt.Errorf("decrypt: %w (the backup's key must be in the keyring)", err)
		}
		var batch []archived
		if err := json.Unmarshal(open[0].GetData(), &batch); err != nil {
			return n, err
		}
		for _, m := range batch {
			msg := &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}
			if _, err := js.PublishMsg(ctx, msg); err != nil {
				return n, fmt.Errorf("message %d (%s): %w", m.Seq, m.Subject, err)
			}
			n++
		}
	}
}

// keysAndStreams are what backup and restore work with: the payload keyring, and JetStream as
// the admin role.
func keysAndStreams(cfg *config.Config) (privacy.Keyring, *nats.Conn, jetstream.JetStream, error) {
	ring, err := cfg.Keyring(false)
	if err != nil {
		return privacy.Keyring{}, nil, nil, err
	}
	nc, js, err := connect.NATS(*cfg, config.RoleAdmin, cfg.Logger("starter"))
	return ring, nc, js, err
}
