package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/common/dynamicconfig"

	"github.com/careclock/careclock/codecserver"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/listener"
	"github.com/careclock/careclock/metrics"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// Options configure the whole embedded stack.
type Options struct {
	Config config.Config
	Host   string
	// Ports; 0 picks a free one. UIPort -1 runs no UI.
	TemporalPort, UIPort, NATSPort int
	// Log overrides the logger made from Config.
	Log *zerolog.Logger
	// NATSTLSCert and NATSTLSKey serve NATS over TLS; clients then need NATS_CA_FILE.
	NATSTLSCert, NATSTLSKey string
	// TemporalTLS serves the Temporal frontend over mutual TLS; the stack's own clients then
	// need its client certificate in TEMPORAL_TLS_* (bench -tls does this).
	TemporalTLS *TemporalTLS
	// NATSNoSync turns JetStream's fsync of every write off (benchmark diagnosis only).
	NATSNoSync bool
	// SQLiteSynchronous is NORMAL (default) or FULL; see TemporalConfig.Synchronous.
	SQLiteSynchronous string
	// SQLiteConnections is TemporalConfig.Connections (default 1).
	SQLiteConnections int
	// StockTemporal runs Temporal without the dev stack's tuning (the benchmark compares).
	StockTemporal bool
	// TemporalDynamicConfig overrides Temporal server settings (tests use it to make a journey
	// continue as new early).
	TemporalDynamicConfig dynamicconfig.StaticClient
	// External, when set, runs the stack's worker and listener against servers that already
	// run (the production topology, for `bench -topology`): no NATS, Temporal or UI of its own.
	// Config.DataDir is then the deployment's secrets folder (starter secrets' layout).
	External *External
}

// External is a running Temporal and NATS for the stack's worker and listener.
type External struct {
	TemporalAddress, Namespace string
	// NATSURL is every node's client URL, comma-separated.
	NATSURL        string
	StreamReplicas int
}

// Stack is careclock running in one process.
type Stack struct {
	Log      zerolog.Logger
	Temporal *Temporal
	NATS     *server.Server
	UI       *UI
	Client   client.Client
	NC       *nats.Conn
	JS       jetstream.JetStream
	Worker   worker.Worker
	// Keyer hashes business keys into workflow ids and member keys.
	Keyer privacy.Keyer
	// Keyring encrypts every payload the stack's client writes.
	Keyring privacy.Keyring
	// UIPasswordFile holds the password the UI asks for (any user name).
	UIPasswordFile string
	// Metrics is the registry of the worker, the listener and their Temporal client.
	Metrics *metrics.Metrics
	// PreferredVersions, when set, chooses the version a worker started after it records for
	// each GetVersion of a new journey, instead of workflows.PreferVersions.
	PreferredVersions worker.PreferredVersionProvider

	uiURL          string
	natsCfg        NATSConfig
	temporalCfg    TemporalConfig
	natsLog        zerolog.Logger
	temporalLog    zerolog.Logger
	listenerLog    zerolog.Logger
	policies       rules.Book
	cfg            config.Config
	natsClientLog  zerolog.Logger
	workerNC       *nats.Conn
	workerJS       jetstream.JetStream
	listenerNC     *nats.Conn
	listenerJS     jetstream.JetStream
	stopListener   context.CancelFunc
	listenerResult chan error
}

