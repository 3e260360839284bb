// Package stack runs the embedded development stack: an in-process Temporal server backed by a
// SQLite file, the Temporal UI, and an in-process NATS server with JetStream. It is linked only
// by the devstack command and the integration tests, never by the production worker.
package stack

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	"github.com/careclock/careclock/access"
)

// TemporalConfig describes the embedded Temporal server.
type TemporalConfig struct {
	// DatabaseFile is the SQLite file. Empty means an in-memory database that is lost on stop.
	DatabaseFile string
	// IP and Port of the frontend. Port 0 picks a free port.
	IP   string
	Port int
	// Namespace is created on start if missing.
	Namespace string
	// DynamicConfig overrides server settings; nil keeps the defaults.
	DynamicConfig dynamicconfig.StaticClient
	// Synchronous is SQLite's synchronous setting: NORMAL (default) or FULL (every commit
	// fsynced; survives a power loss, much slower on timer storms: docs/performance.md).
	Synchronous string
	// Connections is how many SQLite connections the server opens (default 1). More make
	// writers collide: Temporal's transactions start as readers, and one that then writes after
	// another connection has committed fails at once with SQLITE_BUSY (busy_timeout cannot
	// help), which the server turns into retries and, on a shard update, a lost shard
	// (docs/performance.md, Tuning).
	Connections int
	// TLS, when set, serves the frontend over mutual TLS, as the production topology does.
	TLS *TemporalTLS
	// Stock runs the server with the in-process defaults (one SQLite connection, rollback
	// journal) instead of the dev stack's tuning, for the benchmark's comparison.
	Stock bool
	// InternalPorts are the metrics, membership and internal gRPC ports (8); empty picks free
	// ones. A restart on the same database reuses them: the membership table still lists the
	// previous addresses, and new ones make the services wait for the stale hosts to expire.
	InternalPorts []int
}

// Temporal is a running in-process Temporal server.
type Temporal struct {
	server    temporal.Server
	hostPort  string
	config    TemporalConfig
	namespace string
	log       serverLogger
}

// TemporalTLS is a frontend's mutual TLS: its certificate and key, the CA its clients'
// certificates come from (and that issued its own), and the certificate the server's own
// worker presents to it. Clients verify the name "temporal".
type TemporalTLS struct {
	Cert, Key, CA         string
	ClientCert, ClientKey string
}

// clientConfig is a client's TLS: the server's own worker's certificate, the CA, the name.
func (t TemporalTLS) clientConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.ClientCert, t.ClientKey)
	if err != nil {
		return nil, err
	}
	pool, err := access.LoadPool(t.CA)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: ServerName, MinVersion: tls.VersionTLS12}, nil
}

// ServerName is the name a client of the frontend verifies.
const ServerName = "temporal"

