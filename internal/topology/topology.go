// Package topology runs careclock's production topology — docker-compose.yml — as processes on
// one host's loopback: PostgreSQL from Debian's package, its schema set up by the compose
// temporal-schema service's own script, the Temporal server with the compose environment and
// deploy/temporal/dynamicconfig.yaml, three NATS nodes from deploy/nats/nats.conf with the
// authorization `starter secrets` writes, `starter setup`, two workers, the listener, and the
// Temporal UI behind `starter codec --ui`. Everything is read from docker-compose.yml and the
// files it mounts (compose.go says what is changed, and a value it cannot map is an error), so
// a drift between them and the code fails the tests that use it (deploy/topology).
//
// It is what docs/operations.md, "Without containers", describes, and what `bench -topology`
// measures.
package topology

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/oauth2-proxy/mockoidc"
	"go.temporal.io/sdk/client"

	"github.com/careclock/careclock/access"
)

// Options configure Start.
type Options struct {
	// Root is the repository: docker-compose.yml and the files it mounts.
	Root string
	// Bin holds the programs Build built.
	Bin string
	// HistoryShards is TEMPORAL_HISTORY_SHARDS for compose's interpolation; 0 keeps the
	// compose default.
	HistoryShards int
	// Keep leaves the working folder (data and logs) in place after Stop.
	Keep bool
	// NATSNoSync has the NATS nodes fsync on JetStream's own interval instead of every write
	// (deploy/nats/nats.conf's sync_interval: always): for bench, to see what the fsyncs cost on
	// a disk the nodes share with PostgreSQL; never for real data.
	NATSNoSync bool
	// TemporalPprof has the Temporal server serve its Go profiles (PPROF_PORT, on localhost) at
	// Topology.TemporalPprofURL: for bench, to profile the server under load.
	TemporalPprof bool
	// Env is more of compose's interpolation (CARECLOCK_SESSION_IDLE…). Without
	// CARECLOCK_OIDC_ISSUER, Start runs a test OpenID Connect provider (mockoidc) for the front
	// to sign operators in through (Topology.OIDC).
	Env map[string]string
}

// Topology is the running processes.
type Topology struct {
	// Dir is the working folder: Dir/volumes (the compose volumes), Dir/<process>/ (each
	// process's root and log).
	Dir string

	Postgres   *Process
	Temporal   *Process
	NATS       []*Process
	Workers    []*Process
	Listener   *Process
	TemporalUI *Process
	Codec      *Process
	// OIDC is the test OpenID Connect provider Start ran, or nil.
	OIDC *mockoidc.MockOIDC

	opts      Options
	project   *types.Project
	instances map[string]*instance
	health    map[*Process]func(context.Context) error
	started   []*Process
	all       []*Process
}

// programs are the images' programs, built from this module (Build).
var programs = []struct{ name, pkg string }{
	{"worker", "./worker"},
	{"starter", "./starter"},
	{"temporal-server", "./temporal-server"},
	{"temporal-sql-tool", "go.temporal.io/server/cmd/tools/sql"},
	{"nats-server", "github.com/nats-io/nats-server/v2"},
	{"temporal-ui-server", "github.com/temporalio/ui-server/v2/cmd/server"},
}

// imageEntrypoints are the programs of the images whose services do not name one.
var imageEntrypoints = map[string][]string{"nats": {"nats-server"}}

// Build builds every program of the topology into bin with the go command, from the module at
// root: careclock's own (the Temporal server with careclock's authorization among them) and, at
// the versions go.mod pins, Temporal's SQL tool, the Temporal UI server and nats-server.
func Build(ctx context.Context, root, bin string) error {
	for _, p := range programs {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(bin, p.name), p.pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", p.pkg, err, out)
		}
	}
	return nil
}

