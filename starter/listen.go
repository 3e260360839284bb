package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/listener"
	"github.com/careclock/careclock/metrics"
)

// listen runs the enrollment listener until interrupted.
func listen(args []string) error {
	if len(args) > 0 {
		return errors.New("listen takes no arguments")
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	log := cfg.Logger("listener")
	config.WarnDevDefaults(config.ProcessListener, log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	policy, err := cfg.Policy()
	if err != nil {
		return err
	}
	keyer, err := cfg.Keyer(false)
	if err != nil {
		return err
	}
	m := metrics.New()
	defer m.Close()
	tc, err := cfg.DialTemporal(ctx, log, m)
	if err != nil {
		return err
	}
	defer tc.Close()
	nc, js, err := cfg.ConnectNATS(config.RoleListener, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := config.CheckStreams(ctx, js); err != nil {
		return err
	}
	if _, err := cfg.ServeMetrics(ctx, m, config.MetricsListener, log, config.TemporalHealthy(tc), config.NATSHealthy(nc)); err != nil {
		return err
	}
	l := &listener.Listener{
		Temporal: tc, JS: js, Keyer: keyer, Policy: policy,
		TaskQueue: cfg.TaskQueue, Consumer: cfg.Consumer, Log: log, Metrics: m,
	}
	return l.Run(ctx)
}
