// Package deploy holds docker-compose.yml (at the repository root) and its configuration files
// to the code: the file is loaded with the compose specification's own loader, and every
// careclock service is checked against what the binaries need.
package deploy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"gopkg.in/yaml.v3"

	"github.com/careclock/careclock/access"
	"github.com/careclock/careclock/codecserver"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/internal/reliability"
	"github.com/careclock/careclock/internal/testkit"
)

const (
	composeFile = "../docker-compose.yml"
	guide       = "../docs/operations.md"
	// testPassword stands for the operator's .env.
	testPassword = "compose-test-password"
)

func load(t *testing.T, file string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithEnv([]string{"POSTGRES_PASSWORD=" + testPassword, "CARECLOCK_OIDC_ISSUER=https://login.plan.example",
			"CARECLOCK_OIDC_CLIENT_ID=careclock", "CARECLOCK_OIDC_CLIENT_SECRET_FILE=/etc/careclock/oidc-client-secret"}),
		cli.WithProfiles([]string{"tools"}),
		cli.WithResolvedPaths(false))
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func project(t *testing.T) *types.Project {
	t.Helper()
	p, err := load(t, composeFile)
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

func TestComposeLoaderRejectsAnInvalidFile(t *testing.T) {
	for name, body := range map[string]string{
		"misspelt key":    "services:\n  worker:\n    image: careclock:1.0\n    helthcheck: {}\n",
		"bad dependency":  "services:\n  worker:\n    image: careclock:1.0\n    depends_on: [nowhere]\n",
		"not a port":      "services:\n  worker:\n    image: careclock:1.0\n    ports: [\"eighty\"]\n",
		"missing secret":  "services:\n  db:\n    image: postgres:16.4\n    environment:\n      P: ${POSTGRES_PASSWORD_UNSET:?set it}\n",
		"unknown section": "servics:\n  worker:\n    image: careclock:1.0\n",
	} {
		path := filepath.Join(t.TempDir(), "docker-compose.yml")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := load(t, path); err == nil {
			t.Errorf("%s: loaded without error", name)
		}
	}
}

// pinned is an image reference with a version tag (or a digest): never latest, never bare.
var pinned = regexp.MustCompile(`^[a-z0-9./_-]+(:[0-9][A-Za-z0-9._-]*)?(@sha256:[0-9a-f]{64})?$`)

func TestImagesArePinned(t *testing.T) {
	for name, s := range project(t).Services {
		if s.Build != nil {
			if s.Build.Context != "." && s.Build.Context != ".." && filepath.Base(s.Build.Context) != filepath.Base(mustAbs(t, "..")) {
				t.Errorf("%s: built from %q, not this repository", name, s.Build.Context)
			}
			continue
		}
		if !pinned.MatchString(s.Image) || !strings.ContainsAny(s.Image, ":@") {
			t.Errorf("%s: image %q is not pinned to a version", name, s.Image)
		}
	}
	dockerfile, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	froms := 0
	for line := range strings.Lines(string(dockerfile)) {
		if f := strings.Fields(line); len(f) >= 2 && strings.EqualFold(f[0], "FROM") {
			froms++
			if f[1] != "scratch" && (!pinned.MatchString(f[1]) || !strings.Contains(f[1], ":")) {
				t.Errorf("Dockerfile: base image %q is not pinned", f[1])
			}
		}
	}
	if froms < 2 {
		t.Errorf("Dockerfile has %d stages, want a build stage and a minimal one", froms)
	}
}

// careclockServices are the services running careclock's image, with the process each runs.
func careclockServices(t *testing.T, p *types.Project) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, s := range p.Services {
		if s.Build == nil {
			continue
		}
		if len(s.Entrypoint) == 0 {
			t.Fatalf("%s: no entrypoint", name)
		}
		switch bin := filepath.Base(s.Entrypoint[0]); {
		case bin == "temporal-server":
			continue // the Temporal server with careclock's authorization, not a careclock process
		case bin == "worker":
			out[name] = config.ProcessWorker
		case bin == "starter" && len(s.Command) > 0:
			out[name] = s.Command[0]
		case bin == "starter" && slices.Contains(s.Profiles, "tools"):
			out[name] = "cli"
		default:
			t.Fatalf("%s: runs %v %v", name, s.Entrypoint, s.Command)
		}
	}
	return out
}

