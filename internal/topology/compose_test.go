package topology

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rewriterFor loads the repository's docker-compose.yml and gives every service its instance,
// as Start does, without starting anything.
func rewriterFor(t *testing.T, service string) rewriter {
	t.Helper()
	top := &Topology{Dir: t.TempDir(), instances: map[string]*instance{}}
	var err error
	top.project, err = loadCompose(context.Background(), filepath.Join("..", "..", "docker-compose.yml"), map[string]string{"POSTGRES_PASSWORD": "x", "CARECLOCK_OIDC_ISSUER": "http://127.0.0.1:1/oidc", "CARECLOCK_OIDC_CLIENT_ID": "careclock", "CARECLOCK_OIDC_CLIENT_SECRET_FILE": "/etc/oidc-client-secret"})
	if err != nil {
		t.Fatal(err)
	}
	for name := range top.project.Services {
		if _, err := top.newInstance(name, name); err != nil {
			t.Fatal(err)
		}
	}
	return top.rewriter(service)
}

func TestRewriteMapsHostsPortsAndMounts(t *testing.T) {
	r := rewriterFor(t, "worker")
	p := func(service string, port int) string { return "127.0.0.1:" + itoa(r.t.instances[service].ports[port]) }
	for _, c := range []struct{ key, in, want string }{
		{"TEMPORAL_ADDRESS", "temporal:7233", p("temporal", 7233)},
		{"NATS_URL", "nats://nats-1:4222,nats://nats-2:4222", "nats://" + p("nats-1", 4222) + ",nats://" + p("nats-2", 4222)},
		{"CARECLOCK_METRICS_ADDR", "0.0.0.0:9464", p("worker", 9464)},
		{"", "http://127.0.0.1:9464/healthz", "http://" + p("worker", 9464) + "/healthz"},
		{"CARECLOCK_CODEC_KEYS_FILE", "/secrets/codec.keys", filepath.Join(r.inst.root, "secrets", "codec.keys")},
		{"SERVER_NAME", "nats-1", "nats-1"}, // a name, not a host
	} {
		got, err := r.value(c.key, c.in)
		if err != nil || got != c.want {
			t.Errorf("%s=%s: %q, %v; want %q", c.key, c.in, got, err, c.want)
		}
	}
	schema := rewriterFor(t, "temporal-schema")
	if got, _ := schema.value("SQL_HOST", "postgresql"); got != "127.0.0.1" {
		t.Errorf("SQL_HOST=postgresql: %q", got)
	}
	if got, _ := schema.value("SQL_PORT", "5432"); got != itoa(schema.t.instances["postgresql"].ports[5432]) {
		t.Errorf("SQL_PORT=5432: %q", got)
	}
}

// What docker-compose.yml could grow that the harness does not run is an error, not a process
// quietly pointed at nothing.
func TestRewriteRefusesWhatItCannotMap(t *testing.T) {
	r := rewriterFor(t, "listener")
	// A port the service does not listen on, and every interface on a port not its own.
	for _, in := range []string{"temporal:7234", "http://temporal-ui:9090", "0.0.0.0:9999"} {
		if got, err := r.value("X", in); err == nil {
			t.Errorf("%s rewritten to %q without an error", in, got)
		}
	}
}

// nats.conf, rewritten for a node, keeps every setting and names no compose host.
func TestNATSConfRewrite(t *testing.T) {
	r := rewriterFor(t, "nats-2")
	text, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nats", "nats.conf"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.value("", string(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"listen: 127.0.0.1:" + itoa(r.inst.ports[4222]),
		"https: 127.0.0.1:" + itoa(r.inst.ports[8222]),
		"store_dir: " + filepath.Join(r.inst.root, "data"),
		"sync_interval: always",
		"nats-route://127.0.0.1:" + itoa(r.t.instances["nats-1"].ports[6222]),
		"include auth/auth.conf",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rewritten nats.conf lacks %q:\n%s", want, got)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
