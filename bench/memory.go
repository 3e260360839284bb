package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// memory runs careclock's worker as a process of its own, built from ./worker and configured
// through its environment as in production, in place of the stack's in-process worker. It opens
// journeys in three steps up to 1.5 × b.open (claims submitted today, each waiting 60 days), and
// after each step, once the worker has run every journey's first task, reads the worker's
// resident set size (/proc) and Go heap in use (its metrics).
func (b *bench) memory(ctx context.Context) (err error) {
	w, err := b.startWorkerProcess()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, w.stop()) }()
	addr := w.addr

	policy := rules.DefaultPolicy()
	today := policy.Today(time.Now())
	opened := 0
	for step := 1; step <= 3; step++ {
		upTo := b.open * step / 2
		took, err := b.inFlight(upTo-opened, func(i int) error { return b.openJourney(ctx, opened+i, today, policy) })
		if err != nil {
			return fmt.Errorf("open journeys %d to %d: %w", opened, upTo, err)
		}
		b.log.Info().Int("open", upTo).Dur("took", took).Msg("journeys started; waiting for the worker to run them")
		if err := b.waitFirstTasks(ctx, addr, upTo, time.Minute+time.Duration(upTo)*20*time.Millisecond); err != nil {
			return err
		}
		opened = upTo
		r, err := w.memoryReading(fmt.Sprintf("worker RSS, %d open journeys", upTo), upTo)
		if err != nil {
			return err
		}
		b.add(r)
	}
	return nil
}

// workerProcess is careclock's worker run as a process of its own, in place of the stack's
// in-process worker, with its metrics at addr.
type workerProcess struct {
	cmd  *exec.Cmd
	addr string
	// pprof serves the worker's Go profiles (CARECLOCK_PPROF_ADDR), with -worker-profiles.
	pprof string
	logs  *os.File
	b     *bench
}

// saveHeap writes the worker's heap profile, at n open journeys, into -worker-profiles' folder
// (nothing without it), and says where.
func (w *workerProcess) saveHeap(n int) (string, error) {
	if w.pprof == "" {
		return "", nil
	}
	resp, err := http.Get("http://" + w.pprof + "/debug/pprof/heap?gc=1")
	if err != nil {
		return "", fmt.Errorf("worker heap profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("worker heap profile: %s", resp.Status)
	}
	path := filepath.Join(w.b.workerProfiles, fmt.Sprintf("worker-heap-%d.pb.gz", n))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		return "", errors.Join(err, f.Close())
	}
	return path, f.Close()
}

// memoryReading is the worker's resident set and heap at n open journeys, with its heap profile
// saved where -worker-profiles asks.
func (w *workerProcess) memoryReading(scenario string, n int) (Result, error) {
	rss, err := residentBytes(w.cmd.Process.Pid)
	if err != nil {
		return Result{}, err
	}
	m, err := scrape(w.addr)
	if err != nil {
		return Result{}, err
	}
	note := heapNote(m)
	path, err := w.saveHeap(n)
	if err != nil {
		return Result{}, err
	}
	if path != "" {
		note += "; heap profile " + path
	}
	return Result{Scenario: scenario, N: n, Value: float64(rss) / 1e6, Unit: "MB", Note: note}, nil
}

// startWorkerProcess runs the worker built from ./worker, configured through its environment as in
// production (with the Temporal client certificate of bench's own environment, on the topology).
func (b *bench) startWorkerProcess() (*workerProcess, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logs, err := os.CreateTemp("", "careclock-bench-worker-*.log")
	if err != nil {
		return nil, err
	}
	w := exec.Command(b.workerBin)
	temporal, namespace := b.temporalAddr, b.namespace
	if b.s.Temporal != nil {
		temporal, namespace = b.s.Temporal.HostPort(), b.s.Temporal.Namespace()
	}
	w.Env = append(os.Environ(),
		"TEMPORAL_ADDRESS="+temporal, "TEMPORAL_NAMESPACE="+namespace,
		"NATS_URL="+b.s.NATSURL(), "NATS_NKEY_SEED_FILE="+b.s.NKeySeedFile(config.RoleWorker),
		"CARECLOCK_DATA_DIR="+b.s.DataDir(), "CARECLOCK_TASK_QUEUE="+journeyQueue,
		"CARECLOCK_METRICS_ADDR="+addr, "LOG_LEVEL=warn", "LOG_FORMAT=json")
	if ca := b.natsCA; ca != "" {
		w.Env = append(w.Env, "NATS_CA_FILE="+ca)
	}
	var pprofAddr string
	if b.workerProfiles != "" {
		if pprofAddr, err = freeAddr(); err != nil {
			return nil, errors.Join(err, logs.Close())
		}
		w.Env = append(w.Env, "CARECLOCK_PPROF_ADDR="+pprofAddr)
	}
	w.Stdout, w.Stderr = logs, logs
	// A bench stopped by a signal does not leave its worker running.
	w.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	b.s.StopWorker()
	if err := w.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("start the worker: %w", err), logs.Close(), b.s.StartWorker())
	}
	return &workerProcess{cmd: w, addr: addr, pprof: pprofAddr, logs: logs, b: b}, nil
}

