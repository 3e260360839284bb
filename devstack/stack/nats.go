package stack

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// NATSConfig describes the embedded NATS server.
type NATSConfig struct {
	// StoreDir is the JetStream file store; it survives restarts.
	StoreDir string
	// Host and Port to listen on; Port -1 picks a free port.
	Host string
	Port int
	// Users are the nkey users allowed to connect, each with its permissions; none lets anyone
	// in (tests of the bare server only).
	Users []*server.NkeyUser
	// TLSCert and TLSKey, when set, make clients connect over TLS.
	TLSCert, TLSKey string
	// NoSync turns SyncAlways off: for the benchmark's diagnosis only, never for data one keeps.
	NoSync bool
}

// StartNATS starts an in-process NATS server with JetStream.
//
// JetStream is run with SyncAlways: every acknowledged write is fsynced before the
// acknowledgement. With the default (fsync every 2 minutes) a crash of the machine can lose
// events that publishers were told were stored — an inbound event nobody will send again, or a
// journey event a letter depends on. careclock's volumes are small enough to pay for the fsync.
func StartNATS(cfg NATSConfig, log zerolog.Logger) (*server.Server, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	opts := &server.Options{
		ServerName: "careclock-dev",
		Host:       cfg.Host,
		Port:       cfg.Port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		SyncAlways: !cfg.NoSync,
		NoSigs:     true,
		Nkeys:      cfg.Users,
	}
	if cfg.TLSCert != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey})
		if err != nil {
			return nil, fmt.Errorf("nats tls: %w", err)
		}
		opts.TLSConfig, opts.TLS = tc, true
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	ns.SetLoggerV2(natsLogger{log}, false, false, false)
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("nats server on %s:%d did not start (is the port in use?)", cfg.Host, cfg.Port)
	}
	return ns, nil
}

type natsLogger struct{ z zerolog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.z.Debug().Msgf(format, v...) }
func (l natsLogger) Warnf(format string, v ...any)   { l.z.Warn().Msgf(format, v...) }
func (l natsLogger) Fatalf(format string, v ...any)  { l.z.Error().Msgf(format, v...) }
func (l natsLogger) Errorf(format string, v ...any)  { l.z.Error().Msgf(format, v...) }
func (l natsLogger) Debugf(format string, v ...any)  { l.z.Trace().Msgf(format, v...) }
func (l natsLogger) Tracef(format string, v ...any)  { l.z.Trace().Msgf(format, v...) }
