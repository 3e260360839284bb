package topology

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is one program of the topology, run as a child of the test: started, signalled,
// killed and started again on the same files, its output appended to a log file.
type Process struct {
	Name string
	Path string
	Args []string
	Env  []string
	Dir  string
	Log  string
	// cred runs the program as another user (PostgreSQL refuses to run as root).
	cred *syscall.Credential

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts the program; it is an error to start it while it runs.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("%s: already running (pid %d)", p.Name, p.cmd.Process.Pid)
		}
	}
	out, err := os.OpenFile(p.Log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "=== %s: %s %s\n", time.Now().Format(time.RFC3339Nano), p.Path, strings.Join(p.Args, " "))
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = p.Env, p.Dir, out, out
	// Its own process group, so that a kill reaches PostgreSQL's backends too; and killed with
	// the test process if that dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: p.cred}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		out.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Running says whether the program has been started and has not exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop sends sig to the program's process group and waits for it to exit; after within, it is
// killed. Stopping a program that does not run is a no-op.
func (p *Process) Stop(sig syscall.Signal, within time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(within):
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	<-done
	return fmt.Errorf("%s: still running %s after %s; killed", p.Name, within, sig)
}

// Kill kills the program at once (SIGKILL) and waits for it to be gone.
func (p *Process) Kill() error { return p.Stop(syscall.SIGKILL, 10*time.Second) }

// Exited waits up to within for the program to exit by itself and returns how it ended.
func (p *Process) Exited(within time.Duration) error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return fmt.Errorf("%s: never started", p.Name)
	}
	select {
	case <-done:
	case <-time.After(within):
		return fmt.Errorf("%s: still running after %s", p.Name, within)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return fmt.Errorf("%s: %w\n%s", p.Name, p.err, p.Tail(20))
	}
	return nil
}

// Tail is the last n lines of the program's log.
func (p *Process) Tail(n int) string {
	b, err := os.ReadFile(p.Log)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// run runs a one-shot program to its end, within a limit.
func run(p *Process, within time.Duration) error {
	if err := p.Start(); err != nil {
		return err
	}
	if err := p.Exited(within); err != nil {
		_ = p.Kill()
		return err
	}
	return nil
}