// StartTemporal creates the schema and namespace when the database is new, then starts all
// four Temporal services in this process.
func StartTemporal(cfg TemporalConfig, log zerolog.Logger) (*Temporal, error) {
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if len(cfg.InternalPorts) == 0 && cfg.DatabaseFile != "" {
		cfg.InternalPorts = previousPorts(cfg.DatabaseFile+".ports", cfg.IP)
	}
	if cfg.Port == 0 || len(cfg.InternalPorts) != 8 {
		free, err := freePorts(cfg.IP, 9)
		if err != nil {
			return nil, err
		}
		if cfg.Port == 0 {
			cfg.Port = free[0]
		}
		if len(cfg.InternalPorts) != 8 {
			cfg.InternalPorts = free[1:]
		}
	}
	ports := append([]int{cfg.Port}, cfg.InternalPorts...)
	frontend := net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.Port))
	if err := portFree(frontend); err != nil {
		return nil, fmt.Errorf("temporal frontend: %w", err)
	}

	sqlCfg := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{"mode": "rwc"},
		DatabaseName:      cfg.DatabaseFile,
	}
	if !cfg.Stock {
		// Write-ahead log: a commit appends to the log instead of rewriting pages, and the busy
		// timeout makes a connection wait for a lock instead of failing.
		// synchronous=NORMAL fsyncs the log at checkpoints rather than at every commit: nothing
		// is lost when a process crashes, but a power loss can undo the last commits. FULL keeps
		// them, at a cost in timer throughput (docs/performance.md, Tuning).
		sync := cmp.Or(cfg.Synchronous, "NORMAL")
		if sync != "NORMAL" && sync != "FULL" {
			return nil, fmt.Errorf("sqlite synchronous %q: NORMAL or FULL", sync)
		}
		sqlCfg.ConnectAttributes = map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": sync, "busy_timeout": "10000"}
		conns := cmp.Or(cfg.Connections, 1)
		sqlCfg.MaxConns, sqlCfg.MaxIdleConns = conns, conns
	}
	if cfg.DatabaseFile == "" {
		sqlCfg.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		sqlCfg.DatabaseName = "careclock-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if err := sqlite.SetupSchema(sqlCfg); err != nil {
			return nil, fmt.Errorf("temporal schema: %w", err)
		}
	} else if _, err := os.Stat(cfg.DatabaseFile); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(cfg.DatabaseFile), 0o700); err != nil {
			return nil, fmt.Errorf("temporal data directory: %w", err)
		}
		if err := sqlite.SetupSchema(sqlCfg); err != nil {
			return nil, fmt.Errorf("temporal schema in %s: %w", cfg.DatabaseFile, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("temporal database: %w", err)
	}

	if cfg.DatabaseFile != "" {
		if err := savePorts(cfg.DatabaseFile+".ports", cfg.InternalPorts); err != nil {
			return nil, err
		}
	}

	const clusterName = "active"
	ns, err := sqlite.NewNamespaceConfig(clusterName, cfg.Namespace, false, nil)
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", cfg.Namespace, err)
	}
	if err := sqlite.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("namespace %s: %w", cfg.Namespace, err)
	}

	service := func(grpc, membership int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpc, MembershipPort: membership, BindOnIP: cfg.IP}}
	}
	serverCfg := &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: cfg.IP},
			Metrics: &metrics.Config{Prometheus: &metrics.PrometheusConfig{
				ListenAddress: net.JoinHostPort(cfg.IP, strconv.Itoa(ports[1])), HandlerPath: "/metrics",
			}},
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": service(cfg.Port, ports[2]),
			"history":  service(ports[3], ports[4]),
			"matching": service(ports[5], ports[6]),
			"worker":   service(ports[7], ports[8]),
		},
		Archival:          config.Archival{History: config.HistoryArchival{State: "disabled"}, Visibility: config.VisibilityArchival{State: "disabled"}},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{History: config.HistoryArchivalNamespaceDefaults{State: "disabled"}, Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"}}},
		PublicClient:      config.PublicClient{HostPort: frontend},
	}
	if t := cfg.TLS; t != nil {
		client := config.ClientTLS{ServerName: ServerName, RootCAFiles: []string{t.CA}}
		serverCfg.Global.TLS = config.RootTLS{
			Frontend: config.GroupTLS{Client: client, Server: config.ServerTLS{
				CertFile: t.Cert, KeyFile: t.Key, RequireClientAuth: true, ClientCAFiles: []string{t.CA},
			}},
			SystemWorker: config.WorkerTLS{CertFile: t.ClientCert, KeyFile: t.ClientKey, Client: client},
		}
	}
	dc := dynamicconfig.StaticClient{
		// A search attribute added at run time is visible at once.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
	}
	if !cfg.Stock {
		// One node: one partition per task queue, so that a task never waits in a partition
		// no poller is on, or is forwarded between partitions.
		one := []dynamicconfig.ConstrainedValue{{Value: 1}}
		dc[dynamicconfig.MatchingNumTaskqueueReadPartitions.Key()] = one
		dc[dynamicconfig.MatchingNumTaskqueueWritePartitions.Key()] = one
	}
	for k, v := range cfg.DynamicConfig {
		dc[k] = v
	}
	slog := newServerLogger(log)
	srv, err := temporal.NewServer(
		temporal.WithConfig(serverCfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(slog),
		temporal.WithDynamicConfigClient(dc),
	)
	if err != nil {
		return nil, fmt.Errorf("temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	slog.phase.Store(phaseRunning)
	return &Temporal{server: srv, hostPort: frontend, config: cfg, namespace: cfg.Namespace, log: slog}, nil
}

// HostPort is the frontend address for SDK clients.
func (t *Temporal) HostPort() string { return t.hostPort }

// Namespace is the namespace the server was started with.
func (t *Temporal) Namespace() string { return t.namespace }

// Stop shuts the server down. What its services report while they stop is expected, and logged
// at debug.
func (t *Temporal) Stop() error {
	t.log.phase.Store(phaseStopping)
	return t.server.Stop()
}

// WaitReady dials the frontend until it answers, or ctx ends.
func (t *Temporal) WaitReady(ctx context.Context, opts client.Options) (client.Client, error) {
	opts.HostPort = t.hostPort
	opts.Namespace = t.namespace
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			if _, err = c.CheckHealth(ctx, &client.CheckHealthRequest{}); err == nil {
				return c, nil
			}
			c.Close()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("temporal at %s not ready: %w", t.hostPort, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func freePorts(ip string, n int) ([]int, error) {
	ports := make([]int, 0, n)
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// portFree reports a clear error when another process already listens on addr.
func portFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s is not free (is another careclock or Temporal running?): %w", addr, err)
	}
	return l.Close()
}

// previousPorts reads the internal ports the server last used with this database, if they are
// all free again; otherwise nil.
func previousPorts(file, ip string) []int {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var ports []int
	for _, f := range strings.Fields(string(b)) {
		p, err := strconv.Atoi(f)
		if err != nil || portFree(net.JoinHostPort(ip, f)) != nil {
			return nil
		}
		ports = append(ports, p)
	}
	return ports
}

func savePorts(file string, ports []int) error {
	var b strings.Builder
	for _, p := range ports {
		fmt.Fprintln(&b, p)
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("temporal ports: %w", err)
	}
	return nil
}