func env(s types.ServiceConfig, name string) string {
	if v := s.Environment[name]; v != nil {
		return *v
	}
	return ""
}

func TestEveryCareclockServiceHasWhatItsProcessNeeds(t *testing.T) {
	p := project(t)
	services := careclockServices(t, p)
	secrets := config.SecretsIn("/secrets")
	role := map[string]string{config.ProcessWorker: config.RoleWorker, config.ProcessListener: config.RoleListener,
		config.ProcessSetup: config.RoleAdmin, "cli": config.RoleAdmin}
	seen := map[string]bool{}
	for name, process := range services {
		seen[process] = true
		s := p.Services[name]
		needs := config.Needs(process)
		if process == "cli" {
			needs = config.Needs(config.ProcessListener)
		}
		for _, need := range needs {
			set := false
			for v := range strings.SplitSeq(need, "|") {
				set = set || env(s, v) != ""
			}
			if !set {
				t.Errorf("%s (%s): %s is not set", name, process, need)
			}
		}
		if r, ok := role[process]; ok && env(s, "NATS_NKEY_SEED_FILE") != secrets.NATSSeeds[r] {
			t.Errorf("%s (%s): NATS_NKEY_SEED_FILE=%q, want the %s seed %s", name, process, env(s, "NATS_NKEY_SEED_FILE"), r, secrets.NATSSeeds[r])
		}
		// Every secret a service names is one `starter secrets` creates, in a volume it mounts.
		for k, v := range s.Environment {
			if v == nil || !strings.HasPrefix(*v, "/secrets/") {
				continue
			}
			known := *v == secrets.HMACKey || *v == secrets.CodecKeys || *v == secrets.UIToken || slices.Contains(certificateFiles(), *v)
			for _, seed := range secrets.NATSSeeds {
				known = known || *v == seed
			}
			if !known {
				t.Errorf("%s: %s=%s is not a file `starter secrets --dir /secrets` creates", name, k, *v)
			}
			if !mounts(s, "secrets", "/secrets") && !mounts(s, "secrets", *v) {
				t.Errorf("%s: names %s but does not mount it from the secrets volume", name, *v)
			}
		}
		// The same journeys, task queue and keys everywhere.
		for _, v := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "CARECLOCK_TASK_QUEUE", "CARECLOCK_CODEC_KEYS_FILE", "NATS_URL"} {
			if got, want := env(s, v), env(p.Services["worker"], v); got != "" && got != want {
				t.Errorf("%s: %s=%q, the worker has %q", name, v, got, want)
			}
		}
	}
	for _, process := range []string{config.ProcessWorker, config.ProcessListener, config.ProcessCodec, config.ProcessSetup, "secrets"} {
		if !seen[process] {
			t.Errorf("no service runs %s", process)
		}
	}
	if r := p.Services["worker"].Deploy; r == nil || r.Replicas == nil || *r.Replicas != 2 {
		t.Errorf("worker replicas: %+v, want 2", r)
	}
	// The secrets service writes where the others read, and reads every NATS node's data to
	// refuse new keys over an existing deployment.
	sec := p.Services[serviceRunning(t, services, "secrets")]
	if !slices.Equal(sec.Command[:5], []string{"secrets", "--dir", "/secrets", "--nats-auth", "/nats-auth/auth.conf"}) ||
		!mounts(sec, "secrets", "/secrets") || !mounts(sec, "nats-auth", "/nats-auth") {
		t.Errorf("secrets service: %v with %+v", sec.Command, sec.Volumes)
	}
	for _, node := range []string{"nats-1", "nats-2", "nats-3"} {
		at := "/deployment/" + node
		if !mounts(sec, node, at) || !slices.Contains(sec.Command, at) {
			t.Errorf("secrets service does not read %s's data (--deployment-data %s): %v with %+v", node, at, sec.Command, sec.Volumes)
		}
	}
	if v := env(p.Services["postgresql"], "POSTGRES_PASSWORD"); v != testPassword {
		t.Errorf("the database password is %q, not the operator's (.env)", v)
	}
}

func serviceRunning(t *testing.T, services map[string]string, process string) string {
	t.Helper()
	for name, p := range services {
		if p == process {
			return name
		}
	}
	t.Fatalf("no service runs %s", process)
	return ""
}