// Start brings up NATS, Temporal, the UI, the streams and search attributes, the worker and the
// listener, in that order. On error, whatever was started is stopped.
func Start(ctx context.Context, o Options) (s *Stack, err error) {
	s = &Stack{}
	base := o.Config.Logger("")
	if o.Log != nil {
		base = *o.Log
	}
	s.Log = base.With().Str("component", "devstack").Logger()
	component := func(name string) zerolog.Logger { return base.With().Str("component", name).Logger() }
	s.natsLog, s.temporalLog = quieter(component("nats-server")), quieter(component("temporal-server"))
	s.listenerLog = component("listener")
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Stop())
		}
	}()
	if s.Keyer, err = o.Config.Keyer(true); err != nil {
		return s, err
	}
	if s.policies, err = o.Config.Policies(); err != nil {
		return s, err
	}
	if s.Keyring, err = o.Config.Keyring(true); err != nil {
		return s, err
	}
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	namespace, replicas := "", 1
	if x := o.External; x != nil {
		namespace, replicas = x.Namespace, x.StreamReplicas
		o.Config.TemporalAddress, o.Config.NATSURL = x.TemporalAddress, x.NATSURL
	} else {
		if err := s.startServers(&o, component); err != nil {
			return s, err
		}
		namespace = s.Temporal.Namespace()
		o.Config.TemporalAddress, o.Config.NATSURL = s.Temporal.HostPort(), s.NATS.ClientURL()
		opts := client.Options{Logger: config.SDKLogger(component("temporal-sdk"))}
		if t := o.TemporalTLS; t != nil {
			if opts.ConnectionOptions.TLS, err = t.clientConfig(); err != nil {
				return s, err
			}
		}
		ready, err := s.Temporal.WaitReady(readyCtx, opts)
		if err != nil {
			return s, err
		}
		ready.Close()
	}
	o.Config.TemporalNamespace = namespace
	s.cfg, s.natsClientLog = o.Config, component("nats-client")
	// What starter setup does in a deployment: the streams, then the search attributes.
	if s.NC, s.JS, err = s.ConnectNATS(config.RoleAdmin); err != nil {
		return s, err
	}
	inbound, journey := o.Config.Retention()
	if err := events.EnsureStreams(readyCtx, s.JS, events.StreamSettings{Replicas: replicas, InboundMaxAge: inbound, JourneyMaxAge: journey}); err != nil {
		return s, err
	}
	// The worker's start-up, as the worker program's: its Temporal client (with the payload keys
	// and the metrics registry the listener shares), its NATS connection, the streams checked.
	p, err := connect.Start(readyCtx, o.Config, "", config.RoleWorker, component("worker"))
	if err != nil {
		return s, err
	}
	s.Client, s.Metrics, s.workerNC, s.workerJS = p.Temporal, p.Metrics, p.NC, p.JS
	if err := connect.EnsureSearchAttributes(readyCtx, s.Client, namespace); err != nil {
		return s, err
	}
	if s.listenerNC, s.listenerJS, err = s.ConnectNATS(config.RoleListener); err != nil {
		return s, err
	}
	if err := s.StartWorker(); err != nil {
		return s, err
	}
	s.StartListener(s.NewListener())
	return s, nil
}

// startServers starts the stack's own NATS, Temporal server and UI.
func (s *Stack) startServers(o *Options, component func(string) zerolog.Logger) error {
	natsPort := o.NATSPort
	if natsPort == 0 {
		natsPort = -1
	}
	users, err := natsUsers(o.Config.DataDir)
	if err != nil {
		return err
	}
	s.natsCfg = NATSConfig{StoreDir: filepath.Join(o.Config.DataDir, "jetstream"), Host: o.Host, Port: natsPort,
		Users: users, TLSCert: o.NATSTLSCert, TLSKey: o.NATSTLSKey, NoSync: o.NATSNoSync}
	if err := s.StartNATS(); err != nil {
		return err
	}
	s.temporalCfg = TemporalConfig{
		DatabaseFile: filepath.Join(o.Config.DataDir, "temporal.db"), IP: o.Host, Port: o.TemporalPort,
		DynamicConfig: o.TemporalDynamicConfig, Stock: o.StockTemporal, Synchronous: o.SQLiteSynchronous, Connections: o.SQLiteConnections,
		TLS: o.TemporalTLS,
	}
	if err := s.StartTemporal(); err != nil {
		return err
	}
	if o.UIPort < 0 {
		return nil
	}
	port := o.UIPort
	if port == 0 {
		ports, err := freePorts(o.Host, 1)
		if err != nil {
			return err
		}
		port = ports[0]
	}
	s.UIPasswordFile = o.Config.Dev().UIToken
	tokens, err := codecserver.EnsureTokenFile(s.UIPasswordFile)
	if err != nil {
		return err
	}
	if s.UI, err = StartUI(UIOptions{
		TemporalHostPort: s.Temporal.HostPort(), Namespace: s.Temporal.Namespace(), Host: o.Host, Port: port,
		Codec: privacy.Codec{Keys: s.Keyring}, Tokens: tokens, TokensFile: s.UIPasswordFile, Log: component("temporal-ui"),
	}); err != nil {
		return err
	}
	s.uiURL = "http://" + net.JoinHostPort(o.Host, strconv.Itoa(port))
	return nil
}