// stop stops the worker process and starts the stack's own worker again.
func (w *workerProcess) stop() error {
	_ = w.cmd.Process.Signal(syscall.SIGTERM) // it may have exited; Wait reports how
	var err error
	if werr := w.cmd.Wait(); werr != nil {
		err = fmt.Errorf("worker exited: %w (see %s)", werr, w.logs.Name())
	}
	return errors.Join(err, w.logs.Close(), w.b.s.StartWorker())
}

// openJourney starts the reimbursement journey of claim i as the listener would: the same
// decoding, routing, workflow id and options, without NATS in between.
func (b *bench) openJourney(ctx context.Context, i int, today rules.Date, p rules.Policy) error {
	raw, err := claimEvent(fmt.Sprintf("open-%d", i), today)
	if err != nil {
		return err
	}
	ev, payload, err := events.Decode(raw, today)
	if err != nil {
		return err
	}
	route, err := workflows.RouteEvent(ev, payload, b.s.Keyer, rules.BookOf(p, rules.Date{}))
	if err != nil {
		return err
	}
	for _, s := range route.Starts {
		if _, err := b.s.Client.ExecuteWorkflow(ctx, workflows.StartOptions(s, journeyQueue, time.Now()), s.Journey, s.Input); err != nil {
			return err
		}
	}
	return nil
}

// waitFirstTasks waits until the worker has completed n workflow tasks: each open journey's
// first, which plans it and sets its timer.
func (b *bench) waitFirstTasks(ctx context.Context, addr string, n int, within time.Duration) error {
	for deadline := time.Now().Add(within); ; time.Sleep(time.Second) {
		m, err := scrape(addr)
		if err != nil {
			return err
		}
		done := m["temporal_workflow_task_execution_latency_seconds_count"]
		if done >= float64(n) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			var names []string
			for k := range m {
				if strings.Contains(k, "workflow_task") {
					names = append(names, k)
				}
			}
			return fmt.Errorf("the worker ran %.0f of %d journeys' first tasks in %s (%v)", done, n, within, names)
		}
	}
}

// heapNote is a worker RSS result's note, from the worker's scraped metrics: its Go heap in use
// and how many journeys its cache holds.
func heapNote(m map[string]float64) string {
	return fmt.Sprintf("Go heap in use %.0f MB; sticky cache %.0f workflows", m["go_memstats_heap_inuse_bytes"]/1e6, m["temporal_sticky_cache_size_max"])
}

// scrape reads a Prometheus text endpoint with Prometheus's own parser and sums each metric's
// series by name: a counter's or gauge's value under its name, a histogram's or summary's count
// and sum under name_count and name_sum, as the text format names them. A gauge's largest series
// is under name_max too: the SDK reports its one journey cache's size once per workflow type,
// so the sum of temporal_sticky_cache_size counts the cache as often as there are types.
func scrape(addr string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("worker metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("worker metrics: %s", resp.Status)
	}
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("worker metrics: %w", err)
	}
	return sumFamilies(families), nil
}

// sumFamilies sums each family's series.
func sumFamilies(families map[string]*dto.MetricFamily) map[string]float64 {
	sums := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				sums[name] += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				v := m.GetGauge().GetValue()
				sums[name] += v
				if top, ok := sums[name+"_max"]; !ok || v > top {
					sums[name+"_max"] = v
				}
			case m.GetUntyped() != nil:
				sums[name] += m.GetUntyped().GetValue()
			case m.GetHistogram() != nil:
				sums[name+"_count"] += float64(m.GetHistogram().GetSampleCount())
				sums[name+"_sum"] += m.GetHistogram().GetSampleSum()
			case m.GetSummary() != nil:
				sums[name+"_count"] += float64(m.GetSummary().GetSampleCount())
				sums[name+"_sum"] += m.GetSummary().GetSampleSum()
			}
		}
	}
	return sums
}

// buildWorker builds ./worker into dir and returns the program's path.
func buildWorker(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "worker")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./worker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build ./worker (run bench from the repository root): %w", err)
	}
	return bin, nil
}

// residentBytes is a process's resident set size, from /proc (Linux).
func residentBytes(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("worker RSS (Linux only): %w", err)
	}
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// freeAddr is a loopback address with a port free now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
