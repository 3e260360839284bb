package connect

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/rs/zerolog"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/listener"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// The listener's defaults for a zero field and config's declared defaults are the same numbers.
func TestListenerDefaultsAgree(t *testing.T) {
	for _, v := range []string{"CARECLOCK_LISTENER_CONCURRENCY", "CARECLOCK_LISTENER_ACK_WAIT", "CARECLOCK_LISTENER_MAX_ACK_PENDING",
		"CARECLOCK_LISTENER_NOT_FOUND_ATTEMPTS", "CARECLOCK_LISTENER_RETRY_DELAY", "CARECLOCK_MAX_EVENT_BYTES", "CARECLOCK_MAX_ID_LENGTH", "CARECLOCK_DIRECTORY_LOOKUP"} {
		t.Setenv(v, "")
	}
	cfg, err := config.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	got := NewListener(cfg, nil, nil, privacy.Keyer{}, rules.DefaultBook(), zerolog.Nop(), nil)
	if got.Concurrency != listener.DefaultConcurrency || got.AckWait != listener.DefaultAckWait || got.MaxAckPending != listener.DefaultMaxAckPending ||
		got.NotFoundAttempts != listener.DefaultNotFoundAttempts || got.RetryDelay != listener.DefaultRetryDelay ||
		got.MaxEventBytes != listener.DefaultMaxEventBytes || got.MaxIDLength != listener.DefaultMaxIDLength || got.SkipDirectoryLookup {
		t.Fatalf("config's defaults: concurrency %d, ack wait %s, max ack pending %d, not found attempts %d, retry delay %s, max event bytes %d, max id length %d",
			got.Concurrency, got.AckWait, got.MaxAckPending, got.NotFoundAttempts, got.RetryDelay, got.MaxEventBytes, got.MaxIDLength)
	}
	t.Setenv("CARECLOCK_LISTENER_CONCURRENCY", "4")
	if cfg, err = config.FromEnv(); err != nil {
		t.Fatal(err)
	}
	if got := NewListener(cfg, nil, nil, privacy.Keyer{}, rules.DefaultBook(), zerolog.Nop(), nil); got.Concurrency != 4 {
		t.Fatalf("concurrency %d", got.Concurrency)
	}
}

// fatalWorker stands for a worker whose pollers stop on a fatal error once started, as the SDK's
// do when the namespace is deleted or the credentials are refused.
type fatalWorker struct{ opts worker.Options }

func (w fatalWorker) Start() error {
	go w.opts.OnFatalError(errors.New("namespace careclock is not found"))
	return nil
}
func (fatalWorker) Stop() {}

// A worker stopped by a fatal error fails the process's health check and ends RunWorker with
// the error, so that the process exits non-zero instead of idling healthy.
func TestAFatalWorkerErrorFailsHealthAndStopsTheProcess(t *testing.T) {
	p := &Process{Log: zerolog.Nop()}
	if err := p.workerHealthy(context.Background()); err != nil {
		t.Fatalf("before the worker runs: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		done <- p.runWorker(context.Background(), func(opts worker.Options) startStopper { return fatalWorker{opts} })
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "namespace careclock is not found") {
			t.Fatalf("RunWorker: %v, want the fatal error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunWorker still running after its worker stopped")
	}
	if err := p.workerHealthy(context.Background()); err == nil || !strings.Contains(err.Error(), "worker stopped") {
		t.Fatalf("health after the fatal error: %v, want it failing", err)
	}
}

// Stopped by its context, RunWorker returns nil and the process stays healthy.
func TestAStoppedWorkerIsNoFailure(t *testing.T) {
	p := &Process{Log: zerolog.Nop()}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.runWorker(ctx, func(opts worker.Options) startStopper { return idleWorker{} }); err != nil {
		t.Fatal(err)
	}
	if err := p.workerHealthy(ctx); err != nil {
		t.Fatal(err)
	}
}

type idleWorker struct{}

func (idleWorker) Start() error { return nil }
func (idleWorker) Stop()        {}

// The worker process runs with the configured sticky timeout, and with workflows.WorkerOptions'
// 30 s by default.
func TestTheWorkerTakesTheStickyTimeout(t *testing.T) {
	t.Setenv("CARECLOCK_STICKY_TIMEOUT", "")
	cfg, err := config.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set  time.Duration
		want time.Duration
	}{{cfg.StickyTimeout, 30 * time.Second}, {5 * time.Minute, 5 * time.Minute}, {0, 30 * time.Second}} {
		cfg.StickyTimeout = c.set
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var got worker.Options
		p := &Process{Config: cfg, Log: zerolog.Nop()}
		if err := p.runWorker(ctx, func(opts worker.Options) startStopper { got = opts; return idleWorker{} }); err != nil {
			t.Fatal(err)
		}
		if got.StickyScheduleToStartTimeout != c.want || got.MaxConcurrentWorkflowTaskPollers != 8 {
			t.Errorf("configured %s: the worker ran with a sticky timeout of %s and %d pollers, want %s and 8",
				c.set, got.StickyScheduleToStartTimeout, got.MaxConcurrentWorkflowTaskPollers, c.want)
		}
	}
}

// Profiles are served only where CARECLOCK_PPROF_ADDR asks, and off by default.
func TestProfilesOnlyWhenAsked(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t.Setenv("CARECLOCK_PPROF_ADDR", "")
	cfg, err := config.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{Config: cfg, Log: zerolog.Nop()}
	if addr, err := p.ServeProfiles(ctx); addr != "" || err != nil {
		t.Fatalf("by default: served on %q (%v), want none", addr, err)
	}
	p.Config.PprofAddr = "127.0.0.1:0"
	addr, err := p.ServeProfiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("heap profile: %s", resp.Status)
	}
	p.Config.PprofAddr = addr // taken
	if _, err := p.ServeProfiles(ctx); err == nil || !strings.Contains(err.Error(), "CARECLOCK_PPROF_ADDR") {
		t.Fatalf("on a taken address: %v, want the variable named", err)
	}
}
