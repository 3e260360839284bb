// Package testkit holds what several packages' tests share: an in-process JetStream server and a
// buffer that goroutines log into. Only tests import it.
package testkit

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StartNATS runs an in-process JetStream server on a loopback port, storing in a temporary
// directory, until the test ends.
func StartNATS(t testing.TB) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// StartNATSCluster runs n in-process JetStream servers clustered over loopback routes, and
// returns once the cluster has a meta leader.
func StartNATSCluster(t testing.TB, n int) []*server.Server {
	t.Helper()
	c := NewNATSCluster(t, n)
	for i := range n {
		c.Start(i)
	}
	c.WaitForLeader(30 * time.Second)
	return c.Nodes
}

// NATSCluster is n in-process JetStream servers clustered over loopback routes, each with its
// monitoring endpoint on a loopback port, each started when the test says, all shut down when
// it ends.
type NATSCluster struct {
	t     testing.TB
	Nodes []*server.Server
}

// NewNATSCluster prepares the n servers of a cluster without starting them.
func NewNATSCluster(t testing.TB, n int) *NATSCluster {
	t.Helper()
	// Each node routes to every node, itself included (nats-server ignores that one), so the
	// route ports are chosen first.
	var routes []*url.URL
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, &url.URL{Scheme: "nats", Host: l.Addr().String()})
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	c := &NATSCluster{t: t}
	for i := range n {
		port, err := strconv.Atoi(routes[i].Port())
		if err != nil {
			t.Fatal(err)
		}
		ns, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1, JetStream: true,
			StoreDir: t.TempDir(), NoLog: true, NoSigs: true, HTTPHost: "127.0.0.1", HTTPPort: -1,
			Cluster: server.ClusterOpts{Name: "test", Host: "127.0.0.1", Port: port},
			Routes:  routes,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ns.Shutdown)
		c.Nodes = append(c.Nodes, ns)
	}
	return c
}

// Start starts node i and waits until it takes connections.
func (c *NATSCluster) Start(i int) {
	c.t.Helper()
	go c.Nodes[i].Start()
	if !c.Nodes[i].ReadyForConnections(10 * time.Second) {
		c.t.Fatalf("nats server %s did not start", c.Nodes[i].Name())
	}
}

// WaitForLeader waits until the cluster has a JetStream meta leader that sees every node.
func (c *NATSCluster) WaitForLeader(within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	// A leader that sees every node online with its stats: before that, a 3-replica stream
	// is refused with "no suitable peers for placement".
	ready := func(ns *server.Server) bool {
		return ns.JetStreamIsLeader() && len(ns.JetStreamClusterPeers()) == len(c.Nodes)
	}
	for !slices.ContainsFunc(c.Nodes, ready) {
		if time.Now().After(deadline) {
			c.t.Fatal("the NATS cluster has no meta leader")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// JetStream connects to the servers (any one of them serves) until the test ends.
func JetStream(t testing.TB, servers ...*server.Server) jetstream.JetStream {
	t.Helper()
	urls := make([]string, len(servers))
	for i, ns := range servers {
		urls[i] = ns.ClientURL()
	}
	nc, err := nats.Connect(strings.Join(urls, ","))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// LockedBuffer collects log lines written from many goroutines.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written so far.
func (b *LockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
