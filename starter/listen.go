package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
)

type listenCmd struct{}

// Run runs the enrollment listener until interrupted.
func (listenCmd) Run(cfg *config.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := connect.Start(ctx, *cfg, config.ProcessListener, config.RoleListener, cfg.Logger("listener"))
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := p.ServeMetrics(ctx, connect.MetricsListener); err != nil {
		return err
	}
	if _, err := p.ServeProfiles(ctx); err != nil {
		return err
	}
	return p.RunListener(ctx)
}
