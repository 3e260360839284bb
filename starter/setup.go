package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/events"
)

// setup registers the Temporal namespace (when missing) and careclock's search attributes in
// it, and creates the NATS streams. It is idempotent; run it once per environment and after
// upgrades. With --wait it retries while Temporal or NATS are still starting, which is how a
// one-shot setup container runs next to them.
type setupCmd struct {
	Wait      time.Duration `help:"Keep retrying for this long while Temporal or NATS are not ready (e.g. 3m)."`
	Retention time.Duration `default:"720h" help:"How long Temporal keeps a closed journey's history, for a namespace setup creates."`
}

func (c setupCmd) Run(cfg *config.Config, st *streams) error {
	log := cfg.Logger("setup")
	cfg.WarnDevDefaults(config.ProcessSetup, log)
	ctx, cancel := context.WithTimeout(context.Background(), c.Wait+time.Minute)
	defer cancel()
	opts, err := connect.TemporalOptions(*cfg, log)
	if err != nil {
		return err
	}
	ns := namespaceOf(opts.Namespace)
	deadline := time.Now().Add(c.Wait)
	var tc client.Client
	err = retry(ctx, deadline, log, "temporal", func(ctx context.Context) (err error) {
		tc, err = connect.Dial(ctx, opts)
		return err
	})
	if err != nil {
		return err
	}
	defer tc.Close()
	err = retry(ctx, deadline, log, "namespace", func(ctx context.Context) error {
		created, err := connect.EnsureNamespace(ctx, tc, ns, c.Retention)
		if created {
			log.Info().Str("namespace", ns).Dur("retention", c.Retention).Msg("namespace registered")
		}
		return err
	})
	if err != nil {
		return err
	}
	// A new namespace reaches every Temporal service within seconds; until then adding search
	// attributes fails with namespace not found.
	err = retry(ctx, time.Now().Add(max(c.Wait, 30*time.Second)), log, "search attributes", func(ctx context.Context) error {
		return connect.EnsureSearchAttributes(ctx, tc, ns)
	})
	if err != nil {
		return err
	}
	var nc *nats.Conn
	var js jetstream.JetStream
	err = retry(ctx, deadline, log, "nats", func(context.Context) (err error) {
		nc, js, err = connect.NATS(*cfg, config.RoleAdmin, log)
		return err
	})
	if err != nil {
		return err
	}
	defer nc.Close()
	inbound, journey := cfg.Retention()
	settings := events.StreamSettings{Replicas: cfg.StreamReplicas, InboundMaxAge: inbound, JourneyMaxAge: journey}
	if err := ensureStreams(ctx, deadline, log, js, settings); err != nil {
		return err
	}
	fmt.Fprintf(st.out, "namespace %s, search attributes and streams (%d replicas; inbound events kept %d days, journey events %d) are in place\n",
		ns, cfg.StreamReplicas, cfg.InboundRetentionDays, cfg.JourneyRetentionDays)
	return nil
}

// ensureStreams creates or updates careclock's streams, retrying until deadline while the NATS
// cluster is not ready (a fresh cluster answers no stream request until it has a meta leader).
func ensureStreams(ctx context.Context, deadline time.Time, log zerolog.Logger, js jetstream.JetStream, settings events.StreamSettings) error {
	return retry(ctx, deadline, log, "streams", func(ctx context.Context) error { return events.EnsureStreams(ctx, js, settings) })
}

// attemptTimeout bounds one attempt of a setup step: a request that gets no answer (a NATS
// cluster without a meta leader yet) is given up and tried again, rather than waiting out the
// whole --wait.
const attemptTimeout = 10 * time.Second

// retry calls step, each attempt with its own attemptTimeout, until it succeeds or deadline
// passes, two seconds apart.
func retry(ctx context.Context, deadline time.Time, log zerolog.Logger, what string, step func(context.Context) error) error {
	for {
		attempt, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := step(attempt)
		cancel()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		log.Warn().Err(err).Str("step", what).Msg("not ready; retrying")
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

func namespaceOf(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}
