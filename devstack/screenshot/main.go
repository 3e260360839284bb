// Command screenshot shows careclock in a real browser: it starts the dev stack in a temporary
// directory, sends the sample events, opens the Temporal UI's workflow list in headless Chromium
// with careclock's search attributes as columns, and saves a screenshot of it and of one overdue
// journey's summary and details.
//
//	go run ./devstack/screenshot [--out docs] [--chromium /usr/bin/chromium]
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/workflows"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "screenshot:", err)
		os.Exit(1)
	}
}

func run() error {
	outDir := flag.String("out", "docs", "folder for ui-journeys.png and ui-journey.png")
	chromium := flag.String("chromium", "chromium", "Chromium binary (Debian: apt-get install chromium)")
	samples := flag.String("samples", "samples", "folder of sample events to send")
	flag.Parse()
	if _, err := exec.LookPath(*chromium); err != nil {
		return fmt.Errorf("%s not found (Debian: apt-get install chromium): %w", *chromium, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	dir, err := os.MkdirTemp("", "careclock-screenshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	cfg.DataDir, cfg.TaskQueue = dir, workflows.TaskQueue
	s, err := stack.Start(ctx, stack.Options{Config: cfg})
	if err != nil {
		return err
	}
	defer func() {
		if err := s.Stop(); err != nil {
			s.Log.Warn().Err(err).Msg("stop")
		}
	}()
	sent, err := sendSamples(ctx, s.JS, *samples)
	if err != nil {
		return err
	}
	rows, err := settle(ctx, s)
	if err != nil {
		return err
	}
	s.Log.Info().Int("events", sent).Int("journeys", len(rows)).Msg("samples applied")

	policy, err := cfg.Policy()
	if err != nil {
		return err
	}
	b, err := startBrowser(ctx, *chromium, dir, policy.Zone().String())
	if err != nil {
		return err
	}
	defer b.close()
	// The UI asks for the dev stack's password; the browser sends it with every request,
	// including the UI's calls to the payload codec.
	password, err := os.ReadFile(s.UIPasswordFile)
	if err != nil {
		return err
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("operator:"+strings.TrimSpace(string(password))))
	if err := b.page.call(ctx, "Network.enable", map[string]any{}, nil); err != nil {
		return err
	}
	if err := b.page.call(ctx, "Network.setExtraHTTPHeaders", map[string]any{"headers": map[string]string{"Authorization": auth}}, nil); err != nil {
		return err
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	list := s.UIURL() + "/namespaces/" + s.Temporal.Namespace() + "/workflows"
	// The UI keeps its columns per browser, in local storage: careclock's search attributes
	// follow the built-in ones.
	columns, err := json.Marshal(map[string][]map[string]string{s.Temporal.Namespace(): {
		{"label": "Status"}, {"label": "Workflow ID"}, {"label": "CareclockJourney"}, {"label": "CareclockStatus"},
		{"label": "CareclockNextAt"}, {"label": "CareclockDeadline"},
	}})
	if err != nil {
		return err
	}
	if err := b.open(ctx, list, "table tbody tr"); err != nil {
		return err
	}
	if err := b.eval(ctx, fmt.Sprintf("localStorage.setItem('namespace-workflow-table-columns', %q)", columns), nil); err != nil {
		return err
	}
	if err := b.open(ctx, list, "table tbody tr"); err != nil {
		return err
	}
	if err := b.screenshot(ctx, filepath.Join(*outDir, "ui-journeys.png")); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Status == workflows.StatusOverdue {
			// Its summary and current details: what it waits for, and when.
			if err := b.open(ctx, list+"/"+r.WorkflowID+"/"+r.RunID+"/user-metadata", "main"); err != nil {
				return err
			}
			// The summary is stored encrypted: the UI shows it only once its codec call worked.
			if err := b.waitText(ctx, "reimbursement · due ", 20*time.Second); err != nil {
				return fmt.Errorf("the UI did not show the journey's summary decrypted (is its codec endpoint reachable?): %w", err)
			}
			if err := b.screenshot(ctx, filepath.Join(*outDir, "ui-journey.png")); err != nil {
				return err
			}
			break
		}
	}
	s.Log.Info().Str("folder", *outDir).Msg("screenshots saved")
	return nil
}

// sendSamples publishes every *.json of dir on its subject, with its id as Nats-Msg-Id.
func sendSamples(ctx context.Context, js jetstream.JetStream, dir string) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("no samples in %s: %v", dir, err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		id, subject, err := events.Peek(body)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, id)
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			return 0, fmt.Errorf("publish %s: %w", f, err)
		}
	}
	return len(files), nil
}