func mounts(s types.ServiceConfig, source, target string) bool {
	return slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Source == source && v.Target == target
	})
}

func TestEveryLongRunningCareclockServiceHasAHealthCheckOnItsPort(t *testing.T) {
	p := project(t)
	for name, process := range careclockServices(t, p) {
		s := p.Services[name]
		if s.Restart == "no" {
			// A one-shot: the services after it wait for service_completed_successfully.
			dependents := 0
			for _, o := range p.Services {
				if d, ok := o.DependsOn[name]; ok && d.Condition == types.ServiceConditionCompletedSuccessfully {
					dependents++
				}
			}
			if dependents == 0 && process != "cli" {
				t.Errorf("%s: a one-shot nothing waits for", name)
			}
			continue
		}
		hc := s.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 3 {
			t.Errorf("%s: no health check", name)
			continue
		}
		var port string
		switch process {
		case config.ProcessCodec:
			port = flagValue(s.Command, "--addr")
		default:
			port = env(s, "CARECLOCK_METRICS_ADDR")
		}
		_, port, err := net.SplitHostPort(port)
		if err != nil {
			t.Errorf("%s: no address to check: %v", name, err)
			continue
		}
		target, err := url.Parse(hc.Test[len(hc.Test)-1])
		if hc.Test[0] != "CMD" || filepath.Base(hc.Test[1]) != "starter" || hc.Test[2] != "health" || err != nil ||
			target.Port() != port || target.Path != codecserver.HealthPath {
			t.Errorf("%s: health check %v, want starter health on port %s%s", name, hc.Test, port, codecserver.HealthPath)
		}
	}
}

func flagValue(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func TestTemporalUIAndCodecAreWiredTogether(t *testing.T) {
	p := project(t)
	server, tools, ui := p.Services["temporal"], p.Services["temporal-schema"], p.Services["temporal-ui"]
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	pinned := regexp.MustCompile(`(?m)^\s*go\.temporal\.io/server v(\S+)`).FindSubmatch(mod)
	if server.Build == nil || server.Build.Target != "temporal" || pinned == nil || version(tools.Image) != string(pinned[1]) ||
		!strings.HasPrefix(tools.Image, "temporalio/admin-tools:") {
		t.Errorf("server built %+v, go.mod's server %q, schema tools %s: the schema must be the server's version", server.Build, pinned, tools.Image)
	}
	if d := server.DependsOn["temporal-schema"]; d.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("temporal starts before its schema is set up: %+v", server.DependsOn)
	}
	if env(server, "DB") != "postgres12" || env(server, "POSTGRES_SEEDS") != "postgresql" {
		t.Errorf("temporal is not on the postgresql service: DB=%s seeds=%s", env(server, "DB"), env(server, "POSTGRES_SEEDS"))
	}
	if n, err := strconv.Atoi(env(server, "NUM_HISTORY_SHARDS")); err != nil || n < 1 {
		t.Errorf("NUM_HISTORY_SHARDS=%q", env(server, "NUM_HISTORY_SHARDS"))
	}
	dyn := env(server, "DYNAMIC_CONFIG_FILE_PATH")
	var mounted string
	for _, v := range server.Volumes {
		if v.Target == dyn {
			mounted = v.Source
		}
	}
	b, err := os.ReadFile(filepath.Join("..", mounted))
	var settings map[string][]map[string]any
	if err != nil || yaml.Unmarshal(b, &settings) != nil || len(settings) == 0 {
		t.Errorf("dynamic config %s (mounted from %q): %v", dyn, mounted, err)
	}
	worker := p.Services["worker"]
	if host, _, _ := net.SplitHostPort(env(worker, "TEMPORAL_ADDRESS")); host != "temporal" || env(ui, "TEMPORAL_ADDRESS") != env(worker, "TEMPORAL_ADDRESS") {
		t.Errorf("worker reaches %s, the UI %s", env(worker, "TEMPORAL_ADDRESS"), env(ui, "TEMPORAL_ADDRESS"))
	}
	if env(ui, "TEMPORAL_DEFAULT_NAMESPACE") != env(worker, "TEMPORAL_NAMESPACE") {
		t.Errorf("the UI opens namespace %q, journeys run in %q", env(ui, "TEMPORAL_DEFAULT_NAMESPACE"), env(worker, "TEMPORAL_NAMESPACE"))
	}
	if env(ui, "TEMPORAL_CODEC_ENDPOINT") != codecserver.CodecPath {
		t.Errorf("the UI's codec endpoint is %q, the codec service serves %s", env(ui, "TEMPORAL_CODEC_ENDPOINT"), codecserver.CodecPath)
	}
	codec := p.Services[serviceRunning(t, careclockServices(t, p), config.ProcessCodec)]
	if want := "https://temporal-ui:" + env(ui, "TEMPORAL_UI_PORT"); flagValue(codec.Command, "--ui") != want {
		t.Errorf("codec --ui %q, want %s", flagValue(codec.Command, "--ui"), want)
	}
	if len(ui.Ports) != 0 {
		t.Errorf("the UI is published (%v): it must be reached through the codec service's password", ui.Ports)
	}
	if len(codec.Ports) != 1 || codec.Ports[0].HostIP != "127.0.0.1" {
		t.Errorf("codec ports %+v: publish it on loopback (a TLS proxy goes in front)", codec.Ports)
	}
}