// Start brings the topology up in compose's dependency order and returns when every
// long-running process passes its compose health check. On an error, what it started is
// stopped.
func Start(ctx context.Context, o Options) (t *Topology, err error) {
	dir, err := os.MkdirTemp("", "careclock-topology-")
	if err != nil {
		return nil, err
	}
	// PostgreSQL runs as its own user, which must reach its data under this folder.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	t = &Topology{Dir: dir, opts: o, instances: map[string]*instance{}, health: map[*Process]func(context.Context) error{}}
	defer func() {
		if err != nil {
			t.opts.Keep = true
			err = errors.Join(fmt.Errorf("%w (logs in %s)", err, dir), t.Stop())
			t = nil
		}
	}()
	codecPort, err := freePort()
	if err != nil {
		return t, err
	}
	password, err := randomHex(24)
	if err != nil {
		return t, err
	}
	env := map[string]string{"POSTGRES_PASSWORD": password, "CARECLOCK_UI_PORT": strconv.Itoa(codecPort)}
	if o.HistoryShards > 0 {
		env["TEMPORAL_HISTORY_SHARDS"] = strconv.Itoa(o.HistoryShards)
	}
	maps.Copy(env, o.Env)
	if env["CARECLOCK_OIDC_ISSUER"] == "" {
		if err := t.startOIDC(env); err != nil {
			return t, err
		}
	}
	if t.project, err = loadCompose(ctx, filepath.Join(o.Root, "docker-compose.yml"), env); err != nil {
		return t, err
	}
	for _, s := range []string{"postgresql", "temporal-schema", "temporal", "temporal-ui", "nats-1", "nats-2", "nats-3", "secrets", "setup", "listener", "codec", "cli"} {
		if _, err := t.newInstance(s, s); err != nil {
			return t, err
		}
	}
	replicas := 1
	if w := t.project.Services["worker"]; w.Deploy != nil && w.Deploy.Replicas != nil {
		replicas = *w.Deploy.Replicas
	}
	for i := range replicas {
		if _, err := t.newInstance("worker", fmt.Sprintf("worker-%d", i+1)); err != nil {
			return t, err
		}
	}
	t.instances["codec"].ports[8080] = codecPort

	steps := []func(context.Context) error{t.startSecrets, t.startPostgres, t.setUpSchema, t.startTemporal, t.startNATS, t.setUp}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return t, err
		}
	}
	for i := range replicas {
		p, err := t.careclock(fmt.Sprintf("worker-%d", i+1), nil)
		if err != nil {
			return t, err
		}
		t.Workers = append(t.Workers, p)
	}
	if t.Listener, err = t.careclock("listener", nil); err != nil {
		return t, err
	}
	if err := t.startUI(ctx); err != nil {
		return t, err
	}
	for _, p := range t.started {
		if err := t.WaitHealthy(ctx, p); err != nil {
			return t, err
		}
	}
	return t, nil
}

// startOIDC runs a test OpenID Connect provider on loopback and sets compose's sign-in settings
// to it: its issuer, client id, and a file holding its client secret.
func (t *Topology) startOIDC(env map[string]string) error {
	m, err := mockoidc.Run()
	if err != nil {
		return fmt.Errorf("test OpenID Connect provider: %w", err)
	}
	t.OIDC = m
	secret := filepath.Join(t.Dir, "oidc-client-secret")
	if err := os.WriteFile(secret, []byte(m.ClientSecret+"\n"), 0o600); err != nil {
		return err
	}
	env["CARECLOCK_OIDC_ISSUER"], env["CARECLOCK_OIDC_CLIENT_ID"], env["CARECLOCK_OIDC_CLIENT_SECRET_FILE"] = m.Issuer(), m.ClientID, secret
	return nil
}

