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
//   - scale: -scale open items of every kind imported at go-live through starter import's code,
//     with worker memory, database bytes and operators' queries measured as they grow (scale.go)
//   - lists: -lists open journeys of every kind started on a queue no worker polls, then the
//     operators' queries timed (lists.go)
//
// Each scenario has its file: ingest.go (starts and ingest), storm.go, memory.go, cost.go,
// scale.go, lists.go; workloads.go holds the bare workflows, results.go the ratios, table and
// JSON, and external.go the runs against the production topology.
//
// Results print as a table and are written as JSON under -out.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/common/dynamicconfig"

	"github.com/careclock/careclock/access"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/importer"
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
	// serverProfiles is the folder for the Temporal server's CPU profiles during the storms
	// (-server-profiles, with -topology); serverPprof is where the server serves them.
	serverProfiles, serverPprof string
	// importBacklog is the scale scenario's bound on the worker's queued workflow tasks, as
	// `starter import --max-backlog` (0: none).
	importBacklog int64
	// scale is the open items the scale scenario imports; listsN the journeys the lists
	// scenario starts on an idle queue.
	scale, listsN int
	results       []Result
	log           zerolog.Logger
	// workerProfiles is the folder for the worker process's heap profiles (-worker-profiles).
	workerProfiles string
	// rawWorker runs the bare workflows on the stack being measured.
	rawWorker worker.Worker
	// sticky are the sticky schedule-to-start timeouts the storms compare (-sticky; none:
	// careclock's own); stickyNow is the one the stack's workers run with (0: careclock's own).
	sticky    []time.Duration
	stickyNow time.Duration
}