// ConnectNATS connects to the stack's NATS as role, with the role's dev nkey.
func (s *Stack) ConnectNATS(role string) (*nats.Conn, jetstream.JetStream, error) {
	return connect.NATS(s.cfg, role, s.natsClientLog)
}

// Namespace is the Temporal namespace the stack's clients use.
func (s *Stack) Namespace() string { return s.cfg.TemporalNamespace }

// DataDir is the directory the stack keeps its databases and keys in.
func (s *Stack) DataDir() string { return s.cfg.DataDir }

// NKeySeedFile is the file of a role's dev nkey seed.
func (s *Stack) NKeySeedFile(role string) string { return config.NKeySeedFile(s.cfg.DataDir, role) }

// natsUsers are the dev stack's NATS users: one nkey per role, its seed kept in the data
// directory (created on first start), with the role's permissions.
func natsUsers(dataDir string) ([]*server.NkeyUser, error) {
	var users []*server.NkeyUser
	for _, role := range config.Roles {
		pub, err := config.EnsureNKeySeed(config.NKeySeedFile(dataDir, role))
		if err != nil {
			return nil, err
		}
		p, err := config.NATSPermissions(role)
		if err != nil {
			return nil, err
		}
		users = append(users, &server.NkeyUser{Nkey: pub, Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: p.Publish},
			Subscribe: &server.SubjectPermission{Allow: p.Subscribe},
		}})
	}
	return users, nil
}

