// Command devstack runs all of careclock in one process for a laptop: an in-process Temporal
// server on a SQLite file with its UI, an in-process NATS server with JetStream, the worker and
// the enrollment listener. Everything it keeps lives in the data directory, so a restart picks
// every journey up where it was.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/workflows"
)

// commandLine is careclock's settings and the dev stack's own.
type commandLine struct {
	config.Config `embed:""`
	Listen        listenFlags `embed:""`
	Store         storeFlags  `embed:""`
}

// listenFlags say where the dev stack listens.
type listenFlags struct {
	Host         string `default:"127.0.0.1" env:"CARECLOCK_DEVSTACK_HOST" group:"Dev stack" help:"Address every server listens on."`
	TemporalPort int    `default:"7233" env:"CARECLOCK_DEVSTACK_TEMPORAL_PORT" group:"Dev stack" help:"Temporal frontend port."`
	UIPort       int    `name:"ui-port" default:"8233" env:"CARECLOCK_DEVSTACK_UI_PORT" group:"Dev stack" help:"Temporal UI port."`
	NATSPort     int    `name:"nats-port" default:"4222" env:"CARECLOCK_DEVSTACK_NATS_PORT" group:"Dev stack" help:"NATS port."`
}

// storeFlags say how it keeps its data and serves NATS.
type storeFlags struct {
	SQLiteSynchronous string `name:"sqlite-synchronous" default:"NORMAL" enum:"NORMAL,FULL" env:"CARECLOCK_DEVSTACK_SQLITE_SYNCHRONOUS" group:"Dev stack" help:"FULL fsyncs every Temporal commit (survives a power loss; timer storms much slower: docs/performance.md)."`
	NATSTLSCert       string `name:"nats-tls-cert" placeholder:"FILE" env:"CARECLOCK_DEVSTACK_NATS_TLS_CERT" group:"Dev stack" help:"Serve NATS over TLS with this certificate (clients then need NATS_CA_FILE)."`
	NATSTLSKey        string `name:"nats-tls-key" placeholder:"FILE" env:"CARECLOCK_DEVSTACK_NATS_TLS_KEY" group:"Dev stack" help:"The key of --nats-tls-cert."`
}

func main() {
	var cli commandLine
	config.Parse(&cli, "devstack", "Runs all of careclock in one process for a laptop: Temporal on SQLite with its UI, NATS with JetStream, the worker and the listener, keeping everything in the data directory. Every flag is also an environment variable, shown beside it.")
	if err := run(cli); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run(cli commandLine) error {
	l, st := cli.Listen, cli.Store
	if (st.NATSTLSCert == "") != (st.NATSTLSKey == "") {
		return errors.New("--nats-tls-cert and --nats-tls-key go together")
	}
	cfg := cli.Config
	opts := stack.Options{
		Config: cfg, Host: l.Host, TemporalPort: l.TemporalPort, UIPort: l.UIPort, NATSPort: l.NATSPort,
		SQLiteSynchronous: st.SQLiteSynchronous, NATSTLSCert: st.NATSTLSCert, NATSTLSKey: st.NATSTLSKey,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := stack.Start(ctx, opts)
	if err != nil {
		return err
	}
	metricsAddr, err := connect.ServeMetrics(ctx, cfg, s.Metrics, connect.MetricsWorker, s.Log, connect.TemporalHealthy(s.Client), connect.NATSHealthy(s.NC))
	if err != nil {
		return errors.Join(err, s.Stop())
	}
	if _, err := connect.ServeProfiles(ctx, cfg, s.Log); err != nil {
		return errors.Join(err, s.Stop())
	}
	s.Log.Info().
		Str("temporal", s.Temporal.HostPort()).
		Str("ui", s.UIURL()).
		Str("ui_password", s.UIPasswordFile).
		Str("overdue", s.UIURL()+"/namespaces/"+s.Temporal.Namespace()+"/workflows?query="+url.QueryEscape(
			workflows.AttrStatus.GetName()+"='"+workflows.StatusOverdue+"'")).
		Str("nats", s.NATSURL()).
		Str("metrics", metricsAddr).
		Str("data", cfg.DataDir).
		Msg("careclock is running; Ctrl-C stops it")
	<-ctx.Done()
	s.Log.Info().Msg("stopping")
	return s.Stop()
}
