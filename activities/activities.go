// Package activities holds careclock's one side effect: publishing journey events to NATS.
package activities

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/temporal"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/metrics"
)

// Activities holds the clients the activities use. The worker registers one instance; workflows
// refer to its methods through a nil pointer.
type Activities struct {
	JS jetstream.JetStream
	// Metrics counts what is published; nil counts nothing.
	Metrics *metrics.Metrics
}

// Publish sends a journey event to journeys.<journey>.<event> on the journey stream, with the
// event id as Nats-Msg-Id: a retry after a lost acknowledgement is dropped by JetStream as a
// duplicate, so the event is stored once.
func (a *Activities) Publish(ctx context.Context, ev events.JourneyEvent) error {
	subject, err := ev.NATSSubject()
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "BadJourneyEvent", err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("encode journey event", "BadJourneyEvent", err)
	}
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	msg.Header.Set("Content-Type", "application/cloudevents+json")
	ack, err := a.JS.PublishMsg(ctx, msg, jetstream.WithExpectStream(events.JourneyStream))
	if err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	if !ack.Duplicate {
		a.Metrics.Published(ev.Type, ev.Data["late"] == true)
	}
	return nil
}
