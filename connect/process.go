package connect

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/careclock/careclock/activities"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/listener"
	"github.com/careclock/careclock/metrics"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// Process is what a careclock process runs on: its configuration, logger, metrics, Temporal
// client and NATS connection. The worker, `starter listen` and the dev stack's worker all make it
// with Start, and run journeys and the listener with NewWorker and NewListener.
type Process struct {
	Config   config.Config
	Log      zerolog.Logger
	Metrics  *metrics.Metrics
	Temporal client.Client
	NC       *nats.Conn
	JS       jetstream.JetStream

	// fatal is the error that stopped the process's worker, once one has (RunWorker).
	fatal atomic.Pointer[error]
}

// Start is careclock's start-up: it warns of the settings process (Needs' name; "" for the dev
// stack, which runs on its own defaults by design) was not given, dials Temporal with the payload keys (reporting to a new metrics registry), counts
// open journeys for careclock_journeys_open, connects to NATS as role and checks that the streams
// exist. On error, what was opened is closed.
func Start(ctx context.Context, cfg config.Config, process, role string, log zerolog.Logger) (p *Process, err error) {
	cfg.WarnDevDefaults(process, log)
	p = &Process{Config: cfg, Log: log, Metrics: metrics.New()}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.Temporal, err = Temporal(ctx, cfg, log, p.Metrics); err != nil {
		return nil, err
	}
	if err := CountOpenJourneys(p.Metrics, p.Temporal); err != nil {
		return nil, err
	}
	if p.NC, p.JS, err = NATS(cfg, role, log); err != nil {
		return nil, err
	}
	if err := events.CheckStreams(ctx, p.JS); err != nil {
		return nil, err
	}
	return p, nil
}

// ServeMetrics serves the process's /metrics and /healthz (Temporal and NATS answer) on
// CARECLOCK_METRICS_ADDR, else on def, until ctx ends.
func (p *Process) ServeMetrics(ctx context.Context, def string) (string, error) {
	return ServeMetrics(ctx, p.Config, p.Metrics, def, p.Log, TemporalHealthy(p.Temporal), NATSHealthy(p.NC), p.workerHealthy)
}

// ServeProfiles serves the process's Go runtime profiles on CARECLOCK_PPROF_ADDR until ctx ends
// (connect.ServeProfiles).
func (p *Process) ServeProfiles(ctx context.Context) (string, error) {
	return ServeProfiles(ctx, p.Config, p.Log)
}

// workerHealthy fails once the process's worker has stopped on a fatal error: its pollers are
// gone, so the process runs no journey, however well Temporal and NATS answer.
func (p *Process) workerHealthy(context.Context) error {
	if err := p.fatal.Load(); err != nil {
		return fmt.Errorf("worker stopped: %w", *err)
	}
	return nil
}

// Close closes the connections and the metrics registry.
func (p *Process) Close() {
	if p.NC != nil {
		p.NC.Close()
	}
	if p.Temporal != nil {
		p.Temporal.Close()
	}
	if err := p.Metrics.Close(); err != nil {
		p.Log.Warn().Err(err).Msg("close metrics")
	}
}

// NewWorker returns a worker of every journey and the publish activity on tc, publishing with
// js; opts are the worker's options (workflows.WorkerOptions, with the versions it prefers).
// The journeys' cache size is set first: it is the process's, so the first worker sets it.
func NewWorker(cfg config.Config, tc client.Client, js jetstream.JetStream, m *metrics.Metrics, opts worker.Options) worker.Worker {
	workflows.SetCacheSize(cfg.WorkflowCacheSize)
	return workflows.NewWorker(tc, cfg.TaskQueue, &activities.Activities{JS: js, Metrics: m}, opts)
}

// NewListener returns the enrollment listener with the configuration's settings.
func NewListener(cfg config.Config, tc client.Client, js jetstream.JetStream, keyer privacy.Keyer, policies rules.Book, log zerolog.Logger, m *metrics.Metrics) *listener.Listener {
	return &listener.Listener{
		Temporal: tc, JS: js, Keyer: keyer, Policies: policies, TaskQueue: cfg.TaskQueue, Consumer: cfg.Consumer, Log: log, Metrics: m,
		Concurrency: cfg.ListenerConcurrency, AckWait: cfg.ListenerAckWait, MaxAckPending: cfg.ListenerMaxAckPending,
		NotFoundAttempts: cfg.ListenerNotFoundAttempts, RetryDelay: cfg.ListenerRetryDelay,
		MaxEventBytes: cfg.MaxEventBytes, MaxIDLength: cfg.MaxIDLength, SkipDirectoryLookup: cfg.DirectoryLookup == "off",
	}
}

// WorkerOptions are careclock's worker settings (workflows.WorkerOptions) with the
// configuration's sticky timeout, where it sets one.
func WorkerOptions(cfg config.Config) worker.Options {
	o := workflows.WorkerOptions()
	if cfg.StickyTimeout > 0 {
		o.StickyScheduleToStartTimeout = cfg.StickyTimeout
	}
	return o
}

// RunWorker runs the journeys until ctx ends, or until the worker stops on a fatal error (its
// namespace gone, its credentials refused): then /healthz fails and RunWorker returns the error,
// so that the process exits non-zero and its supervisor restarts it, rather than idling healthy.
func (p *Process) RunWorker(ctx context.Context) error {
	return p.runWorker(ctx, func(opts worker.Options) startStopper {
		return NewWorker(p.Config, p.Temporal, p.JS, p.Metrics, opts)
	})
}

// startStopper is the part of a worker.Worker that RunWorker uses.
type startStopper interface {
	Start() error
	Stop()
}

func (p *Process) runWorker(ctx context.Context, newWorker func(worker.Options) startStopper) error {
	fatal := make(chan error, 1)
	opts := WorkerOptions(p.Config)
	opts.OnFatalError = func(err error) {
		p.fatal.Store(&err)
		select {
		case fatal <- err:
		default:
		}
	}
	w := newWorker(opts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	p.Log.Info().Str("task_queue", p.Config.TaskQueue).Msg("worker running")
	select {
	case <-ctx.Done():
		w.Stop()
		return nil
	case err := <-fatal:
		p.Log.Error().Err(err).Msg("worker stopped on a fatal error")
		return fmt.Errorf("worker stopped: %w", err)
	}
}

// RunListener runs the enrollment listener until ctx ends.
func (p *Process) RunListener(ctx context.Context) error {
	policies, err := p.Config.Policies()
	if err != nil {
		return err
	}
	keyer, err := p.Config.Keyer(false)
	if err != nil {
		return err
	}
	l := NewListener(p.Config, p.Temporal, p.JS, keyer, policies, p.Log, p.Metrics)
	if p.Config.SystemsFile != "" {
		systems, err := config.LoadSystems(p.Config.SystemsFile)
		if err != nil {
			return err
		}
		l.Allows = systems.Allows
	}
	err = l.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
