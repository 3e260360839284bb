// Command worker runs careclock's journeys: a Temporal worker with every journey workflow and the
// activity that publishes journey events to NATS. Run as many as the load needs.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/careclock/careclock/activities"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/metrics"
	"github.com/careclock/careclock/workflows"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	log := cfg.Logger("worker")
	config.WarnDevDefaults(config.ProcessWorker, log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := metrics.New()
	defer m.Close()
	tc, err := cfg.DialTemporal(ctx, log, m)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := config.CountOpenJourneys(m, tc); err != nil {
		return err
	}
	nc, js, err := cfg.ConnectNATS(config.RoleWorker, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := config.CheckStreams(ctx, js); err != nil {
		return err
	}
	if _, err := cfg.ServeMetrics(ctx, m, config.MetricsWorker, log, config.TemporalHealthy(tc), config.NATSHealthy(nc)); err != nil {
		return err
	}

	workflows.SetCacheSize(cfg.WorkflowCacheSize)
	w := workflows.NewWorker(tc, cfg.TaskQueue, &activities.Activities{JS: js, Metrics: m}, workflows.WorkerOptions())
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	log.Info().Str("task_queue", cfg.TaskQueue).Msg("worker running")
	<-ctx.Done()
	w.Stop()
	return nil
}
