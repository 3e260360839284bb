// Command devstack runs all of careclock in one process for a laptop: an in-process Temporal
// server on a SQLite file with its UI, an in-process NATS server with JetStream, the worker and
// the enrollment listener. Everything it keeps lives in the data directory, so a restart picks
// every journey up where it was.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/workflows"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	opts := stack.Options{}
	flag.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory (SQLite, JetStream store, HMAC key)")
	flag.StringVar(&opts.Host, "host", "127.0.0.1", "address every server listens on")
	flag.IntVar(&opts.TemporalPort, "temporal-port", 7233, "Temporal frontend port")
	flag.IntVar(&opts.UIPort, "ui-port", 8233, "Temporal UI port")
	flag.IntVar(&opts.NATSPort, "nats-port", 4222, "NATS port")
	flag.StringVar(&opts.SQLiteSynchronous, "sqlite-synchronous", "NORMAL", "FULL fsyncs every Temporal commit (survives a power loss; timer storms about 5x slower)")
	flag.StringVar(&opts.NATSTLSCert, "nats-tls-cert", "", "serve NATS over TLS with this certificate (clients then need NATS_CA_FILE)")
	flag.StringVar(&opts.NATSTLSKey, "nats-tls-key", "", "the key of --nats-tls-cert")
	flag.StringVar(&cfg.MetricsAddr, "metrics", cmp.Or(cfg.MetricsAddr, config.MetricsWorker), "Prometheus endpoint of the worker and listener (off: none)")
	flag.Parse()
	if os.Getenv("CARECLOCK_HMAC_KEY_FILE") == "" {
		cfg.HMACKeyFile = filepath.Join(cfg.DataDir, "hmac.key")
	}
	if os.Getenv("CARECLOCK_CODEC_KEYS_FILE") == "" {
		cfg.CodecKeysFile = filepath.Join(cfg.DataDir, "codec.keys")
	}
	opts.Config = cfg

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := stack.Start(ctx, opts)
	if err != nil {
		return err
	}
	metricsAddr, err := cfg.ServeMetrics(ctx, s.Metrics, config.MetricsWorker, s.Log, config.TemporalHealthy(s.Client), config.NATSHealthy(s.NC))
	if err != nil {
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
	return s.Stop()
}
