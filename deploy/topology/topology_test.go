// Package topology_test runs careclock's production topology (docker-compose.yml) as processes
// on loopback with internal/topology, and checks it end to end: the samples, `starter watch`
// on the 3-node cluster, and the faults of the Reliability table's cluster rows.
package topology_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/internal/reliability"
	"github.com/careclock/careclock/internal/topology"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// bin holds the programs, built once for every test of the package.
var bin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "careclock-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := topology.Build(ctx, repoRoot(), dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bin = dir
	return m.Run()
}

func repoRoot() string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return root
}

// startTopology brings the topology up for one test and stops it when the test ends; its logs
// stay when the test fails.
func startTopology(t *testing.T) *topology.Topology {
	t.Helper()
	return startTopologyWith(t, nil)
}

// startTopologyWith is startTopology with more of compose's interpolation (env).
func startTopologyWith(t *testing.T, env map[string]string) *topology.Topology {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	began := time.Now()
	top, err := topology.Start(ctx, topology.Options{Root: repoRoot(), Bin: bin, Keep: true, Env: env})
	if err != nil {
		t.Fatalf("start the topology: %v", err)
	}
	t.Logf("topology up in %s (%s)", time.Since(began).Round(time.Second), top.Dir)
	t.Cleanup(func() {
		if err := top.Stop(); err != nil {
			t.Errorf("stop the topology: %v", err)
		}
		if !t.Failed() {
			os.RemoveAll(top.Dir)
		}
	})
	return top
}

// cluster is a running topology and the test's own connections to it, made as compose's cli
// service would make them (its environment: the admin NATS seed, the codec keys).
type cluster struct {
	*topology.Topology
	env   []string
	cfg   config.Config
	c     client.Client
	js    jetstream.JetStream
	keyer privacy.Keyer
	today rules.Date
	sent  atomic.Int64
}

func dialCluster(t *testing.T, top *topology.Topology) *cluster {
	t.Helper()
	env, err := top.CLIEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k != "PATH" && k != "HOME" {
			t.Setenv(k, v)
		}
	}
	cfg, err := config.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := connect.Temporal(ctx, cfg, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	nc, js, err := connect.NATS(cfg, config.RoleAdmin, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	keyer, err := cfg.Keyer(false)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{Topology: top, env: env, cfg: cfg, c: c, js: js, keyer: keyer, today: rules.DefaultPolicy().Today(time.Now())}
}

// send publishes an inbound event as an enrollment system does: its id as Nats-Msg-Id, sent
// again until JetStream acknowledges it (a copy stored before a lost acknowledgement is dropped
// as a duplicate). Every copy counts as sent.
func (c *cluster) send(t *testing.T, subject, id string, body []byte) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		c.sent.Add(1)
		msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, id)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.js.PublishMsg(ctx, msg)
		cancel()
		if err == nil {
			return
		}
		if attempt == 60 {
			t.Fatalf("publish %s: %v", id, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// claims sends n overdue claims, from, from+1, ..., and returns their journey events.
func (c *cluster) claims(t *testing.T, from, n int) []reliability.Expect {
	t.Helper()
	var want []reliability.Expect
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("clm-%d", i)
		body, w := reliability.OverdueClaim(c.keyer, id, fmt.Sprintf("CLM-TOP-%d", i), c.today)
		c.send(t, events.Subject(events.ReimbursementSubmitted), id, body)
		want = append(want, w)
	}
	return want
}

// enrollments sends n enrollments whose four age-out notices are all due, and returns the journey
// events they call for: each member's latest notice, which supersedes the three before it.
func (c *cluster) enrollments(t *testing.T, from, n int) []reliability.Expect {
	t.Helper()
	var want []reliability.Expect
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("enr-%d", i)
		body, w := reliability.AgeOutEnrollment(c.keyer, rules.DefaultPolicy(), id, fmt.Sprintf("M-TOP-%d", i), c.today)
		c.send(t, events.Subject(events.MemberEnrolled), id, body)
		want = append(want, w...)
	}
	return want
}