// Stop stops every process, last started first, with compose's grace period, and removes the
// working folder unless Keep.
func (t *Topology) Stop() error {
	var errs []error
	for _, p := range slices.Backward(t.started) {
		sig := syscall.SIGTERM
		if p == t.Postgres {
			sig = syscall.SIGINT // PostgreSQL's fast shutdown, as pg_ctl stop -m fast
		}
		if err := p.Stop(sig, 30*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if t.OIDC != nil {
		errs = append(errs, t.OIDC.Shutdown())
	}
	if !t.opts.Keep {
		errs = append(errs, os.RemoveAll(t.Dir))
	}
	return errors.Join(errs...)
}

// WaitHealthy waits until p passes its compose health check (or, for the Temporal server, takes
// requests).
func (t *Topology) WaitHealthy(ctx context.Context, p *Process) error {
	check := t.health[p]
	if check == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for {
		if !p.Running() {
			return fmt.Errorf("%s exited:\n%s", p.Name, p.Tail(30))
		}
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never became healthy: %w\n%s", p.Name, err, p.Tail(30))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// process prepares a program for an instance.
func (t *Topology) process(name, path string, args, env []string) *Process {
	dir := filepath.Join(t.Dir, name)
	_ = os.MkdirAll(dir, 0o755) // a failure shows when the process cannot open its log
	p := &Process{Name: name, Path: path, Args: args, Env: env, Dir: dir, Log: filepath.Join(dir, name+".log")}
	t.all = append(t.all, p)
	return p
}

// launch starts a long-running process and records it for Stop.
func (t *Topology) launch(p *Process, health func(context.Context) error) error {
	if err := p.Start(); err != nil {
		return err
	}
	t.started = append(t.started, p)
	if health != nil {
		t.health[p] = health
	}
	return nil
}

func (t *Topology) rewriter(name string) rewriter {
	in := t.instances[name]
	return rewriter{t: t, inst: in, service: t.project.Services[in.service]}
}

// program is the path of a program an image runs, by its base name.
func (t *Topology) program(path string) (string, error) {
	base := filepath.Base(path)
	for _, p := range programs {
		if p.name == base {
			return filepath.Join(t.opts.Bin, base), nil
		}
	}
	return "", fmt.Errorf("no program %s among those Build builds", path)
}

// command is an instance's entrypoint and command, rewritten, with the program from Bin.
func (t *Topology) command(name string) (string, []string, error) {
	r := t.rewriter(name)
	entrypoint := r.service.Entrypoint
	if len(entrypoint) == 0 {
		image, _, _ := strings.Cut(r.service.Image, ":")
		entrypoint = imageEntrypoints[image]
	}
	argv, err := r.args(append(slices.Clone(entrypoint), r.service.Command...))
	if err != nil {
		return "", nil, err
	}
	if len(argv) == 0 {
		return "", nil, fmt.Errorf("%s: no entrypoint or command in docker-compose.yml", name)
	}
	path, err := t.program(argv[0])
	return path, argv[1:], err
}

// composeCheck is an instance's compose health check, rewritten: careclock's `starter health`,
// or an HTTP GET where the image uses wget.
func (t *Topology) composeCheck(name string) (func(context.Context) error, error) {
	r := t.rewriter(name)
	hc := r.service.HealthCheck
	if hc == nil || len(hc.Test) < 2 || hc.Test[0] != "CMD" {
		return nil, fmt.Errorf("%s: no CMD health check in docker-compose.yml", name)
	}
	argv, err := r.args(hc.Test[1:])
	if err != nil {
		return nil, err
	}
	switch filepath.Base(argv[0]) {
	case "wget":
		// An https check is made trusting the deployment's CA (wget in the image does not
		// verify; the harness does).
		url := argv[len(argv)-1]
		return func(ctx context.Context) error { return t.httpOK(ctx, url) }, nil
	case "starter":
		return func(ctx context.Context) error {
			out, err := exec.CommandContext(ctx, filepath.Join(t.opts.Bin, "starter"), argv[1:]...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%w: %s", err, out)
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("%s: health check %v: the harness runs starter and wget checks", name, hc.Test)
}

// HTTPClient is an HTTP client that trusts the deployment's CA (the front, the UI, the NATS
// nodes' monitoring), and no other.
func (t *Topology) HTTPClient() (*http.Client, error) {
	pool, err := access.LoadPool(t.CA())
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

// httpOK GETs url and fails unless it answers 200; an https URL must present a certificate of
// the deployment's CA.
func (t *Topology) httpOK(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	client, err := t.HTTPClient()
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// startSecrets runs the secrets service: keys, UI token, NATS seeds and the NATS servers'
// authorization.
func (t *Topology) startSecrets(context.Context) error {
	path, args, err := t.command("secrets")
	if err != nil {
		return err
	}
	return run(t.process("secrets", path, args, nil), time.Minute)
}

// startPostgres initialises the postgresql volume as the image does (the superuser and password
// of its environment) and runs the server on its loopback port, as the postgres user when the
// tests run as root.
func (t *Topology) startPostgres(ctx context.Context) error {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return errors.New("PostgreSQL is not installed: apt-get install postgresql (Debian's package; .ci/run installs it)")
	}
	slices.Sort(bins)
	pgbin := filepath.Dir(bins[len(bins)-1])
	s := t.project.Services["postgresql"]
	in := t.instances["postgresql"]
	data := filepath.Join(in.root, "var/lib/postgresql/data")
	pg := t.process("postgresql", filepath.Join(pgbin, "postgres"), []string{
		"-D", data, "-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(in.ports[5432]), "-k", data,
	}, []string{"PATH=" + os.Getenv("PATH")})
	if err := os.MkdirAll(pg.Dir, 0o755); err != nil {
		return err
	}
	pwfile := filepath.Join(pg.Dir, "password")
	if err := os.WriteFile(pwfile, []byte(*s.Environment["POSTGRES_PASSWORD"]), 0o600); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root, PostgreSQL needs its own user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		for _, p := range []string{pg.Dir, pwfile, filepath.Join(t.Dir, "volumes", "postgresql")} {
			if err := os.Chown(p, uid, gid); err != nil {
				return err
			}
		}
	}
	settings, err := t.postgresSettings(pg.cred)
	if err != nil {
		return err
	}
	pg.Args = append(pg.Args, settings...)
	initdb := t.process("postgresql", filepath.Join(pgbin, "initdb"), []string{
		"-D", data, "-U", *s.Environment["POSTGRES_USER"], "--pwfile", pwfile, "--auth", "scram-sha-256", "-E", "UTF8",
	}, pg.Env)
	initdb.cred = pg.cred
	if err := run(initdb, 2*time.Minute); err != nil {
		return err
	}
	t.Postgres = pg
	// compose's check, pg_isready with its arguments, pointed at the loopback port.
	test := s.HealthCheck.Test
	if len(test) < 2 || test[1] != "pg_isready" {
		return fmt.Errorf("postgresql: health check %v, the harness runs pg_isready", test)
	}
	args := append(slices.Clone(test[2:]), "-h", "127.0.0.1", "-p", strconv.Itoa(in.ports[5432]))
	return t.launch(pg, func(ctx context.Context) error {
		out, err := exec.CommandContext(ctx, filepath.Join(pgbin, "pg_isready"), args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
}

// postgresSettings are the postgresql service's command settings (`-c name=value` after
// `postgres`) for the process here. A file a setting names (its certificate, key, pg_hba.conf)
// is copied into the server's own folder for its user, who alone may read its key: from the
// path the compose entrypoint installs it from (`install … SRC DEST`), else from the mount.
func (t *Topology) postgresSettings(cred *syscall.Credential) ([]string, error) {
	r := t.rewriter("postgresql")
	cmd := r.service.Command
	if len(cmd) == 0 || cmd[0] != "postgres" {
		return nil, fmt.Errorf("postgresql: command %v, the harness runs postgres -c …", cmd)
	}
	script := strings.Join(r.service.Entrypoint, " ")
	dir := filepath.Join(t.Dir, "postgresql")
	var out []string
	for i := 1; i < len(cmd); i++ {
		if cmd[i] != "-c" || i+1 == len(cmd) {
			return nil, fmt.Errorf("postgresql: command %v, the harness runs postgres -c …", cmd)
		}
		i++
		name, value, _ := strings.Cut(cmd[i], "=")
		if strings.HasPrefix(value, "/") {
			source := value
			if m := regexp.MustCompile(`install\b[^&;]*\s(\S+)\s+` + regexp.QuoteMeta(value)).FindStringSubmatch(script); m != nil {
				source = m[1]
			}
			local, err := r.value("", source)
			if err != nil {
				return nil, err
			}
			b, err := os.ReadFile(local)
			if err != nil {
				return nil, fmt.Errorf("postgresql: %s: %w", name, err)
			}
			value = filepath.Join(dir, filepath.Base(value))
			if err := os.WriteFile(value, b, 0o600); err != nil {
				return nil, err
			}
			if cred != nil {
				if err := os.Chown(value, int(cred.Uid), int(cred.Gid)); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, "-c", name+"="+value)
	}
	return out, nil
}

// setUpSchema runs the temporal-schema service's script with its environment, its
// temporal-sql-tool built from go.temporal.io/server.
func (t *Topology) setUpSchema(ctx context.Context) error {
	if err := t.WaitHealthy(ctx, t.Postgres); err != nil {
		return err
	}
	r := t.rewriter("temporal-schema")
	env, err := r.environment(nil)
	if err != nil {
		return err
	}
	argv := append(slices.Clone(r.service.Entrypoint), r.service.Command...)
	if len(argv) < 2 || argv[0] != "sh" {
		return fmt.Errorf("temporal-schema: entrypoint %v, the harness runs a sh script", argv)
	}
	return run(t.process("temporal-schema", "/bin/sh", argv[1:], env), 5*time.Minute)
}

// temporalPorts are the Temporal server's ports besides the frontend's (which compose
// publishes): its services' gRPC and membership ports, on loopback ports of their own.
var temporalPorts = []string{
	"FRONTEND_HTTP_PORT", "FRONTEND_MEMBERSHIP_PORT", "HISTORY_GRPC_PORT", "HISTORY_MEMBERSHIP_PORT",
	"MATCHING_GRPC_PORT", "MATCHING_MEMBERSHIP_PORT", "WORKER_GRPC_PORT", "WORKER_MEMBERSHIP_PORT",
	"INTERNAL_FRONTEND_GRPC_PORT", "INTERNAL_FRONTEND_MEMBERSHIP_PORT", "INTERNAL_FRONTEND_HTTP_PORT",
}

// startTemporal runs the Temporal server as its image does (careclock's temporal-server, its
// configuration the server's own template over the compose environment), and waits for its
// frontend to answer a client with the admin certificate.
func (t *Topology) startTemporal(ctx context.Context) error {
	path, args, err := t.command("temporal")
	if err != nil {
		return err
	}
	extra := map[string]string{"FRONTEND_GRPC_PORT": strconv.Itoa(t.instances["temporal"].ports[7233])}
	for _, k := range temporalPorts {
		p, err := freePort()
		if err != nil {
			return err
		}
		extra[k] = strconv.Itoa(p)
	}
	if t.opts.TemporalPprof {
		p, err := freePort()
		if err != nil {
			return err
		}
		extra["PPROF_PORT"] = strconv.Itoa(p)
	}
	env, err := t.rewriter("temporal").environment(extra)
	if err != nil {
		return err
	}
	t.Temporal = t.process("temporal", path, args, env)
	opts, err := t.TemporalOptions(access.Admin)
	if err != nil {
		return err
	}
	opts.Namespace = "temporal-system"
	return t.launch(t.Temporal, func(ctx context.Context) error {
		c, err := client.Dial(opts)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
}

// startNATS runs the three nodes, each on deploy/nats/nats.conf rewritten to its ports and
// folders, with the authorization the secrets service wrote.
func (t *Topology) startNATS(ctx context.Context) error {
	for _, name := range []string{"nats-1", "nats-2", "nats-3"} {
		path, args, err := t.command(name)
		if err != nil {
			return err
		}
		conf := args[slices.Index(args, "--config")+1]
		// The config file is the repository's, rewritten; the mount beside it (auth/) stays.
		text, err := os.ReadFile(conf)
		if err != nil {
			return err
		}
		r := t.rewriter(name)
		local, err := r.value("", string(text))
		if err != nil {
			return err
		}
		if t.opts.NATSNoSync {
			const always = "sync_interval: always"
			if !strings.Contains(local, always) {
				return fmt.Errorf("%s: no %q to lift", conf, always)
			}
			local = strings.Replace(local, always, "sync_interval: 2m", 1)
		}
		if err := os.Remove(conf); err != nil {
			return err
		}
		if err := os.WriteFile(conf, []byte(local), 0o644); err != nil {
			return err
		}
		env, err := r.environment(nil)
		if err != nil {
			return err
		}
		p := t.process(name, path, args, env)
		check, err := t.composeCheck(name)
		if err != nil {
			return err
		}
		if err := t.launch(p, check); err != nil {
			return err
		}
		t.NATS = append(t.NATS, p)
	}
	for _, p := range t.NATS {
		if err := t.WaitHealthy(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// setUp runs the setup service: namespace, search attributes, streams with 3 replicas.
func (t *Topology) setUp(ctx context.Context) error {
	if err := t.WaitHealthy(ctx, t.Temporal); err != nil {
		return err
	}
	path, args, err := t.command("setup")
	if err != nil {
		return err
	}
	env, err := t.rewriter("setup").environment(nil)
	if err != nil {
		return err
	}
	return run(t.process("setup", path, args, env), 4*time.Minute)
}

// careclock starts a long-running careclock service (worker, listener) with its health check.
func (t *Topology) careclock(name string, extra map[string]string) (*Process, error) {
	path, args, err := t.command(name)
	if err != nil {
		return nil, err
	}
	env, err := t.rewriter(name).environment(extra)
	if err != nil {
		return nil, err
	}
	check, err := t.composeCheck(name)
	if err != nil {
		return nil, err
	}
	p := t.process(name, path, args, env)
	return p, t.launch(p, check)
}

// startUI runs the Temporal UI server on the image's configuration template (from the module),
// bound to loopback, and the codec service in front of it.
func (t *Topology) startUI(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/temporalio/ui-server/v2")
	cmd.Dir = t.opts.Root
	moduleDir, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go list the UI server's module: %w", err)
	}
	template, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(moduleDir)), "config", "docker.yaml"))
	if err != nil {
		return err
	}
	root := t.instances["temporal-ui"].root
	if err := os.MkdirAll(filepath.Join(root, "config"), 0o755); err != nil {
		return err
	}
	// The image listens on every interface; here, on loopback only.
	template = append(template, "\nhost: 127.0.0.1\n"...)
	if err := os.WriteFile(filepath.Join(root, "config", "docker.yaml"), template, 0o644); err != nil {
		return err
	}
	env, err := t.rewriter("temporal-ui").environment(nil)
	if err != nil {
		return err
	}
	t.TemporalUI = t.process("temporal-ui", filepath.Join(t.opts.Bin, "temporal-ui-server"), []string{"--root", root, "--config", "config", "--env", "docker", "start"}, env)
	uiURL := "https://127.0.0.1:" + strconv.Itoa(t.instances["temporal-ui"].ports[8080]) + "/healthz"
	if err := t.launch(t.TemporalUI, func(ctx context.Context) error { return t.httpOK(ctx, uiURL) }); err != nil {
		return err
	}
	t.Codec, err = t.careclock("codec", nil)
	return err
}

// TemporalPprofURL is where the Temporal server serves its Go profiles (/debug/pprof/), or ""
// without Options.TemporalPprof.
func (t *Topology) TemporalPprofURL() string {
	if t.Temporal == nil {
		return ""
	}
	for _, kv := range t.Temporal.Env {
		if v, ok := strings.CutPrefix(kv, "PPROF_PORT="); ok {
			return "http://localhost:" + v + "/debug/pprof/"
		}
	}
	return ""
}

// TemporalAddress is the Temporal frontend's host:port.
func (t *Topology) TemporalAddress() string {
	return "127.0.0.1:" + strconv.Itoa(t.instances["temporal"].ports[7233])
}

// InternalFrontendAddress is the Temporal server's internal frontend (the server's own calls,
// internode TLS), host:port.
func (t *Topology) InternalFrontendAddress() string {
	for _, kv := range t.Temporal.Env {
		if v, ok := strings.CutPrefix(kv, "INTERNAL_FRONTEND_GRPC_PORT="); ok {
			return "127.0.0.1:" + v
		}
	}
	return ""
}

// TemporalOptions are the options of a Temporal client with role's certificate from the
// secrets volume, as compose's services make them: the CA, and the name "temporal" verified.
func (t *Topology) TemporalOptions(role access.Role) (client.Options, error) {
	certs := access.CertificatesIn(t.Secrets())
	cert, err := tls.LoadX509KeyPair(certs.Cert(string(role)), certs.Key(string(role)))
	if err != nil {
		return client.Options{}, err
	}
	pool, err := access.LoadPool(certs.CA())
	if err != nil {
		return client.Options{}, err
	}
	return client.Options{
		HostPort: t.TemporalAddress(), Namespace: "careclock", Logger: quiet{},
		ConnectionOptions: client.ConnectionOptions{TLS: &tls.Config{
			Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "temporal", MinVersion: tls.VersionTLS12,
		}},
	}, nil
}

// NATSURLs are the three nodes' client URLs (TLS), comma-separated, as NATS_URL takes them.
func (t *Topology) NATSURLs() string {
	var urls []string
	for _, n := range []string{"nats-1", "nats-2", "nats-3"} {
		urls = append(urls, "tls://127.0.0.1:"+strconv.Itoa(t.instances[n].ports[4222]))
	}
	return strings.Join(urls, ",")
}

// CLIEnv is the environment of compose's cli service (the operators' commands, with the admin
// NATS seed), as processes on this host see it.
func (t *Topology) CLIEnv() ([]string, error) { return t.rewriter("cli").environment(nil) }

// SecretsCommand is the compose secrets service's program and arguments, as this host runs it
// (its folders are the volumes'), for a test to run it again.
func (t *Topology) SecretsCommand() (string, []string, error) { return t.command("secrets") }

// FrontURL is where the codec front (the UI and the codec behind the operators' sign-in)
// answers, by the name its sign-in sends browsers back to.
func (t *Topology) FrontURL() string {
	return "https://localhost:" + strconv.Itoa(t.instances["codec"].ports[8080])
}

// Port is the loopback port of an instance's container port (nats-1's 6222, its route port).
func (t *Topology) Port(instance string, containerPort int) int {
	return t.instances[instance].ports[containerPort]
}

// PostgresPassword is the password of PostgreSQL's superuser (compose's POSTGRES_PASSWORD).
func (t *Topology) PostgresPassword() string {
	return *t.project.Services["postgresql"].Environment["POSTGRES_PASSWORD"]
}

// CA is the deployment's CA certificate, which every server's certificate verifies against.
func (t *Topology) CA() string { return access.CertificatesIn(t.Secrets()).CA() }

// Secrets is the secrets volume's folder.
func (t *Topology) Secrets() string { return filepath.Join(t.Dir, "volumes", "secrets") }

// Processes are every process the topology ran, one-shots included, in the order they were
// prepared.
func (t *Topology) Processes() []*Process { return slices.Clone(t.all) }

// Bin is the programs' folder.
func (t *Topology) Bin() string { return t.opts.Bin }

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// quiet drops the SDK's log lines while the harness waits for the server.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
