// Package metrics is careclock's Prometheus endpoint: the Temporal SDK's metrics and careclock's
// own. No label carries PHI: labels are event types, journey names, statuses and outcomes, each
// from a fixed set.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Metrics is one process's registry. A nil *Metrics records nothing, so code that counts
// works without it.
type Metrics struct {
	reg       *prometheus.Registry
	consumed  *prometheus.CounterVec
	published *prometheus.CounterVec
	late      *prometheus.CounterVec
	sdk       client.MetricsHandler
	closer    io.Closer
}

// New returns a registry with careclock's metrics, the Go runtime's and the process's, and a
// Temporal SDK metrics handler that reports into it (temporal_… metrics).
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.consumed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "careclock_events_consumed_total",
		Help: "Inbound events the listener settled, by event type and outcome (started, signalled, duplicate, dead_lettered, retried, no_effect, ignored).",
	}, []string{"type", "outcome"})
	m.published = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "careclock_journey_events_published_total",
		Help: "Journey events stored on the JOURNEYS stream, by event type; a retry JetStream drops as a duplicate is not counted.",
	}, []string{"type"})
	m.late = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "careclock_journey_events_late_total",
		Help: "Journey events published after their date (late: true), by event type.",
	}, []string{"type"})
	m.reg.MustRegister(m.consumed, m.published, m.late,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	reporter := tallyprom.NewReporter(tallyprom.Options{Registerer: m.reg})
	// The SDK's metric names carry their own temporal_ prefix.
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	m.sdk = sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope))
	m.closer = closer
	return m
}

// SDK is the handler for client.Options.MetricsHandler.
func (m *Metrics) SDK() client.MetricsHandler {
	if m == nil {
		return client.MetricsNopHandler
	}
	return m.sdk
}

// Consumed counts one inbound event settled by the listener.
func (m *Metrics) Consumed(eventType, outcome string) {
	if m != nil {
		m.consumed.WithLabelValues(eventType, outcome).Inc()
	}
}

// Published counts one journey event stored on the stream.
func (m *Metrics) Published(eventType string, late bool) {
	if m == nil {
		return
	}
	m.published.WithLabelValues(eventType).Inc()
	if late {
		m.late.WithLabelValues(eventType).Inc()
	}
}

// Counter counts the running journeys of a journey type with a status.
type Counter func(ctx context.Context, journey, status string) (int64, error)

// CountOpen adds careclock_journeys_open: at each scrape, count is asked for every journey ×
// status, within a few seconds. A failed count is reported to the scraper, the rest are served.
func (m *Metrics) CountOpen(journeys, statuses []string, count Counter) error {
	if m == nil {
		return nil
	}
	return m.reg.Register(&openCollector{journeys: journeys, statuses: statuses, count: count, desc: prometheus.NewDesc(
		"careclock_journeys_open",
		"Running journeys by journey and status (waiting, overdue), from Temporal visibility at scrape time.",
		[]string{"journey", "status"}, nil)})
}

type openCollector struct {
	journeys, statuses []string
	count              Counter
	desc               *prometheus.Desc
}

func (c *openCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *openCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, j := range c.journeys {
		for _, s := range c.statuses {
			n, err := c.count(ctx, j, s)
			if err != nil {
				ch <- prometheus.NewInvalidMetric(c.desc, fmt.Errorf("count %s journeys: %w", j, err))
				continue
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), j, s)
		}
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// Check is one health check: nil when what it checks is working.
type Check func(context.Context) error

// Serve serves /metrics, and /healthz from checks, on addr until ctx ends. It returns once it
// listens, with the address it listens on (addr may ask for port 0); errors after that are
// logged.
func (m *Metrics) Serve(ctx context.Context, addr string, log zerolog.Logger, checks ...Check) (string, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("GET /healthz", HealthHandler(checks...))
	return serve(ctx, addr, "metrics endpoint", mux, log)
}

// serve serves h on addr until ctx ends, and returns once it listens, with the address it
// listens on; what names the endpoint in errors and logs.
func serve(ctx context.Context, addr, what string, h http.Handler, log zerolog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s on %s: %w", what, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg(what + " stopped")
		}
	}()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil {
			log.Warn().Err(err).Msg(what + " shutdown")
		}
	}()
	return ln.Addr().String(), nil
}

// Close flushes and stops the SDK's metrics scope.
func (m *Metrics) Close() error {
	if m == nil {
		return nil
	}
	return m.closer.Close()
}

// HealthHandler answers 200 "ok" when every check passes within 5 seconds, else 503 with the
// first failure: what a container's health check or a load balancer asks.
func HealthHandler(checks ...Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		for _, check := range checks {
			if err := check(ctx); err != nil {
				http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = io.WriteString(w, "ok\n") // the client may be gone; nothing to do about it
	})
}
