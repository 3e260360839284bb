package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// dedupWindow is how long JetStream remembers a Nats-Msg-Id. It must outlast any retry of the
// same publication: an activity retried after its worker died, a publisher resending an event.
const dedupWindow = 24 * time.Hour

// StreamSettings are what a deployment chooses for the streams.
type StreamSettings struct {
	Replicas int
	// InboundMaxAge and JourneyMaxAge are how long ENROLLMENT and JOURNEYS (and AUDIT, as
	// JOURNEYS) keep a message (JetStream's MaxAge); 0 keeps it for ever.
	InboundMaxAge, JourneyMaxAge time.Duration
}

// EnsureStreams creates or updates the enrollment, journey and audit streams. Both are file-backed and
// keep every message for their age limit (limits retention): an inbound event is the record of
// what careclock was told, a journey event the record of what it said.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, settings StreamSettings) error {
	for _, s := range []jetstream.StreamConfig{
		{Name: EnrollmentStream, Subjects: []string{EnrollmentSubjects}, MaxAge: settings.InboundMaxAge,
			Description: "Inbound enrollment, care-management and claims events, and their dead letters"},
		{Name: JourneyStream, Subjects: []string{JourneySubjects}, MaxAge: settings.JourneyMaxAge,
			Description: "Journey events published by careclock"},
		{Name: AuditStream, Subjects: []string{AuditSubjects}, MaxAge: settings.JourneyMaxAge, DenyDelete: true, DenyPurge: true,
			Description: "Every access to PHI through the front: who, which journey, when, from where (append only)"},
	} {
		s.Storage = jetstream.FileStorage
		s.Retention = jetstream.LimitsPolicy
		s.Replicas = settings.Replicas
		s.Duplicates = dedupWindow
		if _, err := js.CreateOrUpdateStream(ctx, s); err != nil {
			return fmt.Errorf("stream %s: %w", s.Name, err)
		}
	}
	return nil
}

// CheckStreams fails with a clear message when the streams careclock uses do not exist.
func CheckStreams(ctx context.Context, js jetstream.JetStream) error {
	for _, name := range []string{EnrollmentStream, JourneyStream} {
		if _, err := js.Stream(ctx, name); err != nil {
			return fmt.Errorf("stream %s: %w (create the streams with `starter setup`)", name, err)
		}
	}
	return nil
}

// ReadAll passes every message of stream on subjects (none: all), oldest first, to each, with an
// ordered consumer: what was there when it began. A consumer just made on a clustered stream
// may answer its first requests with no responder while it settles; those are asked again, for
// up to 5 s.
func ReadAll(ctx context.Context, js jetstream.JetStream, stream string, subjects []string, each func(jetstream.Msg) error) error {
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: subjects})
	if err != nil {
		return fmt.Errorf("consumer on %s: %w", stream, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("consumer on %s: %w", stream, err)
	}
	for range info.NumPending {
		msg, err := next(ctx, cons)
		if err != nil {
			return fmt.Errorf("reading %s: %w", stream, err)
		}
		if err := each(msg); err != nil {
			return err
		}
	}
	return nil
}

func next(ctx context.Context, cons jetstream.Consumer) (jetstream.Msg, error) {
	for try := 0; ; try++ {
		msg, err := cons.Next(jetstream.FetchContext(ctx))
		if !errors.Is(err, nats.ErrNoResponders) || try == 20 {
			return msg, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
