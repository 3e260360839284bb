package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/events"
)

// watch prints the messages of a stream as they arrive (from the first one), for a person
// following what careclock publishes or dead-letters.
func watch(args []string) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	filter := fs.String("subject", events.JourneySubjects, "subject filter: journeys.> or enrollment.deadletter, for example")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("watch takes no arguments")
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	// Journey events are what downstream readers may see; anything else (dead letters) takes
	// the admin role.
	role := config.RoleAdmin
	if strings.HasPrefix(*filter, "journeys.") {
		role = config.RoleReader
	}
	nc, js, err := cfg.ConnectNATS(role, cfg.Logger("starter"))
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stream, err := js.StreamNameBySubject(ctx, *filter)
	if err != nil {
		return fmt.Errorf("no stream holds %s: %w", *filter, err)
	}
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{*filter}})
	if err != nil {
		return err
	}
	for {
		msg, err := cons.Next(jetstream.FetchContext(ctx))
		if errors.Is(err, context.Canceled) {
			return nil
		}
		if err != nil {
			return err
		}
		if reason := msg.Headers().Get(events.HeaderReason); reason != "" {
			fmt.Printf("%s (from %s: %s)\n", msg.Subject(), msg.Headers().Get(events.HeaderOriginalSubject), reason)
		} else {
			fmt.Println(msg.Subject())
		}
		fmt.Printf("  %s\n", msg.Data())
	}
}