func version(image string) string { _, v, _ := strings.Cut(image, ":"); return v }

func TestNATSClusterIsTheCodesAndLosesNoAcknowledgedWrite(t *testing.T) {
	p := project(t)
	var nodes []string
	for name, s := range p.Services {
		if strings.HasPrefix(s.Image, "nats:") {
			nodes = append(nodes, name)
		}
	}
	slices.Sort(nodes)
	if len(nodes) != 3 {
		t.Fatalf("NATS services %v, want a cluster of 3", nodes)
	}
	worker := p.Services["worker"]
	if env(worker, "CARECLOCK_STREAM_REPLICAS") != strconv.Itoa(len(nodes)) {
		t.Errorf("streams get %s replicas on a cluster of %d", env(worker, "CARECLOCK_STREAM_REPLICAS"), len(nodes))
	}
	var urls []string
	for _, n := range nodes {
		urls = append(urls, "tls://"+n+":4222")
	}
	if got := env(worker, "NATS_URL"); got != strings.Join(urls, ",") {
		t.Errorf("NATS_URL=%s, want every node: %s", got, strings.Join(urls, ","))
	}

	// Each node runs deploy/nats/nats.conf with the authorization `starter secrets` writes.
	keys := map[string]string{}
	for _, role := range config.Roles {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		if keys[role], err = kp.PublicKey(); err != nil {
			t.Fatal(err)
		}
	}
	auth, err := config.NATSAuthConf(keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range nodes {
		s := p.Services[name]
		confPath := flagValue(s.Command, "--config")
		var confSource, authTarget, dataTarget string
		for _, v := range s.Volumes {
			switch {
			case v.Target == confPath:
				confSource = v.Source
			case v.Source == "nats-auth" && v.Type == types.VolumeTypeVolume:
				authTarget = v.Target
			case v.Type == types.VolumeTypeVolume && v.Source == name:
				dataTarget = v.Target
			}
		}
		if confSource == "" || authTarget == "" || dataTarget == "" {
			t.Errorf("%s: config %q, auth volume at %q, data volume at %q", name, confSource, authTarget, dataTarget)
			continue
		}
		conf, err := os.ReadFile(filepath.Join("..", confSource))
		if err != nil {
			t.Fatal(err)
		}
		// Lay the files out as the container sees them, relative to the config.
		dir := t.TempDir()
		rel, err := filepath.Rel(filepath.Dir(confPath), authTarget)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("%s: auth mounted at %s, outside %s", name, authTarget, filepath.Dir(confPath))
		}
		if err := os.MkdirAll(filepath.Join(dir, rel), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel, "auth.conf"), auth, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel, config.NATSEncryptionConf), config.NATSEncryption(strings.Repeat("ab", 32)), 0o600); err != nil {
			t.Fatal(err)
		}
		// The certificates, where the node's secrets mounts put them.
		if _, err := access.CertificatesIn(filepath.Join(dir, "secrets")).Ensure(time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"/secrets/tls/ca.pem", "/secrets/tls/nats.pem", "/secrets/tls/nats.key"} {
			if !mounts(s, "secrets", f) {
				t.Errorf("%s does not mount %s", name, f)
			}
		}
		conf = bytes.ReplaceAll(conf, []byte(" /secrets/"), []byte(" "+filepath.Join(dir, "secrets")+"/"))
		if err := os.WriteFile(filepath.Join(dir, "nats.conf"), conf, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("SERVER_NAME", env(s, "SERVER_NAME"))
		opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats.conf"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if opts.ServerName != name || !opts.JetStream || !opts.SyncAlways || opts.StoreDir != dataTarget {
			t.Errorf("%s: name %q, jetstream %t, sync always %t, store %q (data volume at %s)",
				name, opts.ServerName, opts.JetStream, opts.SyncAlways, opts.StoreDir, dataTarget)
		}
		var routes []string
		for _, r := range opts.Routes {
			routes = append(routes, r.Hostname())
		}
		slices.Sort(routes)
		if !slices.Equal(routes, nodes) || opts.Cluster.Name == "" {
			t.Errorf("%s: cluster %q routes %v, want %v", name, opts.Cluster.Name, routes, nodes)
		}
		if len(opts.Nkeys) != len(config.Roles) || len(opts.Users) != 0 || opts.NoAuthUser != "" || opts.Username != "" {
			t.Errorf("%s: %d nkey users (want %d, from the code), %d other users, no-auth user %q", name, len(opts.Nkeys), len(config.Roles), len(opts.Users), opts.NoAuthUser)
		}
		if s.HealthCheck == nil || !slices.Contains(s.HealthCheck.Test, "https://127.0.0.1:8222/healthz") {
			t.Errorf("%s: health check %v", name, s.HealthCheck)
		}
		// docs/security.md: TLS for clients and monitoring (no plain HTTP), mutual TLS on routes,
		// JetStream's files encrypted with the key starter secrets writes.
		if opts.TLSConfig == nil || opts.HTTPPort != 0 || opts.HTTPSPort != 8222 {
			t.Errorf("%s: client TLS %v, monitoring http %d https %d", name, opts.TLSConfig != nil, opts.HTTPPort, opts.HTTPSPort)
		}
		if opts.Cluster.TLSConfig == nil || opts.Cluster.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert {
			t.Errorf("%s: routes without mutual TLS", name)
		}
		if opts.JetStreamKey != strings.Repeat("ab", 32) || opts.JetStreamCipher != server.ChaCha {
			t.Errorf("%s: JetStream key %q cipher %v", name, opts.JetStreamKey, opts.JetStreamCipher)
		}
	}
}

