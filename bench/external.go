package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/careclock/careclock/access"
	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/internal/topology"
)

// external is where bench measures when it is not the dev stack: Temporal and NATS servers that
// already run (-temporal, -nats, -secrets), or the production topology that bench brings up as
// processes (-topology). bench runs its own worker and listener against them, in its process as
// on the dev stack, so that the two runs differ by their servers only.
type external struct {
	temporal, namespace, nats, secrets string
	replicas                           int
	// topology brings docker-compose.yml up as processes (internal/topology) and measures that.
	topology bool
}

func (x external) set() bool { return x.topology || x.temporal != "" }

func (x external) validate(scenarios []string) error {
	if !x.set() {
		return nil
	}
	if x.topology && x.temporal != "" {
		return errors.New("-topology starts its own servers: give it or -temporal, not both")
	}
	if !x.topology && (x.nats == "" || x.secrets == "") {
		return errors.New("-temporal needs -nats and -secrets (the folder starter secrets wrote)")
	}
	for _, s := range scenarios {
		if s == "memory" && !x.topology {
			return errors.New("the memory scenario runs on the dev stack or -topology only")
		}
	}
	return nil
}

// withExternal runs fn against the external servers, with bench's own worker and listener.
func (b *bench) withExternal(ctx context.Context, x external, fn func(*stack.Stack) error) (err error) {
	if x.topology {
		top, stop, err := startTopology(ctx, b)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, stop()) }()
		x.temporal, x.namespace, x.nats, x.secrets, x.replicas = top.TemporalAddress(), "careclock", top.NATSURLs(), top.Secrets(), 3
		b.pgData = filepath.Join(top.Dir, "volumes", "postgresql")
		b.serverPprof = top.TemporalPprofURL()
		if b.serverProfiles != "" {
			if err := checkPprof(ctx, b.serverPprof); err != nil {
				return err
			}
		}
		// bench's worker and listener, and its setup, in one client: the admin certificate.
		certs := access.CertificatesIn(top.Secrets())
		restore, err := setEnv(map[string]string{
			"TEMPORAL_TLS_CLIENT_CERT_PATH": certs.Cert(string(access.Admin)), "TEMPORAL_TLS_CLIENT_KEY_PATH": certs.Key(string(access.Admin)),
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH": certs.CA(), "TEMPORAL_TLS_SERVER_NAME": "temporal",
		})
		if err != nil {
			return err
		}
		defer restore()
	}
	b.temporalAddr, b.namespace = x.temporal, x.namespace
	cfg := baseConfig(x.secrets)
	cfg.StreamReplicas = x.replicas
	if ca := access.CertificatesIn(x.secrets).CA(); fileExists(ca) {
		cfg.NATSCAFile = ca // the deployment's NATS nodes serve TLS with its CA's certificate
		b.natsCA = ca
	}
	quiet := b.log.Level(zerolog.ErrorLevel)
	return b.runOn(ctx, stack.Options{Config: cfg, Log: &quiet, External: &stack.External{
		TemporalAddress: x.temporal, Namespace: x.namespace, NATSURL: x.nats, StreamReplicas: x.replicas,
	}}, fn)
}

// startTopology builds the programs into a folder of their own and brings the production
// topology up as processes, then stops its own workers and listener: bench runs its own. stop
// stops the processes and removes the programs.
func startTopology(ctx context.Context, b *bench) (top *topology.Topology, stop func() error, err error) {
	bin, err := os.MkdirTemp("", "careclock-bench-bin-")
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, os.RemoveAll(bin))
		}
	}()
	b.log.Info().Msg("building the topology's programs (the Temporal server takes a while the first time)")
	if err := topology.Build(ctx, ".", bin); err != nil {
		return nil, nil, fmt.Errorf("%w (run bench from the repository root)", err)
	}
	root, err := filepath.Abs(".")
	if err != nil {
		return nil, nil, err
	}
	top, err = topology.Start(ctx, topology.Options{Root: root, Bin: bin, NATSNoSync: b.natsNoSync, TemporalPprof: b.serverProfiles != ""})
	if err != nil {
		return nil, nil, err
	}
	stop = func() error { return errors.Join(top.Stop(), os.RemoveAll(bin)) }
	b.log.Info().Str("dir", top.Dir).Str("temporal", top.TemporalAddress()).Msg("topology up")
	for _, p := range append(top.Workers, top.Listener) {
		if err := p.Stop(syscall.SIGTERM, 30*time.Second); err != nil {
			return nil, nil, errors.Join(err, stop())
		}
	}
	return top, stop, nil
}

// folderBytes is the size of every file under dir.
func folderBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
