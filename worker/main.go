// Command worker runs careclock's journeys: a Temporal worker with every journey workflow and the
// activity that publishes journey events to NATS. Run as many as the load needs.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
)

type commandLine struct {
	config.Config `embed:""`
}

func main() {
	var cli commandLine
	config.Parse(&cli, "worker", "Runs careclock's journeys: a Temporal worker of every journey and the activity that publishes journey events to NATS. Every flag is also an environment variable, shown beside it.")
	if err := run(cli.Config); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(cfg config.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := connect.Start(ctx, cfg, config.ProcessWorker, config.RoleWorker, cfg.Logger("worker"))
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := p.ServeMetrics(ctx, connect.MetricsWorker); err != nil {
		return err
	}
	if _, err := p.ServeProfiles(ctx); err != nil {
		return err
	}
	return p.RunWorker(ctx)
}