// StartNATS starts the NATS server; after StopNATS, on the same store and port, so that every
// client reconnects to it. It returns once the stack's own connection is back.
func (s *Stack) StartNATS() error {
	ns, err := StartNATS(s.natsCfg, s.natsLog)
	if err != nil {
		return err
	}
	s.NATS = ns
	if addr, ok := ns.Addr().(*net.TCPAddr); ok {
		s.natsCfg.Port = addr.Port
	}
	for deadline := time.Now().Add(30 * time.Second); s.NC != nil && !s.NC.IsConnected(); {
		if time.Now().After(deadline) {
			return fmt.Errorf("nats client did not reconnect to %s", ns.ClientURL())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// StopNATS shuts the NATS server down; clients keep trying to reconnect.
func (s *Stack) StopNATS() {
	s.NATS.Shutdown()
	s.NATS.WaitForShutdown()
}

// StartTemporal starts the Temporal server; after StopTemporal, on the same SQLite file and
// frontend port, so that every client reconnects to it.
func (s *Stack) StartTemporal() error {
	t, err := StartTemporal(s.temporalCfg, s.temporalLog)
	if err != nil {
		return err
	}
	s.Temporal = t
	s.temporalCfg.Port, s.temporalCfg.InternalPorts = t.config.Port, t.config.InternalPorts
	return nil
}

// StopTemporal shuts the Temporal server down; clients keep retrying.
func (s *Stack) StopTemporal() error { return s.Temporal.Stop() }

// StartWorker starts a worker with every journey and the publish activity.
func (s *Stack) StartWorker() error {
	s.Worker = connect.NewWorker(s.cfg, s.Client, s.workerJS, s.Metrics, s.WorkerOptions())
	if err := s.Worker.Start(); err != nil {
		s.Worker = nil
		return fmt.Errorf("start worker: %w", err)
	}
	return nil
}

// WorkerOptions are the options of the stack's worker: workflows.WorkerOptions with the
// configuration's sticky timeout, or the SDK's defaults on a stock stack.
func (s *Stack) WorkerOptions() worker.Options {
	o := connect.WorkerOptions(s.cfg)
	if s.temporalCfg.Stock {
		o = worker.Options{}
	}
	o.PreferredVersionProvider = s.PreferredVersions
	if o.PreferredVersionProvider == nil {
		o.PreferredVersionProvider = workflows.PreferVersions()
	}
	return o
}

// SetStickyTimeout sets the sticky schedule-to-start timeout of the workers started from now
// on (StartWorker, and whoever takes WorkerOptions); 0 is workflows.WorkerOptions' own.
func (s *Stack) SetStickyTimeout(d time.Duration) { s.cfg.StickyTimeout = d }

// StopWorker stops the worker; journeys wait for the next one.
func (s *Stack) StopWorker() {
	if s.Worker != nil {
		s.Worker.Stop()
		s.Worker = nil
	}
}

// NewListener returns a listener wired to the stack, for StartListener; a test may change it first.
func (s *Stack) NewListener() *listener.Listener {
	return connect.NewListener(s.cfg, s.Client, s.listenerJS, s.Keyer, s.policies, s.listenerLog, s.Metrics)
}

// StartListener runs l until StopListener.
func (s *Stack) StartListener(l *listener.Listener) {
	ctx, stop := context.WithCancel(context.Background())
	s.stopListener, s.listenerResult = stop, make(chan error, 1)
	go func() { s.listenerResult <- l.Run(ctx) }()
}

// StopListener stops the listener once the events in hand are settled.
func (s *Stack) StopListener() error {
	if s.stopListener == nil {
		return nil
	}
	s.stopListener()
	s.stopListener = nil
	if err := <-s.listenerResult; err != nil {
		return fmt.Errorf("listener: %w", err)
	}
	return nil
}

// UIURL is the Temporal UI's address ("" without a UI).
func (s *Stack) UIURL() string { return s.uiURL }

// NATSURL is the NATS client address.
func (s *Stack) NATSURL() string { return s.cfg.NATSURL }

// Stop shuts everything down in the reverse order of Start.
func (s *Stack) Stop() error {
	if s.Temporal != nil {
		// From here the server's own complaints (polls cancelled as the worker and client go)
		// are the stop itself: logged at debug.
		s.Temporal.log.phase.Store(phaseStopping)
	}
	var errs []error
	if err := s.StopListener(); err != nil {
		errs = append(errs, err)
	}
	s.StopWorker()
	for _, nc := range []*nats.Conn{s.NC, s.workerNC, s.listenerNC} {
		if nc != nil {
			nc.Close()
		}
	}
	if s.Client != nil {
		s.Client.Close()
	}
	if s.UI != nil {
		s.UI.Stop()
	}
	if err := s.Metrics.Close(); err != nil {
		errs = append(errs, fmt.Errorf("metrics: %w", err))
	}
	if s.Temporal != nil {
		if err := s.StopTemporal(); err != nil {
			errs = append(errs, fmt.Errorf("temporal: %w", err))
		}
	}
	if s.NATS != nil {
		s.StopNATS()
	}
	return errors.Join(errs...)
}

// quieter raises the embedded servers' log level to warnings unless debug logging is on: their
// informational logs drown careclock's own.
func quieter(l zerolog.Logger) zerolog.Logger {
	if l.GetLevel() <= zerolog.DebugLevel {
		return l
	}
	return l.Level(zerolog.WarnLevel)
}
