package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary runs the dev stack's main when CARECLOCK_TEST_DEVSTACK is set, so that the test
// below can run it as a process of its own and stop it as a person does, with Ctrl-C.
func TestMain(m *testing.M) {
	if os.Getenv("CARECLOCK_TEST_DEVSTACK") != "" {
		os.Args = append([]string{"devstack"}, strings.Fields(os.Getenv("CARECLOCK_TEST_DEVSTACK"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Ctrl-C stops the dev stack with exit status 0, and its log, JSON from the first line to the last,
// has no warning and no error: not from careclock, the embedded servers or the UI's proxy.
func TestCtrlCStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole dev stack")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LOG_FORMAT=json", "LOG_LEVEL=info",
		"CARECLOCK_TEST_DEVSTACK=--data-dir "+dir+" --temporal-port 0 --ui-port 0 --nats-port 0 --metrics-addr 127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(stderr)
		s.Buffer(nil, 1<<20)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	var log []string
	running := time.After(3 * time.Minute)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the dev stack ended before it was running:\n%s", strings.Join(log, "\n"))
			}
			log = append(log, l)
			if strings.Contains(l, "careclock is running") {
				break wait
			}
		case <-running:
			_ = cmd.Process.Kill()
			t.Fatalf("not running after 3 minutes:\n%s", strings.Join(log, "\n"))
		}
	}
	time.Sleep(2 * time.Second) // the embedded server's own workers settle in
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		log = append(log, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after Ctrl-C: %v, want exit status 0", err)
	}
	stopped := false
	for _, l := range log {
		var entry struct {
			Level   string `json:"level"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal([]byte(l), &entry); err != nil {
			t.Errorf("not a JSON log line: %s", l)
			continue
		}
		if entry.Level != "info" && entry.Level != "debug" {
			t.Errorf("%s at Ctrl-C: %s", entry.Level, l)
		}
		stopped = stopped || entry.Message == "stopping"
	}
	if !stopped {
		t.Errorf("no \"stopping\" line:\n%s", strings.Join(log, "\n"))
	}
}