func run() error {
	n := flag.Int("n", 1000, "workflows for starts and ingest")
	storm := flag.Int("storm", 1000, "timers, then journeys, due at one instant in the storms")
	c := flag.Int("c", 32, "starts in flight")
	rounds := flag.Int("rounds", 3, "rounds of the paired measurements (ingest with the starts, careclock's storm with the raw one), after a warm-up; 0 with -scenarios storm: the spread storm only")
	open := flag.Int("open", 10000, "open journeys the memory scenario measures the worker at (then at half and 1.5 times that)")
	spread := flag.Int("spread", 1, "minutes the spread storm's notices are spread over (0: no spread storm)")
	out := flag.String("out", filepath.Join("bench", "results"), "folder for the JSON results")
	only := flag.String("scenarios", "starts,ingest,storm,memory,cost", "comma-separated scenarios to run: starts, ingest, storm, memory, cost, scale and lists (they run before storm, so that the storms run with their journeys open)")
	scale := flag.Int("scale", 100000, "open items the scale scenario imports (docs/performance.md, At scale)")
	listsN := flag.Int("lists", 100000, "open items the lists scenario starts on a task queue no worker polls, before it times list --at-risk and report")
	stock := flag.Bool("stock", true, "run the storms on the stock in-process server too, for the tuned ÷ stock ratio")
	withTLS := flag.Bool("tls", false, "run ingest and storm again on a dev stack whose NATS serves TLS and whose Temporal frontend serves mutual TLS (the production topology's certificates, from a CA of the run's own), for what TLS costs (TLS ÷ plain)")
	natsSync := flag.Bool("nats-sync", true, "JetStream fsyncs every write, on the dev stack and with -topology (false: to see what that costs; never for real data)")
	sync := flag.String("sqlite-synchronous", "NORMAL", "the tuned server's SQLite synchronous setting: NORMAL (the dev stack's default) or FULL")
	conns := flag.Int("sqlite-conns", 1, "the tuned server's SQLite connections (the dev stack's default is 1)")
	eager := flag.Bool("eager", false, "the tuned server hands a workflow's activity to its worker in the reply to the workflow task (system.enableActivityEagerExecution)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (server, worker, listener and bench) to this file")
	serverProfiles := flag.String("server-profiles", "", "with -topology: write a CPU profile of the Temporal server for the first 2 minutes of each storm (raw and careclock) into this folder, a file per storm")
	var sticky durations
	flag.Var(&sticky, "sticky", "comma-separated sticky schedule-to-start timeouts (e.g. 30s,5m) that each round runs the storms with in turn, careclock's worker and the bare one alike, to compare them (default: careclock's own, CARECLOCK_STICKY_TIMEOUT's default)")
	workerProfiles := flag.String("worker-profiles", "", "with the memory or scale scenario: write the worker process's heap profile at each reading of its memory into this folder (it serves them on CARECLOCK_PPROF_ADDR)")
	importBacklog := flag.Int64("import-backlog", importer.DefaultMaxBacklog, "the scale scenario's import waits while the worker has more workflow tasks queued than this, as starter import --max-backlog does (0: it does not wait; the runs of 2026-12-03)")
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
		if !slices.Contains([]string{"starts", "ingest", "storm", "memory", "cost", "scale", "lists"}, w) {
			return fmt.Errorf("unknown scenario %q", w)
		}
	}

	if *serverProfiles != "" && !x.topology {
		return errors.New("-server-profiles profiles the topology's Temporal server: give -topology")
	}
	if *workerProfiles != "" {
		if !slices.Contains(want, "memory") && !slices.Contains(want, "scale") {
			return errors.New("-worker-profiles profiles the worker process of the memory and scale scenarios: run one of them")
		}
		if err := os.MkdirAll(*workerProfiles, 0o755); err != nil {
			return err
		}
	}
	if err := x.validate(want); err != nil {
		return err
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	if *rounds == 0 {
		for _, sc := range want {
			if sc != "storm" && sc != "scale" && sc != "lists" {
				return fmt.Errorf("-rounds 0 runs the spread storm alone; %s measures in rounds", sc)
			}
		}
		if *spread == 0 || !slices.Contains(want, "storm") {
			return errors.New("-rounds 0 runs the spread storm alone: give -scenarios storm and -spread")
		}
	}
	if *rounds < 0 {
		return fmt.Errorf("-rounds %d: want at least 1, or 0 for the spread storm alone", *rounds)
	}
	if *scale < 1 || *listsN < 1 {
		return fmt.Errorf("-scale %d, -lists %d: want at least 1", *scale, *listsN)
	}
	b := &bench{rounds: *rounds, n: *n, storm: *storm, spread: *spread, open: *open, c: *c, log: log, sync: *sync, conns: *conns, eager: *eager, natsNoSync: !*natsSync, scale: *scale, listsN: *listsN, serverProfiles: *serverProfiles, importBacklog: *importBacklog, sticky: sticky, workerProfiles: *workerProfiles}
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
	tuned := func(*stack.Stack) error {
		for _, sc := range []struct {
			name string
			run  func(context.Context) error
		}{{"starts", b.starts}, {"ingest", b.ingest}, {"scale", b.scaleRun}, {"lists", b.lists}, {"storm", b.storms}, {"memory", b.memory}, {"cost", b.cost}} {
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
		err := b.withStack(ctx, true, false, func(*stack.Stack) error {
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
		err := b.withStack(ctx, false, true, func(*stack.Stack) error {
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

// runOn starts a stack with o (its own servers, or External ones), makes it b.s, starts the raw
// workflows' worker beside its own, runs fn on it and stops it.
func (b *bench) runOn(ctx context.Context, o stack.Options, fn func(*stack.Stack) error) (err error) {
	s, err := stack.Start(ctx, o)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, s.Stop()) }()
	b.s, b.stickyNow = s, 0
	defer func() {
		if b.rawWorker != nil {
			b.rawWorker.Stop()
			b.rawWorker = nil
		}
	}()
	if err := b.startRawWorker(); err != nil {
		return err
	}
	return fn(s)
}

// baseConfig is the configuration of bench's worker and listener, with their keys in dir.
func baseConfig(dir string) config.Config {
	return config.Config{
		DataDir:   dir,
		TaskQueue: journeyQueue, Consumer: listenerConsumer, StreamReplicas: 1, MetricsAddr: "off",
	}
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

// durations is a flag of comma-separated durations, each at least a second.
type durations []time.Duration

func (d *durations) String() string {
	parts := make([]string, len(*d))
	for i, x := range *d {
		parts[i] = x.String()
	}
	return strings.Join(parts, ",")
}

func (d *durations) Set(s string) error {
	*d = nil
	for part := range strings.SplitSeq(s, ",") {
		x, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return err
		}
		if x < time.Second || slices.Contains(*d, x) {
			return fmt.Errorf("%s: want distinct durations of at least 1s", part)
		}
		*d = append(*d, x)
	}
	return nil
}