// figures counts the scenario's row once every sent event is acknowledged.
func (c *cluster) figures(t *testing.T, scenario string, distinct int, want []reliability.Expect) reliability.Figures {
	t.Helper()
	reliability.WaitAcked(t, c.js, c.cfg.Consumer, uint64(distinct), 3*time.Minute)
	tally := reliability.JourneyEvents(t, c.js, want, 3*time.Minute)
	dead := len(reliability.DeadLetters(t, c.js))
	return reliability.Figures{
		Scenario: "cluster: " + scenario, Sent: int(c.sent.Load()), Distinct: distinct,
		Applied: reliability.AppliedInbound(t, c.c, distinct-dead), DeadLettered: dead,
		Journey: tally,
	}
}

// streamInfo is a stream's state and cluster.
func (c *cluster) streamInfo(t *testing.T, name string) *jetstream.StreamInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// streamMsgs is how many messages a stream holds.
func (c *cluster) streamMsgs(t *testing.T, name string) uint64 {
	t.Helper()
	return c.streamInfo(t, name).State.Msgs
}

// waitStream waits until a stream holds at least n messages.
func (c *cluster) waitStream(t *testing.T, name string, n uint64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for c.streamMsgs(t, name) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d messages, want %d", name, c.streamMsgs(t, name), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// streamLeader is the NATS node that leads a stream.
func (c *cluster) streamLeader(t *testing.T, name string) *topology.Process {
	t.Helper()
	info := c.streamInfo(t, name)
	if info.Cluster == nil || info.Config.Replicas != 3 {
		t.Fatalf("%s: %d replicas, cluster %+v; want 3 replicas", name, info.Config.Replicas, info.Cluster)
	}
	for _, p := range c.NATS {
		if p.Name == info.Cluster.Leader {
			return p
		}
	}
	t.Fatalf("%s: leader %q is none of the nodes", name, info.Cluster.Leader)
	return nil
}

// restart starts a stopped process again on its files and waits for its health check.
func (c *cluster) restart(t *testing.T, p *topology.Process) {
	t.Helper()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.WaitHealthy(ctx, p); err != nil {
		t.Fatal(err)
	}
}

// starter runs the operators' CLI with the cli service's environment.
func (c *cluster) starter(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.Bin(), "starter"), args...)
	cmd.Env = c.env
	return cmd
}

// The samples, sent with `starter send` as docs/operations.md does, and 120 enrollments, each
// with its latest age-out notice due: every event is applied or dead-lettered once, every notice
// published once, and `starter watch --subject 'journeys.>'` prints every journey event of the
// 3-replica stream (it failed after a few dozen before it read with a message iterator).
func TestSamplesAndWatchOnTheCluster(t *testing.T) {
	top := startTopology(t)
	checkGuide(t, top)
	c := dialCluster(t, top)
	want := c.enrollments(t, 1, 120)
	f := c.figures(t, "120 enrollments, 120 notices", 120, want)
	reliability.Report(t, f)

	// starter watch prints a subject line and a data line per message; it runs until stopped.
	total := int(c.streamMsgs(t, events.JourneyStream))
	if total < 100 {
		t.Fatalf("%d journey events, want at least 100", total)
	}
	watch := c.starter("watch", "--subject", "journeys.>")
	out, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	watch.Stderr = os.Stderr
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	timeout := time.AfterFunc(2*time.Minute, func() { _ = watch.Process.Kill() })
	for len(ids) < total && lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var ev events.JourneyEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("starter watch printed %q: %v", line, err)
		}
		ids[ev.ID]++
	}
	timeout.Stop()
	if err := watch.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := watch.Wait(); err != nil {
		t.Errorf("starter watch after SIGTERM: %v", err)
	}
	if len(ids) != total {
		t.Errorf("starter watch printed %d of %d journey events", len(ids), total)
	}
	t.Logf("starter watch printed %d journey events", len(ids))

	// The samples, as an operator sends them.
	samples, err := filepath.Glob(filepath.Join(repoRoot(), "samples", "*.json"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("samples: %v %v", samples, err)
	}
	var malformed string
	for _, s := range samples {
		args := []string{"send", s}
		if strings.HasSuffix(s, "malformed-date.json") {
			args = []string{"send", "--subject", events.Subject(events.MemberEnrolled), s}
			malformed = s
		}
		if out, err := c.starter(args...).CombinedOutput(); err != nil {
			t.Fatalf("starter %v: %v\n%s", args, err, out)
		}
	}
	distinct := 120 + len(samples)
	reliability.WaitAcked(t, c.js, c.cfg.Consumer, uint64(distinct), 3*time.Minute)
	dead := reliability.DeadLetters(t, c.js)
	applied := reliability.AppliedInbound(t, c.c, distinct-len(dead))
	t.Logf("samples: %d sent, %d applied (with the 120 enrollments), dead letters %v", len(samples), applied, dead)
	if applied+len(dead) != distinct {
		t.Errorf("%d distinct events, %d applied and %d dead-lettered", distinct, applied, len(dead))
	}
	if malformed != "" && !slices.ContainsFunc(slices.Collect(maps.Values(dead)), func(r string) bool { return strings.Contains(r, "date") }) {
		t.Errorf("%s was not dead-lettered for its date: %v", malformed, dead)
	}
	checkEncryptedAtRest(t, c, samples)
}