// settle waits until the journeys stop changing and each has run its first step.
func settle(ctx context.Context, s *stack.Stack) ([]workflows.Listed, error) {
	var last string
	for {
		rows, err := workflows.List(ctx, s.Client, workflows.Filter{}, nil)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		ready := len(rows) > 0
		for _, r := range rows {
			ready = ready && !r.Deadline.IsZero()
			fmt.Fprintln(&b, r.WorkflowID, r.Status, r.Execution)
		}
		if ready && b.String() == last {
			return rows, nil
		}
		last = b.String()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("journeys did not settle: %w", ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

// browser is headless Chromium driven through the DevTools protocol.
type browser struct {
	cmd  *exec.Cmd
	page *devtools
}

func startBrowser(ctx context.Context, bin, dir, zone string) (*browser, error) {
	profile := filepath.Join(dir, "chromium")
	args := []string{"--headless", "--disable-gpu", "--hide-scrollbars", "--window-size=1800,800",
		"--remote-debugging-port=0", "--remote-allow-origins=http://localhost", "--user-data-dir=" + profile, "about:blank"}
	if os.Geteuid() == 0 {
		args = append(args, "--no-sandbox") // Chromium refuses to run as root with its sandbox
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	// The UI shows times in the browser's zone: the plan's.
	cmd.Env = append(os.Environ(), "TZ="+zone)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	b := &browser{cmd: cmd}
	// Chromium writes the port it chose, and the browser's path, to DevToolsActivePort.
	var port string
	for deadline := time.Now().Add(30 * time.Second); port == ""; {
		if data, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort")); err == nil {
			port, _, _ = strings.Cut(string(data), "\n")
		}
		if time.Now().After(deadline) {
			b.close()
			return nil, errors.New("chromium did not open its DevTools port")
		}
		time.Sleep(100 * time.Millisecond)
	}
	page, err := openPage(ctx, "127.0.0.1:"+port)
	if err != nil {
		b.close()
		return nil, err
	}
	b.page = page
	return b, nil
}

func (b *browser) close() {
	if b.page != nil {
		b.page.close()
	}
	if err := b.cmd.Process.Kill(); err == nil {
		_ = b.cmd.Wait() // killed: its exit status says so and nothing more
	}
}

// domNode is a node of DOM.getDocument's answer.
type domNode struct {
	NodeValue       string    `json:"nodeValue"`
	Children        []domNode `json:"children"`
	ShadowRoots     []domNode `json:"shadowRoots"`
	ContentDocument *domNode  `json:"contentDocument"`
}

func (n domNode) text(b *strings.Builder) {
	b.WriteString(n.NodeValue)
	for _, c := range append(n.Children, n.ShadowRoots...) {
		c.text(b)
	}
	if n.ContentDocument != nil {
		n.ContentDocument.text(b)
	}
}

// waitText waits until text is in the page, shadow roots included (the UI draws payloads in a
// code editor component whose text innerText does not reach).
func (b *browser) waitText(ctx context.Context, text string, within time.Duration) error {
	for deadline := time.Now().Add(within); ; {
		var doc struct{ Root domNode }
		if err := b.page.call(ctx, "DOM.getDocument", map[string]any{"depth": -1, "pierce": true}, &doc); err != nil {
			return err
		}
		var all strings.Builder
		doc.Root.text(&all)
		if strings.Contains(all.String(), text) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%q not on the page after %s", text, within)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// open navigates to url and waits until selector matches an element, then a little longer for
// the page to finish drawing.
func (b *browser) open(ctx context.Context, url, selector string) error {
	if err := b.page.call(ctx, "Page.navigate", map[string]any{"url": url}, nil); err != nil {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		var found bool
		if err := b.eval(ctx, "document.querySelector("+strconv.Quote(selector)+") !== null", &found); err != nil {
			return err
		}
		if found {
			time.Sleep(2 * time.Second)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: nothing matches %s", url, selector)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (b *browser) eval(ctx context.Context, expr string, result any) error {
	var resp struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := b.page.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &resp); err != nil {
		return err
	}
	if resp.Exception != nil {
		return fmt.Errorf("evaluate %q: %s", expr, resp.Exception.Text)
	}
	if result == nil || len(resp.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(resp.Result.Value, result)
}

func (b *browser) screenshot(ctx context.Context, file string) error {
	var resp struct {
		Data string `json:"data"`
	}
	if err := b.page.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &resp); err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(resp.Data)
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return os.WriteFile(file, png, 0o644)
}
