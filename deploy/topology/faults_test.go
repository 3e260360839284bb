package topology_test

import (
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/internal/reliability"
	"github.com/careclock/careclock/internal/topology"
)

// The fault matrix on the production topology: each scenario on a topology of its own, events
// arriving while a process is killed or stopped and started again on its files, as compose's
// restart policy would. Every row: nothing lost, nothing applied or published twice. The rows
// join docs/reliability.md's table as cluster rows (test.sh prints them).

// producer sends overdue claims at a steady pace from its own goroutine, like an enrollment
// system that goes on while careclock has a fault.
type producer struct {
	mu   sync.Mutex
	want []reliability.Expect
	sent int
	done chan struct{}
}

func (c *cluster) produce(t *testing.T, n int, gap time.Duration) *producer {
	p := &producer{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := range n {
			want := c.claims(t, i, 1) // a failure ends the test (t.Fatalf ends only this goroutine: checked in wait)
			p.mu.Lock()
			p.want, p.sent = append(p.want, want...), p.sent+1
			p.mu.Unlock()
			time.Sleep(gap)
		}
	}()
	return p
}

// reached waits until the producer has sent n events.
func (p *producer) reached(t *testing.T, n int) {
	t.Helper()
	for {
		p.mu.Lock()
		sent := p.sent
		p.mu.Unlock()
		if sent >= n {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("the producer stopped after %d events", sent)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// wait waits until the producer is done and returns what it sent.
func (p *producer) wait(t *testing.T) (int, []reliability.Expect) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(10 * time.Minute):
		t.Fatal("the producer never finished")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent, p.want
}

// faultWhileSending sends n overdue claims, 100 ms apart; after a third of them it injects the
// fault, and 5 s later recovers from it; then counts the row.
func faultWhileSending(t *testing.T, scenario string, inject func(*cluster) *topology.Process, recover func(*cluster, *topology.Process)) {
	c := dialCluster(t, startTopology(t))
	const n = 60
	p := c.produce(t, n, 100*time.Millisecond)
	p.reached(t, n/3)
	hit := inject(c)
	t.Logf("%s: fault at %d events sent", hit.Name, n/3)
	time.Sleep(5 * time.Second)
	recover(c, hit)
	sent, want := p.wait(t)
	if sent != n {
		t.Fatalf("sent %d of %d", sent, n)
	}
	reliability.Report(t, c.figures(t, scenario, n, want))
}

func kill(t *testing.T, p *topology.Process) {
	t.Helper()
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
}

func TestNATSStreamLeaderKilledWhileEventsArrive(t *testing.T) {
	faultWhileSending(t, "SIGKILL of the enrollment stream's leader while 60 events arrive, restarted 5 s later",
		func(c *cluster) *topology.Process {
			leader := c.streamLeader(t, events.EnrollmentStream)
			kill(t, leader)
			return leader
		}, func(c *cluster, p *topology.Process) { c.restart(t, p) })
}

func TestTemporalServerStoppedAndRestarted(t *testing.T) {
	faultWhileSending(t, "SIGTERM of the Temporal server while 60 events arrive, started 5 s later",
		func(c *cluster) *topology.Process {
			if err := c.Temporal.Stop(syscall.SIGTERM, time.Minute); err != nil {
				t.Fatal(err)
			}
			return c.Temporal
		}, func(c *cluster, p *topology.Process) { c.restart(t, p) })
}

func TestTemporalServerKilledAndRestarted(t *testing.T) {
	faultWhileSending(t, "SIGKILL of the Temporal server while 60 events arrive, started 5 s later",
		func(c *cluster) *topology.Process {
			kill(t, c.Temporal)
			return c.Temporal
		}, func(c *cluster, p *topology.Process) { c.restart(t, p) })
}

func TestPostgreSQLRestarted(t *testing.T) {
	faultWhileSending(t, "PostgreSQL stopped (fast shutdown) while 60 events arrive, started 5 s later",
		func(c *cluster) *topology.Process {
			if err := c.Postgres.Stop(syscall.SIGINT, time.Minute); err != nil {
				t.Fatal(err)
			}
			return c.Postgres
		}, func(c *cluster, p *topology.Process) { c.restart(t, p) })
}

func TestListenerKilledWhileEventsArrive(t *testing.T) {
	faultWhileSending(t, "SIGKILL of the listener while 60 events arrive, restarted 5 s later",
		func(c *cluster) *topology.Process {
			kill(t, c.Listener)
			return c.Listener
		}, func(c *cluster, p *topology.Process) { c.restart(t, p) })
}

// A storm: 200 enrollments call for 200 notices at once (each member's latest missed age-out
// notice); one of the two workers is killed once 40 are out, and restarted 5 s later. The other worker goes on; the killed one's workflow and
// activity tasks are retried after their timeouts.
func TestWorkerKilledMidStorm(t *testing.T) {
	c := dialCluster(t, startTopology(t))
	want := c.enrollments(t, 1, 200)
	c.waitStream(t, events.JourneyStream, 40, 3*time.Minute)
	kill(t, c.Workers[0])
	out := c.streamMsgs(t, events.JourneyStream)
	t.Logf("worker-1 killed with %d of %d notices out", out, len(want))
	time.Sleep(5 * time.Second)
	c.restart(t, c.Workers[0])
	reliability.Report(t, c.figures(t, "SIGKILL of one of two workers mid-storm (200 enrollments, 200 notices), restarted 5 s later", 200, want))
}