func TestStatefulServicesKeepTheirDataInNamedVolumes(t *testing.T) {
	p := project(t)
	for name, target := range map[string]string{"postgresql": "/var/lib/postgresql/data", "nats-1": "/data", "nats-2": "/data", "nats-3": "/data"} {
		ok := slices.ContainsFunc(p.Services[name].Volumes, func(v types.ServiceVolumeConfig) bool {
			_, declared := p.Volumes[v.Source]
			return v.Target == target && v.Type == types.VolumeTypeVolume && declared
		})
		if !ok {
			t.Errorf("%s: %s is not a named volume", name, target)
		}
	}
}

// The operations guide's commands are the compose file's: each `docker compose` command names
// services that exist.
func TestOperationsGuideNamesTheComposeServices(t *testing.T) {
	p := project(t)
	f, err := os.Open(guide)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	commands := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "docker compose ") {
			continue
		}
		commands++
		args := strings.Fields(strings.SplitN(line, "#", 2)[0])[2:]
		for _, name := range servicesIn(args) {
			if _, ok := p.Services[name]; !ok {
				t.Errorf("%s: %q is not a service of docker-compose.yml", line, name)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if commands < 8 {
		t.Errorf("the guide has %d docker compose commands", commands)
	}
}

// servicesIn returns the services a docker compose command line names.
func servicesIn(args []string) []string {
	if len(args) == 0 {
		return nil
	}
	var names []string
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--scale" && i+1 < len(rest):
			i++
			names = append(names, strings.SplitN(rest[i], "=", 2)[0])
		case strings.HasPrefix(a, "--scale="):
			names = append(names, strings.SplitN(strings.TrimPrefix(a, "--scale="), "=", 2)[0])
		case strings.HasPrefix(a, "-"):
		default:
			names = append(names, a)
			if args[0] == "run" || args[0] == "exec" {
				return names // the rest is the command run in it
			}
		}
	}
	if args[0] == "cp" || args[0] == "config" || args[0] == "down" || args[0] == "build" && len(names) == 0 {
		return nil
	}
	return names
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// Why compose checks a NATS node with plain /healthz: it answers 503 until the cluster has a
// JetStream meta leader, when setup's stream requests can be answered, while
// /healthz?js-enabled-only=true passes before that.
func TestNATSHealthzWaitsForTheMetaLeader(t *testing.T) {
	c := testkit.NewNATSCluster(t, 3)
	c.Start(0)
	get := func(path string) int {
		resp, err := http.Get("http://" + c.Nodes[0].MonitorAddr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if code := get("/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz of one node of three: %d, want 503", code)
	}
	if code := get("/healthz?js-enabled-only=true"); code != http.StatusOK {
		t.Errorf("/healthz?js-enabled-only=true of one node of three: %d, want 200 (the check compose no longer uses)", code)
	}
	c.Start(1)
	c.Start(2)
	c.WaitForLeader(30 * time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for get("/healthz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/healthz not 200 with a meta leader")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// docs/security.md: each service mounts only the secrets it uses, one file each, read only;
// only the secrets service (which writes them) and the operators' cli mount the whole volume.
func TestEachServiceMountsOnlyItsSecrets(t *testing.T) {
	p := project(t)
	want := map[string][]string{
		"setup":           {"codec.keys", "nats/admin.nk", "tls/admin.key", "tls/admin.pem", "tls/ca.pem"},
		"worker":          {"codec.keys", "nats/worker.nk", "tls/ca.pem", "tls/worker.key", "tls/worker.pem"},
		"listener":        {"codec.keys", "hmac.key", "nats/listener.nk", "tls/ca.pem", "tls/listener.key", "tls/listener.pem"},
		"codec":           {"codec.keys", "nats/auditor.nk", "tls/ca.pem", "tls/codec.key", "tls/codec.pem"},
		"postgresql":      {"tls/postgresql.key", "tls/postgresql.pem"},
		"temporal-schema": {"tls/ca.pem"},
		"nats-1":          {"tls/ca.pem", "tls/nats.key", "tls/nats.pem"},
		"nats-2":          {"tls/ca.pem", "tls/nats.key", "tls/nats.pem"},
		"nats-3":          {"tls/ca.pem", "tls/nats.key", "tls/nats.pem"},
		"temporal":        {"tls/ca.pem", "tls/internode-ca.pem", "tls/temporal-frontend.key", "tls/temporal-frontend.pem", "tls/temporal-internode.key", "tls/temporal-internode.pem"},
		"temporal-ui":     {"tls/ca.pem", "tls/temporal-ui.key", "tls/temporal-ui.pem", "tls/ui.key", "tls/ui.pem"},
	}
	for name, s := range p.Services {
		var got []string
		whole := false
		for _, v := range s.Volumes {
			if v.Source != "secrets" {
				continue
			}
			if v.Volume == nil || v.Volume.Subpath == "" {
				whole = true
				continue
			}
			if !v.ReadOnly || v.Target != "/secrets/"+v.Volume.Subpath {
				t.Errorf("%s: %s mounted at %s (read only %v), want read only at /secrets/%s", name, v.Volume.Subpath, v.Target, v.ReadOnly, v.Volume.Subpath)
			}
			got = append(got, v.Volume.Subpath)
		}
		slices.Sort(got)
		switch name {
		case "secrets", "cli":
			if !whole {
				t.Errorf("%s does not mount the secrets volume", name)
			}
		default:
			if whole {
				t.Errorf("%s mounts every secret", name)
			}
			if !slices.Equal(got, want[name]) {
				t.Errorf("%s mounts the secrets %v, want %v", name, got, want[name])
			}
		}
	}
}

// deploy/systems.json, which compose gives the secrets service and the listener, loads, and takes
// every inbound type from the source the plan's systems (and the tests, through
// reliability.Source) send it with: no type is left without a producer.
func TestSystemsFileCoversEveryInboundType(t *testing.T) {
	s, err := config.LoadSystems("systems.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range events.InboundTypes() {
		if !s.Allows(typ, reliability.Source(typ)) {
			t.Errorf("%s from %s is not taken", typ, reliability.Source(typ))
		}
	}
	if len(s.Readers) == 0 {
		t.Error("no reader")
	}
}

// certificateFiles are the certificate files `starter secrets --dir /secrets` creates.
func certificateFiles() []string {
	c := access.CertificatesIn("/secrets")
	files := []string{c.CA(), c.CAKey(), c.InternodeCA(), c.InternodeCAKey()}
	for _, s := range access.Servers {
		files = append(files, c.Cert(s.Name), c.Key(s.Name))
	}
	for _, r := range access.Roles {
		files = append(files, c.Cert(string(r)), c.Key(string(r)))
	}
	return files
}

// docs/security.md: the Temporal frontend and its internode connections require a certificate
// from the deployment's CA, the server's own calls go through the internal frontend, and each
// client presents its role's certificate, verifying the server's name; the UI's may only read,
// and its write actions are off.
func TestEveryTemporalClientPresentsItsRolesCertificate(t *testing.T) {
	p := project(t)
	c := access.CertificatesIn("/secrets")
	server := p.Services["temporal"]
	for k, want := range map[string]string{
		"TEMPORAL_TLS_REQUIRE_CLIENT_AUTH": "true", "USE_INTERNAL_FRONTEND": "true",
		"TEMPORAL_TLS_CLIENT1_CA_CERT": c.CA(), "TEMPORAL_TLS_CLIENT2_CA_CERT": c.CA(), "TEMPORAL_TLS_SERVER_CA_CERT": c.InternodeCA(),
		"TEMPORAL_TLS_FRONTEND_CERT": c.Cert("temporal-frontend"), "TEMPORAL_TLS_FRONTEND_KEY": c.Key("temporal-frontend"),
		"TEMPORAL_TLS_SERVER_CERT": c.Cert("temporal-internode"), "TEMPORAL_TLS_SERVER_KEY": c.Key("temporal-internode"),
		"TEMPORAL_TLS_INTERNODE_SERVER_NAME": "temporal-internode",
		"TEMPORAL_NAMESPACE":                 env(p.Services["worker"], "TEMPORAL_NAMESPACE"),
	} {
		if got := env(server, k); got != want {
			t.Errorf("temporal: %s=%q, want %q", k, got, want)
		}
	}
	if len(server.Entrypoint) == 0 || filepath.Base(server.Entrypoint[0]) != "temporal-server" {
		t.Errorf("temporal runs %v, not careclock's temporal-server", server.Entrypoint)
	}
	if d := server.DependsOn["secrets"]; d.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("temporal starts before its certificates exist: %+v", server.DependsOn)
	}
	roles := map[string]access.Role{config.ProcessWorker: access.Worker, config.ProcessListener: access.Listener,
		config.ProcessSetup: access.Admin, "cli": access.Operator}
	services := careclockServices(t, p)
	for name, process := range services {
		s := p.Services[name]
		role, dials := roles[process]
		if !dials {
			if v := env(s, "TEMPORAL_TLS_CLIENT_CERT_PATH"); v != "" {
				t.Errorf("%s (%s) does not reach Temporal but holds the certificate %s", name, process, v)
			}
			continue
		}
		for k, want := range map[string]string{
			"TEMPORAL_TLS_CLIENT_CERT_PATH": c.Cert(string(role)), "TEMPORAL_TLS_CLIENT_KEY_PATH": c.Key(string(role)),
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH": c.CA(), "TEMPORAL_TLS_SERVER_NAME": "temporal",
		} {
			if got := env(s, k); got != want {
				t.Errorf("%s (%s): %s=%q, want %q", name, process, k, got, want)
			}
		}
	}
	ui := p.Services["temporal-ui"]
	for k, want := range map[string]string{
		"TEMPORAL_TLS_CERT": c.Cert(string(access.UI)), "TEMPORAL_TLS_KEY": c.Key(string(access.UI)), "TEMPORAL_TLS_CA": c.CA(),
		"TEMPORAL_TLS_SERVER_NAME": "temporal", "TEMPORAL_TLS_ENABLE_HOST_VERIFICATION": "true", "TEMPORAL_DISABLE_WRITE_ACTIONS": "true",
	} {
		if got := env(ui, k); got != want {
			t.Errorf("temporal-ui: %s=%q, want %q", k, got, want)
		}
	}
}
