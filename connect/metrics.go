package connect

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/metrics"
	"github.com/careclock/careclock/workflows"
)

// Default metrics addresses of each process (CARECLOCK_METRICS_ADDR overrides; "off" serves none).
const (
	MetricsWorker   = "127.0.0.1:9464"
	MetricsListener = "127.0.0.1:9465"
)

// ServeMetrics serves m's /metrics, and /healthz from checks, on CARECLOCK_METRICS_ADDR, or def
// when it is unset, until ctx ends. It returns the address served ("" when off).
func ServeMetrics(ctx context.Context, c config.Config, m *metrics.Metrics, def string, log zerolog.Logger, checks ...metrics.Check) (string, error) {
	addr := c.MetricsAddr
	if addr == "" {
		addr = def
	}
	if addr == "off" {
		return "", nil
	}
	served, err := m.Serve(ctx, addr, log, checks...)
	if err != nil {
		return "", fmt.Errorf("%w (set CARECLOCK_METRICS_ADDR to a free address, or off)", err)
	}
	log.Info().Str("addr", "http://"+served+"/metrics").Msg("metrics")
	return served, nil
}

// ServeProfiles serves Go's runtime profiles on CARECLOCK_PPROF_ADDR until ctx ends, unless it
// is off (the default). It returns the address served ("" when off).
func ServeProfiles(ctx context.Context, c config.Config, log zerolog.Logger) (string, error) {
	if c.PprofAddr == "off" || c.PprofAddr == "" {
		return "", nil
	}
	addr, err := metrics.ServeProfiles(ctx, c.PprofAddr, log)
	if err != nil {
		return "", fmt.Errorf("%w (set CARECLOCK_PPROF_ADDR to a free address, or off)", err)
	}
	log.Info().Str("addr", "http://"+addr+"/debug/pprof/").Msg("profiles")
	return addr, nil
}

// CountOpenJourneys adds careclock_journeys_open to m, counted in Temporal visibility.
func CountOpenJourneys(m *metrics.Metrics, tc client.Client) error {
	return m.CountOpen(workflows.Journeys, []string{workflows.StatusWaiting, workflows.StatusOverdue},
		func(ctx context.Context, journey, status string) (int64, error) {
			q, err := workflows.OpenQuery(journey, status)
			if err != nil {
				return 0, err
			}
			resp, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
			if err != nil {
				return 0, err
			}
			return resp.GetCount(), nil
		})
}

// TemporalHealthy checks that the Temporal frontend answers.
func TemporalHealthy(tc client.Client) metrics.Check {
	return func(ctx context.Context) error {
		if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("temporal: %w", err)
		}
		return nil
	}
}

// NATSHealthy checks that the NATS connection is up (it reconnects by itself; while it does, the
// process is not healthy).
func NATSHealthy(nc *nats.Conn) metrics.Check {
	return func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats: %s", nc.Status())
		}
		return nil
	}
}
