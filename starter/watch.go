package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/events"
)

// watch prints the messages of a stream as they arrive (from the first one), for a person
// following what careclock publishes or dead-letters.
type watchCmd struct {
	Subject string `default:"journeys.>" help:"Subject filter: journeys.> or enrollment.deadletter, for example."`
	Save    string `placeholder:"DIR" help:"Also write each message's body, byte for byte, to DIR/<stream sequence>.json (a dead letter to fix and send again; it holds PHI: delete it after)."`
}

func (c watchCmd) Run(cfg *config.Config, st *streams) error {
	// Journey events are what downstream readers may see; anything else (dead letters) takes
	// the admin role.
	role := config.RoleAdmin
	if strings.HasPrefix(c.Subject, "journeys.") {
		role = config.RoleReader
	}
	nc, js, err := connect.NATS(*cfg, role, cfg.Logger("starter"))
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stream, err := js.StreamNameBySubject(ctx, c.Subject)
	if err != nil {
		return fmt.Errorf("no stream holds %s: %w", c.Subject, err)
	}
	if c.Save != "" {
		if err := os.MkdirAll(c.Save, 0o700); err != nil {
			return err
		}
	}
	return watchStream(ctx, js, stream, c.Subject, st.out, c.Save)
}

// watchStream prints the messages of stream on subjects matching filter to w until ctx ends. It
// reads them with an ordered consumer's message iterator, which keeps one pull open. Calling
// the ordered consumer's Next in a loop sets up a fresh pull for every message; on a 3-node
// cluster that failed with "no responders available for request" after a few dozen messages.
func watchStream(ctx context.Context, js jetstream.JetStream, stream, filter string, w io.Writer, saveDir string) error {
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return err
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	stopped := context.AfterFunc(ctx, it.Stop)
	defer stopped()
	for {
		msg, err := it.Next()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if reason := msg.Headers().Get(events.HeaderReason); reason != "" {
			fmt.Fprintf(w, "%s (from %s: %s)\n", msg.Subject(), msg.Headers().Get(events.HeaderOriginalSubject), reason)
		} else {
			fmt.Fprintln(w, msg.Subject())
		}
		fmt.Fprintf(w, "  %s\n", msg.Data())
		if saveDir != "" {
			meta, err := msg.Metadata()
			if err != nil {
				return err
			}
			path := filepath.Join(saveDir, fmt.Sprintf("%d.json", meta.Sequence.Stream))
			if err := os.WriteFile(path, msg.Data(), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(w, "  saved to %s\n", path)
		}
	}
}
