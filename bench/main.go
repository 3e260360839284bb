// Command bench measures careclock against bare Temporal on the in-process stack, in one process
// and one run, and reports ratios measured side by side (the machine is shared and noisy, so
// only ratios from the same run mean anything):
//
//   - starts: N bare workflows started through the SDK, C in flight → starts/s
//   - ingest: after a warm-up, -rounds rounds of N bare starts, N bare starts with a journey's
//     search attributes and summary, and N inbound events already in the stream taken in when
//     the listener starts → journeys started/s; the ratios to both kinds of starts are taken
//     pair by pair (median and spread)
//   - storm: -rounds rounds of N bare workflows, each with a timer to one instant T and one
//     no-op activity → completions/s after T, then N journeys, each with a notice due at one
//     instant → journey events on NATS/s after it; the ratio is taken pair by pair
//   - cost: history events and actions per journey type for a full life (the recorded histories),
//     and database bytes per open journey
//
// Results print as a table and are written as JSON under -out.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/common/dynamicconfig"

	"github.com/careclock/careclock/access"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Result is one measurement.
type Result struct {
	Scenario string  `json:"scenario"`
	N        int     `json:"n"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	// Ratio compares Value with another scenario of the same run (RatioTo).
	Ratio   float64 `json:"ratio,omitempty"`
	RatioTo string  `json:"ratioTo,omitempty"`
	Note    string  `json:"note,omitempty"`
}

type bench struct {
	s *stack.Stack
	// suffix marks the results of the stock server's run.
	suffix     string
	sync       string
	conns      int
	eager      bool
	natsNoSync bool
	n          int
	rounds     int
	storm      int
	spread     int
	open       int
	c          int
	// stormsRun counts the careclock storms run, to give each its own claims; rawStorms the
	// raw ones, to give each its own workflow ids.
	stormsRun int
	rawStorms int
	// pgData is PostgreSQL's data folder on the production topology; "" on the dev stack.
	pgData string
	// external marks a run against servers that are not the dev stack's.
	external bool
	// workerBin is careclock's worker, built before the first scenario when memory or scale runs.
	workerBin string
	// temporalAddr, namespace and natsCA are the external servers' (empty on the dev stack).
	temporalAddr, namespace, natsCA string
	// scale is the open items the scale scenario imports.
	scale int
	results   []Result
	log       zerolog.Logger
}

func run() error {
	n := flag.Int("n", 1000, "workflows for starts and ingest")
	storm := flag.Int("storm", 1000, "timers, then journeys, due at one instant in the storms")
	c := flag.Int("c", 32, "starts in flight")
	rounds := flag.Int("rounds", 3, "rounds of the paired measurements (ingest with the starts, careclock's storm with the raw one), after a warm-up")
	open := flag.Int("open", 10000, "open journeys the memory scenario measures the worker at (then at half and 1.5 times that)")
	spread := flag.Int("spread", 1, "minutes the spread storm's notices are spread over (0: no spread storm)")
	out := flag.String("out", filepath.Join("bench", "results"), "folder for the JSON results")
	only := flag.String("scenarios", "starts,ingest,storm,memory,cost", "comma-separated scenarios to run: starts, ingest, storm, memory, cost, scale (scale runs before storm, so that the storms run with its journeys open)")
	scale := flag.Int("scale", 100000, "open items the scale scenario imports (docs/performance.md, At scale)")
	stock := flag.Bool("stock", true, "run the storms on the stock in-process server too, for the tuned ÷ stock ratio")
	withTLS := flag.Bool("tls", false, "run ingest and storm again on a dev stack whose NATS serves TLS and whose Temporal frontend serves mutual TLS (the production topology's certificates, from a CA of the run's own), for what TLS costs (TLS ÷ plain)")
	natsSync := flag.Bool("nats-sync", true, "JetStream fsyncs every write (false: to see what that costs; never for real data)")
	sync := flag.String("sqlite-synchronous", "NORMAL", "the tuned server's SQLite synchronous setting: NORMAL (the dev stack's default) or FULL")
	conns := flag.Int("sqlite-conns", 1, "the tuned server's SQLite connections (the dev stack's default is 1)")
	eager := flag.Bool("eager", false, "the tuned server hands a workflow's activity to its worker in the reply to the workflow task (system.enableActivityEagerExecution)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (server, worker, listener and bench) to this file")
	var x external
	flag.BoolVar(&x.topology, "topology", false, "measure the production topology (docker-compose.yml) run as processes: PostgreSQL (Debian's package), the Temporal server, 3 NATS nodes; bench's own worker and listener")
	flag.StringVar(&x.temporal, "temporal", "", "measure a running Temporal frontend (host:port) instead of the dev stack; with -nats and -secrets, and its client certificate in TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH (the admin role's: docs/security.md)")
	flag.StringVar(&x.namespace, "namespace", "careclock", "the Temporal namespace, with -temporal")
	flag.StringVar(&x.nats, "nats", "", "the NATS URLs (comma-separated), with -temporal")
	flag.StringVar(&x.secrets, "secrets", "", "the folder starter secrets wrote (keys and NATS seeds), with -temporal")
	flag.IntVar(&x.replicas, "replicas", 3, "the streams' replicas, with -temporal")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	want := strings.Split(*only, ",")
	for _, w := range want {
		if !slices.Contains([]string{"starts", "ingest", "storm", "memory", "cost", "scale"}, w) {
			return fmt.Errorf("unknown scenario %q", w)
		}
	}

	if err := x.validate(want); err != nil {
		return err
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	if *rounds < 1 {
		return fmt.Errorf("-rounds %d: want at least 1", *rounds)
	}
	if *scale < 1 {
		return fmt.Errorf("-scale %d: want at least 1", *scale)
	}
	b := &bench{rounds: *rounds, n: *n, storm: *storm, spread: *spread, open: *open, c: *c, log: log, sync: *sync, conns: *conns, eager: *eager, natsNoSync: !*natsSync, scale: *scale}
	ctx := context.Background()
	if slices.Contains(want, "memory") || slices.Contains(want, "scale") {
		// Built first, so that a tree that does not build stops the run before it measures
		// anything, not half an hour in.
		dir, err := os.MkdirTemp("", "careclock-bench-worker-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if b.workerBin, err = buildWorker(ctx, dir); err != nil {
			return err
		}
	}
	tuned := func(s *stack.Stack) error {
		b.s = s
		for _, sc := range []struct {
			name string
			run  func(context.Context) error
		}{{"starts", b.starts}, {"ingest", b.ingest}, {"scale", b.scaleRun}, {"storm", b.storms}, {"memory", b.memory}, {"cost", b.cost}} {
			if !slices.Contains(want, sc.name) {
				continue
			}
			log.Info().Str("scenario", sc.name).Msg("running")
			if err := sc.run(ctx); err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
		}
		return nil
	}
	if x.set() {
		b.external = true
		if err := b.withExternal(ctx, x, tuned); err != nil {
			return err
		}
	} else if err := b.withStack(ctx, false, false, tuned); err != nil {
		return err
	}
	if slices.Contains(want, "storm") && *stock && !x.set() {
		b.suffix = stockSuffix
		err := b.withStack(ctx, true, false, func(s *stack.Stack) error {
			b.s = s
			log.Info().Str("scenario", "storm on the stock server").Msg("running")
			return b.storms(ctx)
		})
		if err != nil {
			return fmt.Errorf("stock storm: %w", err)
		}
		b.suffix = ""
		b.compare("raw storm", "raw storm (stock)")
		b.compare("careclock storm", "careclock storm (stock)")
	}
	if *withTLS && !x.set() {
		b.suffix = tlsSuffix
		err := b.withStack(ctx, false, true, func(s *stack.Stack) error {
			b.s = s
			for _, sc := range []struct {
				name string
				run  func(context.Context) error
			}{{"ingest", b.ingest}, {"storm", b.storms}} {
				if slices.Contains(want, sc.name) {
					log.Info().Str("scenario", sc.name+tlsSuffix).Msg("running")
					if err := sc.run(ctx); err != nil {
						return fmt.Errorf("%s: %w", sc.name, err)
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		b.suffix = ""
		b.versus("TLS ÷ plain: ingest", "ingest"+tlsSuffix, "ingest")
		b.versus("TLS ÷ plain: careclock storm", "careclock storm"+tlsSuffix, "careclock storm")
		b.versus("TLS ÷ plain: bare starts", "starts (paired)"+tlsSuffix, "starts (paired)")
		b.versus("TLS ÷ plain: raw storm", "raw storm"+tlsSuffix, "raw storm")
	}
	b.ratio("spread storm: lateness p99", "careclock storm #1: lateness p99")
	b.print(os.Stdout)
	return b.save(*out)
}

// The suffixes of the scenarios run again on the stock server and with NATS TLS.
const (
	stockSuffix = " (stock)"
	tlsSuffix   = " (TLS)"
)

// withStack runs fn against a fresh in-process stack in a temporary directory: the dev stack's
// tuned Temporal server, or with stock the in-process defaults.
func (b *bench) withStack(ctx context.Context, stock, withTLS bool, fn func(*stack.Stack) error) (err error) {
	dir, err := os.MkdirTemp("", "careclock-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	quiet := b.log.Level(zerolog.ErrorLevel)
	cfg := baseConfig(dir)
	var dc dynamicconfig.StaticClient
	if b.eager && !stock {
		dc = dynamicconfig.StaticClient{dynamicconfig.EnableActivityEagerExecution.Key(): []dynamicconfig.ConstrainedValue{{Value: true}}}
	}
	o := stack.Options{Config: cfg, UIPort: -1, Log: &quiet, StockTemporal: stock, SQLiteSynchronous: b.sync,
		SQLiteConnections: b.conns, NATSNoSync: b.natsNoSync, TemporalDynamicConfig: dc}
	if withTLS {
		// The production topology's certificates, from a CA of the run's own: NATS over TLS,
		// the Temporal frontend over mutual TLS, every client with the admin's certificate.
		certs := access.CertificatesIn(dir)
		if _, err := certs.Ensure(time.Now()); err != nil {
			return err
		}
		o.NATSTLSCert, o.NATSTLSKey, o.Config.NATSCAFile = certs.Cert("nats"), certs.Key("nats"), certs.CA()
		admin := string(access.Admin)
		o.TemporalTLS = &stack.TemporalTLS{Cert: certs.Cert("temporal-frontend"), Key: certs.Key("temporal-frontend"), CA: certs.CA(),
			ClientCert: certs.Cert(admin), ClientKey: certs.Key(admin)}
		restore, err := setEnv(map[string]string{
			"TEMPORAL_TLS_CLIENT_CERT_PATH": certs.Cert(admin), "TEMPORAL_TLS_CLIENT_KEY_PATH": certs.Key(admin),
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH": certs.CA(), "TEMPORAL_TLS_SERVER_NAME": stack.ServerName,
		})
		if err != nil {
			return err
		}
		defer restore()
	}
	return b.runOn(ctx, o, fn)
}

// runOn starts a stack with o (its own servers, or External ones), the raw workflows' worker
// beside its own, runs fn on it and stops it.
func (b *bench) runOn(ctx context.Context, o stack.Options, fn func(*stack.Stack) error) (err error) {
	s, err := stack.Start(ctx, o)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, s.Stop()) }()
	if err := startRawWorker(s); err != nil {
		return err
	}
	return fn(s)
}

// baseConfig is the configuration of bench's worker and listener, with their keys in dir.
func baseConfig(dir string) config.Config {
	return config.Config{
		DataDir:   dir,
		TaskQueue: journeyQueue, Consumer: "careclock-listener", StreamReplicas: 1, MetricsAddr: "off",
	}
}

// The bare workflows: one that returns at once, and one that sleeps until an instant, then runs
// one activity that does nothing but count.
func noop(workflow.Context) error { return nil }

func timerNoop(ctx workflow.Context, at time.Time) error {
	if err := workflow.Sleep(ctx, max(at.Sub(workflow.Now(ctx)), time.Millisecond)); err != nil {
		return err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	return workflow.ExecuteActivity(ctx, "Count").Get(ctx, nil)
}

const (
	rawQueue     = "bench-raw"
	journeyQueue = "careclock"
)

var counted atomic.Int64

func startRawWorker(s *stack.Stack) error {
	w := worker.New(s.Client, rawQueue, s.WorkerOptions()) // as careclock's worker on this stack
	w.RegisterWorkflowWithOptions(noop, workflow.RegisterOptions{Name: "noop"})
	w.RegisterWorkflowWithOptions(timerNoop, workflow.RegisterOptions{Name: "timerNoop"})
	w.RegisterActivityWithOptions(func(context.Context) error { counted.Add(1); return nil }, activity.RegisterOptions{Name: "Count"})
	return w.Start() // stopped with the process
}

// startAll starts n bare workflows with c in flight and returns how long it took.
func (b *bench) startAll(ctx context.Context, n int, prefix, workflowType string, args ...any) (time.Duration, error) {
	return b.inFlight(n, func(i int) error {
		_, err := b.s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("%s-%d", prefix, i), TaskQueue: rawQueue,
		}, workflowType, args...)
		return err
	})
}

// inFlight calls start for 0 to n-1 with c calls in flight, stops at the first error, and returns
// how long it took.
func (b *bench) inFlight(n int, start func(i int) error) (time.Duration, error) {
	begin := time.Now()
	ids := make(chan int)
	errs := make(chan error, b.c)
	var wg sync.WaitGroup
	for range b.c {
		wg.Go(func() {
			for i := range ids {
				if err := start(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for i := range n {
		select {
		case ids <- i:
		case err = <-errs:
			break feed
		}
	}
	close(ids)
	wg.Wait()
	close(errs)
	return time.Since(begin), errors.Join(err, <-errs)
}

func (b *bench) starts(ctx context.Context) error {
	took, err := b.startAll(ctx, b.n, "noop", "noop")
	if err != nil {
		return err
	}
	b.add(Result{Scenario: "starts", N: b.n, Value: float64(b.n) / took.Seconds(), Unit: "starts/s",
		Note: fmt.Sprintf("%d in flight", b.c)})
	return nil
}

// ingest compares the listener's ingest with bare starts, measured alternately after a warm-up
// so that a drift over the run (a warming server, a growing database, a noisy neighbour) falls on
// both: each round runs N bare starts, N bare starts with a journey's search attributes and
// summary, N claims' journeys started through the SDK as the listener starts them (the same
// options and input, no NATS), then N claims ingested, and the ratios are taken pair by pair.
func (b *bench) ingest(ctx context.Context) error {
	warm := max(b.n/5, 20)
	if _, err := b.startRate(ctx, "warm", warm, false); err != nil {
		return err
	}
	if _, err := b.ingestRate(ctx, "warm", warm, false); err != nil {
		return err
	}
	var bare, attrs, journeys, in []float64
	for r := range b.rounds {
		round := fmt.Sprintf("r%d", r+1)
		x, err := b.startRate(ctx, round, b.n, false)
		if err != nil {
			return err
		}
		y, err := b.startRate(ctx, round, b.n, true)
		if err != nil {
			return err
		}
		j, err := b.journeyStartRate(ctx, round, b.n)
		if err != nil {
			return err
		}
		z, err := b.ingestRate(ctx, round, b.n, r == 0)
		if err != nil {
			return err
		}
		bare, attrs, journeys, in = append(bare, x), append(attrs, y), append(journeys, j), append(in, z)
		b.log.Info().Int("round", r+1).Float64("starts", x).Float64("starts_with_attributes", y).Float64("journey_starts", j).Float64("ingest", z).Msg("ingest round")
	}
	b.add(Result{Scenario: "starts (paired)" + b.suffix, N: b.n, Value: median(bare), Unit: "starts/s",
		Note: fmt.Sprintf("median of %d rounds: %s; %d in flight", b.rounds, list(bare, "%.0f"), b.c)})
	b.add(Result{Scenario: "starts with journey attributes" + b.suffix, N: b.n, Value: median(attrs), Unit: "starts/s",
		Note: fmt.Sprintf("median of %s; a journey's search attributes and summary, no listener", list(attrs, "%.0f"))})
	b.add(Result{Scenario: "ingest" + b.suffix, N: b.n, Value: median(in), Unit: "journeys started/s",
		Note: fmt.Sprintf("median of %s; events already in the stream, then the listener starts", list(in, "%.0f"))})
	b.paired("ingest ÷ starts"+b.suffix, in, bare)
	b.add(Result{Scenario: "journey starts" + b.suffix, N: b.n, Value: median(journeys), Unit: "journeys started/s",
		Note: fmt.Sprintf("median of %s; claims' journeys started through the SDK as the listener starts them, no NATS", list(journeys, "%.0f"))})
	b.paired("ingest ÷ starts with journey attributes"+b.suffix, in, attrs)
	b.paired("ingest ÷ journey starts"+b.suffix, in, journeys)
	b.paired("journey starts ÷ starts", journeys, bare)
	return nil
}

// startRate starts n bare workflows (with attrs, each with the search attributes and summary a
// claim's journey starts with) and returns starts per second.
func (b *bench) startRate(ctx context.Context, round string, n int, attrs bool) (float64, error) {
	if !attrs {
		took, err := b.startAll(ctx, n, "noop-"+round, "noop")
		return float64(n) / took.Seconds(), err
	}
	today := rules.DefaultPolicy().Today(time.Now())
	took, err := b.inFlight(n, func(i int) error {
		st, err := b.claimStart(fmt.Sprintf("attrs-%s-%d", round, i), today)
		if err != nil {
			return err
		}
		o := workflows.StartOptions(st, rawQueue, time.Now())
		o.ID = fmt.Sprintf("attrs-%s-%d", round, i)
		_, err = b.s.Client.ExecuteWorkflow(ctx, o, "noop")
		return err
	})
	return float64(n) / took.Seconds(), err
}

// claimStart is the journey start the listener makes of a claim submitted today with id.
func (b *bench) claimStart(id string, today rules.Date) (workflows.Start, error) {
	body, err := claimEvent(id, today)
	if err != nil {
		return workflows.Start{}, err
	}
	ev, payload, err := events.Decode(body, today)
	if err != nil {
		return workflows.Start{}, err
	}
	route, err := workflows.RouteEvent(ev, payload, b.s.Keyer, rules.DefaultBook())
	if err != nil {
		return workflows.Start{}, err
	}
	return route.Starts[0], nil
}

// journeyStartRate starts n claims' journeys through the SDK, each as the listener would start
// it (its options, input and change versions), c in flight, and returns starts per second.
func (b *bench) journeyStartRate(ctx context.Context, round string, n int) (float64, error) {
	today := rules.DefaultPolicy().Today(time.Now())
	took, err := b.inFlight(n, func(i int) error {
		st, err := b.claimStart(fmt.Sprintf("sdk-%s-%d", round, i), today)
		if err != nil {
			return err
		}
		st = st.WithVersions(workflows.CurrentVersions())
		_, err = b.s.Client.ExecuteWorkflow(ctx, workflows.StartOptions(st, journeyQueue, time.Now()), st.Journey, st.Input)
		return err
	})
	return float64(n) / took.Seconds(), err
}

// ingestRate puts n claims in the stream with the listener stopped, then starts it and returns
// journeys started per second. The claims are submitted today: nothing is published yet. With
// size it also reports the database's growth per journey.
func (b *bench) ingestRate(ctx context.Context, round string, n int, size bool) (float64, error) {
	if err := b.s.StopListener(); err != nil {
		return 0, err
	}
	today := rules.DefaultPolicy().Today(time.Now())
	before, err := b.dbBytes()
	if err != nil {
		return 0, err
	}
	seq0, err := b.streamSeq(ctx)
	if err != nil {
		return 0, err
	}
	for i := range n {
		if err := b.publishClaim(ctx, fmt.Sprintf("ingest-%s-%d", round, i), today); err != nil {
			return 0, err
		}
	}
	begin := time.Now()
	b.s.StartListener(b.s.NewListener())
	if err := b.waitAcked(ctx, seq0+uint64(n), 10*time.Minute); err != nil {
		return 0, err
	}
	took := time.Since(begin)
	if size && (b.pgData != "" || !b.external) {
		after, err := b.dbBytes()
		if err != nil {
			return 0, err
		}
		b.add(Result{Scenario: "database bytes per open journey", N: n, Value: float64(after-before) / float64(n), Unit: "bytes",
			Note: b.dbNote()})
	}
	return float64(n) / took.Seconds(), nil
}

// paired adds a row: the median of a[i] ÷ base[i] over the rounds, with each pair's ratio and
// their spread.
func (b *bench) paired(name string, a, base []float64) {
	q := make([]float64, len(a))
	for i := range a {
		q[i] = a[i] / base[i]
	}
	b.results = append(b.results, Result{Scenario: name, N: len(q), Value: median(q), Unit: "× (median of pairs)",
		Note: fmt.Sprintf("pairs %s; spread %.2f–%.2f", list(q, "%.2f"), slices.Min(q), slices.Max(q))})
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func list(xs []float64, format string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, " ")
}

func (b *bench) publishClaim(ctx context.Context, id string, submitted rules.Date) error {
	body, err := claimEvent(id, submitted)
	if err != nil {
		return err
	}
	if _, err := b.s.JS.Publish(ctx, events.Subject(events.ReimbursementSubmitted), body); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// claimEvent is the inbound event of claim id (CLM-<id>, member M-<id>) submitted on a date.
func claimEvent(id string, submitted rules.Date) ([]byte, error) {
	return json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": "urn:bench", "type": events.ReimbursementSubmitted,
		"data": map[string]any{"claimId": "CLM-" + id, "memberId": "M-" + id, "submittedDate": submitted.String(),
			"amountCents": 1000, "category": "mileage"},
	})
}

func (b *bench) streamSeq(ctx context.Context) (uint64, error) {
	st, err := b.streamState(ctx, events.EnrollmentStream)
	return st.LastSeq, err
}

func (b *bench) streamState(ctx context.Context, name string) (jetstream.StreamState, error) {
	st, err := b.s.JS.Stream(ctx, name)
	if err != nil {
		return jetstream.StreamState{}, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return jetstream.StreamState{}, err
	}
	return info.State, nil
}

// waitAcked waits until the listener has acknowledged the stream up to seq; its consumer may
// not exist yet when a listener has just started.
func (b *bench) waitAcked(ctx context.Context, seq uint64, within time.Duration) error {
	var floor uint64
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		cons, err := b.s.JS.Consumer(ctx, events.EnrollmentStream, "careclock-listener")
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound):
		case err != nil:
			return err
		default:
			info, err := cons.Info(ctx)
			if err != nil {
				return err
			}
			if floor = info.AckFloor.Stream; floor >= seq {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("listener acknowledged up to %d of %d", floor, seq)
		}
	}
}

// storms: the bare storm, then careclock's. Each instant is far enough ahead for every
// workflow to be started and waiting before it.
func (b *bench) storms(ctx context.Context) error {
	lead := 20*time.Second + time.Duration(b.storm)*30*time.Millisecond
	rounds := b.rounds
	if b.suffix == stockSuffix {
		rounds = 1 // the stock server only gives the order of magnitude of the tuning
	}
	// A warm-up storm first: on PostgreSQL the first timer storm after the server starts ran at
	// a fifth of the later ones, which made the first pair meaningless.
	if _, err := b.rawStormOf(ctx, max(b.storm/5, 20), lead); err != nil {
		return fmt.Errorf("warm-up storm: %w", err)
	}
	var raw, cc, steps []float64
	for r := range rounds {
		x, err := b.rawStorm(ctx, lead)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("careclock storm%s #%d", b.suffix, r+1)
		if err := b.careclockStorm(ctx, name, 0, lead); err != nil {
			return err
		}
		raw = append(raw, x)
		cc = append(cc, b.value(name))
		steps = append(steps, b.value(name+": steps"))
	}
	b.add(Result{Scenario: "raw storm" + b.suffix, N: b.storm, Value: median(raw), Unit: "completions/s after T",
		Note: "median of " + list(raw, "%.0f")})
	b.add(Result{Scenario: "careclock storm" + b.suffix, N: b.storm, Value: median(cc), Unit: "journey events on NATS/s after T",
		Note: "median of " + list(cc, "%.0f")})
	b.add(Result{Scenario: "careclock storm" + b.suffix + ": steps", N: b.storm, Value: median(steps), Unit: "journey steps done/s after T",
		Note: "median of " + list(steps, "%.0f")})
	b.paired("careclock ÷ raw storm"+b.suffix, cc, raw)
	b.paired("careclock steps ÷ raw storm"+b.suffix, steps, raw)
	if b.spread > 0 && b.suffix == "" {
		return b.careclockStorm(ctx, "spread storm", b.spread, lead)
	}
	return nil
}

// rawStorm starts b.storm bare workflows that each wait for one instant, then run one activity,
// and returns completions per second after that instant.
func (b *bench) rawStorm(ctx context.Context, lead time.Duration) (float64, error) {
	return b.rawStormOf(ctx, b.storm, lead)
}

func (b *bench) rawStormOf(ctx context.Context, n int, lead time.Duration) (float64, error) {
	at := time.Now().Add(lead)
	counted.Store(0)
	b.rawStorms++
	if _, err := b.startAll(ctx, n, fmt.Sprintf("storm-%d", b.rawStorms), "timerNoop", at); err != nil {
		return 0, err
	}
	took, err := waitFor(at, 15*time.Minute, func() (bool, error) { return counted.Load() >= int64(n), nil })
	if err != nil {
		return 0, fmt.Errorf("raw storm: %d of %d done: %w", counted.Load(), n, err)
	}
	return float64(n) / took.Seconds(), nil
}

// value is the value of a scenario already measured, 0 if none.
func (b *bench) value(scenario string) float64 {
	if i := slices.IndexFunc(b.results, func(r Result) bool { return r.Scenario == scenario }); i >= 0 {
		return b.results[i].Value
	}
	return 0
}

// waitFor waits until done, and returns how long after at that was.
func waitFor(at time.Time, within time.Duration, done func() (bool, error)) (time.Duration, error) {
	for deadline := at.Add(within); ; time.Sleep(20 * time.Millisecond) {
		ok, err := done()
		if err != nil {
			return 0, err
		}
		if ok {
			return time.Since(at), nil
		}
		if time.Now().After(deadline) {
			return 0, errors.New("not done in time")
		}
	}
}

func (b *bench) journeyEvents(ctx context.Context) (uint64, error) {
	st, err := b.streamState(ctx, events.JourneyStream)
	return st.Msgs, err
}

func (b *bench) dbNote() string {
	if b.pgData != "" {
		return "growth of PostgreSQL's data folder (both databases, WAL) over the first round's ingest"
	}
	return "growth of temporal.db and its WAL over the first round's ingest"
}

// dbBytes is the size of Temporal's database: temporal.db and its WAL on the dev stack,
// PostgreSQL's data folder on the production topology; 0 against servers bench did not start.
func (b *bench) dbBytes() (int64, error) {
	if b.pgData != "" {
		return folderBytes(b.pgData)
	}
	if b.external {
		return 0, nil
	}
	files, err := filepath.Glob(filepath.Join(b.s.DataDir(), "temporal.db*"))
	if err != nil {
		return 0, err
	}
	var n int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return 0, err
		}
		n += fi.Size()
	}
	return n, nil
}

// cost counts, in the recorded full-life history of each journey (workflows/testdata), the
// history events, the workflow tasks (one round trip to a worker each), and the actions Temporal
// Cloud bills: the start, signals, activities, local activities (one each: an upper bound),
// timers, search attribute upserts (not the TemporalChangeVersion one, which is exempt), child
// starts and continue-as-new. Each is compared with the same history recorded before
// changeLocalPublish (testdata/before-local-publish), and the note gives the history of journeys
// that publish by local activity (testdata/local-publish).
func (b *bench) cost(context.Context) error {
	dir := filepath.Join("workflows", "testdata")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("recorded histories in %s: %v (run bench from the repository root)", dir, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if strings.Contains(name, "continue") {
			continue // the two runs of a reimbursement either side of a continue-as-new
		}
		var c [3]counts // current, before, local publish
		older := true   // a journey added after changeLocalPublish has no history from before it
		for i, file := range []string{f, filepath.Join(dir, "before-local-publish", filepath.Base(f)), filepath.Join(dir, "local-publish", filepath.Base(f))} {
			if i > 0 && !older {
				continue
			}
			if _, err := os.Stat(file); i > 0 && errors.Is(err, fs.ErrNotExist) {
				older = false
				continue
			}
			if c[i], err = historyCost(file); err != nil {
				return err
			}
		}
		for _, m := range []struct {
			what, unit string
			n          func(counts) int
		}{
			{"history events", "events", func(c counts) int { return c.events }},
			{"workflow tasks", "tasks", func(c counts) int { return c.tasks }},
			{"actions", "actions", func(c counts) int { return c.actions }},
		} {
			now, before, local := m.n(c[0]), m.n(c[1]), m.n(c[2])
			if !older {
				b.add(Result{Scenario: m.what + ": " + name, N: 1, Value: float64(now), Unit: m.unit,
					Note: "a journey added after the change: no history from before it"})
				continue
			}
			b.add(Result{Scenario: m.what + ": " + name, N: 1, Value: float64(now), Unit: m.unit,
				Ratio: float64(now) / float64(before), RatioTo: fmt.Sprintf("before the change (%d)", before),
				Note: fmt.Sprintf("local publish: %d (%.2f ×)", local, float64(local)/float64(before))})
		}
	}
	return nil
}

// counts are what one recorded history costs.
type counts struct{ events, tasks, actions int }

func historyCost(file string) (counts, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return counts{}, err
	}
	h, err := client.HistoryFromJSON(bytes.NewReader(raw), client.HistoryJSONOptions{})
	if err != nil {
		return counts{}, fmt.Errorf("%s: %w", file, err)
	}
	c := counts{events: len(h.GetEvents())}
	for _, ev := range h.GetEvents() {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			c.tasks++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_TIMER_STARTED,
			enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
			c.actions++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if ev.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" {
				c.actions++
			}
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			fields := ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
			if _, version := fields["TemporalChangeVersion"]; !version || len(fields) > 1 {
				c.actions++
			}
		}
	}
	return c, nil
}

func (b *bench) add(r Result) {
	b.log.Info().Str("scenario", r.Scenario).Float64("value", r.Value).Str("unit", r.Unit).Msg("measured")
	b.results = append(b.results, r)
}

// quotient is the value of scenario a over that of scenario b, and a's index; ok is false when
// either is missing or b is 0.
func (b *bench) quotient(a, over string) (i int, q float64, ok bool) {
	i = slices.IndexFunc(b.results, func(r Result) bool { return r.Scenario == a })
	j := slices.IndexFunc(b.results, func(r Result) bool { return r.Scenario == over })
	if i < 0 || j < 0 || b.results[j].Value == 0 {
		return i, 0, false
	}
	return i, b.results[i].Value / b.results[j].Value, true
}

func (b *bench) ratio(scenario, to string) {
	if i, q, ok := b.quotient(scenario, to); ok {
		b.results[i].Ratio, b.results[i].RatioTo = q, to
	}
}

// compare adds a row: how many times faster the tuned server was than the stock one.
func (b *bench) compare(tuned, stock string) { b.versus("tuned ÷ stock: "+tuned, tuned, stock) }

// versus adds a row named name: the value of scenario a divided by that of b.
func (b *bench) versus(name, a, c string) {
	if i, q, ok := b.quotient(a, c); ok {
		b.results = append(b.results, Result{Scenario: name, N: b.results[i].N, Value: q, Unit: "×"})
	}
}

func (b *bench) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tN\tVALUE\tUNIT\tRATIO\tNOTE")
	for _, r := range b.results {
		ratio := ""
		if r.RatioTo != "" {
			ratio = fmt.Sprintf("%.2f × %s", r.Ratio, r.RatioTo)
		}
		value := fmt.Sprintf("%.1f", r.Value)
		if strings.HasPrefix(r.Unit, "×") {
			value = fmt.Sprintf("%.2f", r.Value)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.Scenario, r.N, value, r.Unit, ratio, r.Note)
	}
	_ = tw.Flush()
}

func (b *bench) save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	out, err := json.MarshalIndent(map[string]any{
		"time": time.Now().UTC().Format(time.RFC3339), "n": b.n, "storm": b.storm, "inFlight": b.c,
		"host": cmp.Or(os.Getenv("HOSTNAME"), "unknown"), "results": b.results,
	}, "", "  ")
	if err != nil {
		return err
	}
	file := filepath.Join(dir, time.Now().UTC().Format("20060102T150405Z")+".json")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		return err
	}
	fmt.Println("results:", file)
	return nil
}

// setEnv sets the variables, and returns what puts the environment back as it was.
func setEnv(vars map[string]string) (func(), error) {
	old := map[string]*string{}
	for k, v := range vars {
		if was, ok := os.LookupEnv(k); ok {
			old[k] = &was
		} else {
			old[k] = nil
		}
		if err := os.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	return func() {
		for k, v := range old {
			if v == nil {
				_ = os.Unsetenv(k)
			} else {
				_ = os.Setenv(k, *v)
			}
		}
	}, nil
}
