package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/events"
)

// send publishes inbound events to enrollment.<type>, each with its id as Nats-Msg-Id, as the
// enrollment systems do. It does not validate them: the listener does, and dead-letters what it
// cannot use.
type sendCmd struct {
	Subject string   `placeholder:"SUBJECT" help:"Publish on this subject instead of enrollment.<type> (to test bad input)."`
	Files   []string `arg:"" name:"file" help:"Event files; - for standard input."`
}

func (c sendCmd) Run(cfg *config.Config, st *streams) error {
	log := cfg.Logger("starter")
	nc, js, err := connect.NATS(*cfg, config.RoleProducer, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range c.Files {
		raw, err := readFrom(name, st.in)
		if err != nil {
			return err
		}
		id, typeSubject, err := events.Peek(raw)
		msg := &nats.Msg{Subject: c.Subject, Data: raw, Header: nats.Header{}}
		// With --subject, an unparsable file is sent as it is: the listener dead-letters it.
		if msg.Subject == "" {
			if err != nil {
				return fmt.Errorf("%s: %w; give --subject to send it anyway", name, err)
			}
			msg.Subject = typeSubject
		}
		if id != "" {
			msg.Header.Set(jetstream.MsgIDHeader, id)
		}
		ack, err := js.PublishMsg(ctx, msg)
		if err != nil {
			return fmt.Errorf("%s: publish %s: %w", name, msg.Subject, err)
		}
		fmt.Fprintf(st.out, "%s → %s (stream %s, seq %d, duplicate %v)\n", name, msg.Subject, ack.Stream, ack.Sequence, ack.Duplicate)
		if ack.Duplicate {
			fmt.Fprintf(st.out, "  not stored again: the stream already holds an event with id %q from the last 24 hours; a corrected event needs an id of its own (docs/dead-letters.md)\n", id)
		}
	}
	return nil
}
