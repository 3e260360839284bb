// Package topology_test runs careclock's production topology (docker-compose.yml) as processes
// on loopback with internal/topology, and checks it end to end: the samples, `starter watch`
// on the 3-node cluster, and the faults of the Reliability table's cluster rows.
package topology_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/careclock/careclock/internal/topology"
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
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	began := time.Now()
	top, err := topology.Start(ctx, topology.Options{Root: repoRoot(), Bin: bin, Keep: true})
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

func TestTopologyComesUp(t *testing.T) {
	top := startTopology(t)
	_ = top
}
