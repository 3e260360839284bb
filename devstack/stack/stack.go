package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/careclock/careclock/activities"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/listener"
	"github.com/careclock/careclock/metrics"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/workflows"
)

// Options configure the whole embedded stack.
type Options struct {
	Config config.Config
	Host   string
	// Ports; 0 picks a free one. UIPort -1 runs no UI.
	TemporalPort, UIPort, NATSPort int
	// Log overrides the logger made from Config.
	Log *zerolog.Logger
}

// Stack is careclock running in one process.
type Stack struct {
	Log      zerolog.Logger
	Temporal *Temporal
	NATS     *server.Server
	UI       *UI
	Client   client.Client
	NC       *nats.Conn
	JS       jetstream.JetStream
	Worker   worker.Worker
	// Keyer hashes business keys into workflow ids and member keys.
	Keyer privacy.Keyer
	// Metrics is the registry of the worker, the listener and their Temporal client.
	Metrics *metrics.Metrics

	uiURL          string
	stopListener   context.CancelFunc
	listenerResult chan error
}

// Start brings up NATS, Temporal, the UI, the streams and search attributes, the worker and the
// listener, in that order. On error, whatever was started is stopped.
func Start(ctx context.Context, o Options) (s *Stack, err error) {
	s = &Stack{listenerResult: make(chan error, 1), Metrics: metrics.New()}
	base := o.Config.Logger("")
	if o.Log != nil {
		base = *o.Log
	}
	s.Log = base.With().Str("component", "devstack").Logger()
	component := func(name string) zerolog.Logger { return base.With().Str("component", name).Logger() }
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Stop())
		}
	}()
	if s.Keyer, err = o.Config.Keyer(true); err != nil {
		return s, err
	}
	policy, err := o.Config.Policy()
	if err != nil {
		return s, err
	}
	natsPort := o.NATSPort
	if natsPort == 0 {
		natsPort = -1
	}
	if s.NATS, err = StartNATS(NATSConfig{StoreDir: filepath.Join(o.Config.DataDir, "jetstream"), Host: o.Host, Port: natsPort}, quieter(component("nats-server"))); err != nil {
		return s, err
	}
	o.Config.NATSURL = s.NATS.ClientURL()
	if s.Temporal, err = StartTemporal(TemporalConfig{
		DatabaseFile: filepath.Join(o.Config.DataDir, "temporal.db"), IP: o.Host, Port: o.TemporalPort,
	}, quieter(component("temporal-server"))); err != nil {
		return s, err
	}
	if o.UIPort >= 0 {
		port := o.UIPort
		if port == 0 {
			ports, err := freePorts(o.Host, 1)
			if err != nil {
				return s, err
			}
			port = ports[0]
		}
		if s.UI, err = StartUI(s.Temporal.HostPort(), o.Host, port, s.Temporal.Namespace(), component("temporal-ui")); err != nil {
			return s, err
		}
		s.uiURL = "http://" + net.JoinHostPort(o.Host, strconv.Itoa(port))
	}

	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s.Client, err = s.Temporal.WaitReady(readyCtx, client.Options{
		Logger: config.SDKLogger(component("temporal-sdk")), MetricsHandler: s.Metrics.SDK(),
	})
	if err != nil {
		return s, err
	}
	if err := config.CountOpenJourneys(s.Metrics, s.Client); err != nil {
		return s, err
	}
	if err := config.EnsureSearchAttributes(readyCtx, s.Client, s.Temporal.Namespace()); err != nil {
		return s, err
	}
	if s.NC, s.JS, err = o.Config.ConnectNATS("careclock-devstack", component("nats-client")); err != nil {
		return s, err
	}
	if err := config.EnsureStreams(readyCtx, s.JS, 1); err != nil {
		return s, err
	}

	s.Worker = workflows.NewWorker(s.Client, o.Config.TaskQueue, &activities.Activities{JS: s.JS, Metrics: s.Metrics}, worker.Options{})
	if err := s.Worker.Start(); err != nil {
		return s, fmt.Errorf("start worker: %w", err)
	}
	l := &listener.Listener{
		Temporal: s.Client, JS: s.JS, Keyer: s.Keyer, Policy: policy, TaskQueue: o.Config.TaskQueue,
		Consumer: o.Config.Consumer, Log: component("listener"), Metrics: s.Metrics,
	}
	lctx, stopListener := context.WithCancel(context.Background())
	s.stopListener = stopListener
	go func() { s.listenerResult <- l.Run(lctx) }()
	return s, nil
}

// UIURL is the Temporal UI's address ("" without a UI).
func (s *Stack) UIURL() string { return s.uiURL }

// NATSURL is the NATS client address.
func (s *Stack) NATSURL() string { return s.NATS.ClientURL() }

// Stop shuts everything down in the reverse order of Start.
func (s *Stack) Stop() error {
	var errs []error
	if s.stopListener != nil {
		s.stopListener()
		if err := <-s.listenerResult; err != nil {
			errs = append(errs, fmt.Errorf("listener: %w", err))
		}
	}
	if s.Worker != nil {
		s.Worker.Stop()
	}
	if s.NC != nil {
		s.NC.Close()
	}
	if s.Client != nil {
		s.Client.Close()
	}
	if s.UI != nil {
		s.UI.Stop()
	}
	if err := s.Metrics.Close(); err != nil {
		errs = append(errs, fmt.Errorf("metrics: %w", err))
	}
	if s.Temporal != nil {
		if err := s.Temporal.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("temporal: %w", err))
		}
	}
	if s.NATS != nil {
		s.NATS.Shutdown()
		s.NATS.WaitForShutdown()
	}
	return errors.Join(errs...)
}

// quieter raises the embedded servers' log level to warnings unless debug logging is on: their
// informational logs drown careclock's own.
func quieter(l zerolog.Logger) zerolog.Logger {
	if l.GetLevel() <= zerolog.DebugLevel {
		return l
	}
	return l.Level(zerolog.WarnLevel)
}