// checkEncryptedAtRest holds docs/security.md, "At rest": JetStream encrypts every node's files,
// so no member id of the samples, which the streams hold (JetStream returns them), is found in
// clear in any file of the nodes' data volumes.
func checkEncryptedAtRest(t *testing.T, c *cluster, samples []string) {
	t.Helper()
	var members []string
	for _, s := range samples {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Type string
			Data struct{ MemberID string }
		}
		if json.Unmarshal(b, &ev) == nil && len(ev.Data.MemberID) >= 4 {
			members = append(members, ev.Data.MemberID)
		}
	}
	if len(members) < 5 {
		t.Fatalf("only %d sample member ids: %v", len(members), members)
	}
	stream, err := c.js.Stream(context.Background(), events.EnrollmentStream)
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for seq := uint64(1); ; seq++ {
		m, err := stream.GetMsg(context.Background(), seq)
		if err != nil {
			break
		}
		if slices.ContainsFunc(members, func(id string) bool { return bytes.Contains(m.Data, []byte(id)) }) {
			held++
		}
	}
	if held == 0 {
		t.Fatal("the stream holds no sample member id: the check below would prove nothing")
	}
	files, size := 0, int64(0)
	for _, node := range []string{"nats-1", "nats-2", "nats-3"} {
		err := filepath.WalkDir(filepath.Join(c.Dir, "volumes", node), func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files, size = files+1, size+int64(len(b))
			for _, id := range members {
				if bytes.Contains(b, []byte(id)) {
					t.Errorf("%s holds member id %s in clear", path, id)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("at rest: %d messages of the samples' %d members held by the stream; none in clear in %d files (%d bytes) of the 3 nodes", held, len(members), files, size)
}

// checkGuide holds docs/operations.md, "Without containers", to what the topology ran: every
// program and every environment variable of every process is named there.
func checkGuide(t *testing.T, top *topology.Topology) {
	t.Helper()
	guide, err := os.ReadFile(filepath.Join(repoRoot(), "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(guide), "\n## Without containers\n")
	if !ok {
		t.Fatal(`docs/operations.md has no section "Without containers"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, p := range top.Processes() {
		program := filepath.Base(p.Path)
		switch program {
		case "initdb", "postgres":
			program = "PostgreSQL"
		case "sh":
			program = "temporal-schema"
		}
		if !strings.Contains(section, program) {
			t.Errorf("the guide's Without containers does not name %s (process %s)", program, p.Name)
		}
		for _, kv := range p.Env {
			name, _, _ := strings.Cut(kv, "=")
			if name != "PATH" && name != "HOME" && !strings.Contains(section, "`"+name) {
				t.Errorf("the guide's Without containers does not name %s, which %s runs with", name, p.Name)
			}
		}
	}
}
