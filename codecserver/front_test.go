package codecserver

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/careclock/careclock/internal/testkit"
)

func TestFrontGuardsTheUIAndServesTheCodecOnItsOrigin(t *testing.T) {
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ui "+r.URL.Path)
	}))
	defer ui.Close()
	upstream, err := url.Parse(ui.URL)
	if err != nil {
		t.Fatal(err)
	}
	codec := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "codec "+r.URL.Path) })
	front := httptest.NewServer(Front(upstream, nil, codec, Password([]string{token}, "test"), zerolog.Nop()))
	defer front.Close()

	get := func(path string, password string) (int, string, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, front.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if password != "" {
			req.SetBasicAuth("operator", password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b), resp.Header.Get("WWW-Authenticate")
	}
	for _, tc := range []struct {
		path, password string
		code           int
		body           string
	}{
		{"/namespaces/default/workflows", token, 200, "ui /namespaces/default/workflows"},
		{"/codec/decode", token, 200, "codec /codec/decode"},
		{"/healthz", "", 200, ""},
		{"/namespaces/default/workflows", "", 401, ""},
		{"/namespaces/default/workflows", "wrong-password-0000", 401, ""},
		{"/codec/decode", "", 401, ""},
	} {
		code, body, challenge := get(tc.path, tc.password)
		if code != tc.code || (tc.body != "" && body != tc.body) {
			t.Errorf("GET %s (password %t): %d %q, want %d %q", tc.path, tc.password != "", code, body, tc.code, tc.body)
		}
		if code == 401 && challenge == "" {
			t.Errorf("GET %s: 401 without a Basic challenge, so a browser would not ask for the password", tc.path)
		}
	}
}

// Front's /healthz answers 200 while the UI behind it answers, and 503 once it does not.
func TestFrontIsHealthyOnlyWhileTheUIAnswers(t *testing.T) {
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	upstream, err := url.Parse(ui.URL)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(Front(upstream, nil, http.NotFoundHandler(), Password([]string{token}, "test"), zerolog.Nop()))
	defer front.Close()
	status := func() int {
		t.Helper()
		resp, err := http.Get(front.URL + HealthPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if got := status(); got != http.StatusOK {
		t.Errorf("UI up: %d, want 200", got)
	}
	ui.Close()
	if got := status(); got != http.StatusServiceUnavailable {
		t.Errorf("UI down: %d, want 503", got)
	}
}

// A UI request its caller gives up on is logged at debug through careclock's logger, not as
// a bare "http: proxy error" line on stderr inside a JSON log; a UI that is down is a warning.
func TestFrontLogsProxyErrorsAsJSON(t *testing.T) {
	release := make(chan struct{})
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer ui.Close()
	defer close(release)
	upstream, err := url.Parse(ui.URL)
	if err != nil {
		t.Fatal(err)
	}
	var logs testkit.LockedBuffer
	front := httptest.NewServer(Front(upstream, nil, http.NotFoundHandler(), Password([]string{token}, "test"), zerolog.New(&logs).Level(zerolog.DebugLevel)))
	defer front.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, front.URL+"/namespaces/default/workflows", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("operator", token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("the request was not cancelled")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(string(logs.Bytes()), "cancelled by its caller") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(string(logs.Bytes()), `"level":"debug"`) || strings.Contains(string(logs.Bytes()), `"level":"warn"`) {
		t.Errorf("cancelled request logged as:\n%s", string(logs.Bytes()))
	}

	down, err := url.Parse("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	var downLogs testkit.LockedBuffer
	gone := httptest.NewServer(Front(down, nil, http.NotFoundHandler(), Password([]string{token}, "test"), zerolog.New(&downLogs)))
	defer gone.Close()
	req, err = http.NewRequest(http.MethodGet, gone.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("operator", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(downLogs.Bytes()), `"level":"warn"`) {
		t.Errorf("UI down: %d, logged %s", resp.StatusCode, downLogs.Bytes())
	}
}

// A page of another site cannot change anything through the front, whatever credentials the
// browser adds: an unsafe cross-origin request gets 403 on every path and never reaches the UI or
// the codec. A same-origin one, a safe one, and one with neither header (the CLI) pass.
func TestFrontRefusesCrossOriginUnsafeRequests(t *testing.T) {
	var reached atomic.Int32
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer ui.Close()
	upstream, err := url.Parse(ui.URL)
	if err != nil {
		t.Fatal(err)
	}
	codec := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) })
	front := httptest.NewServer(Front(upstream, nil, codec, Password([]string{token}, "test"), zerolog.Nop()))
	defer front.Close()
	terminate := "/api/v1/namespaces/careclock/workflows/x/terminate"
	for _, tc := range []struct {
		method, path string
		headers      map[string]string
		code         int
	}{
		{http.MethodPost, terminate, map[string]string{"Origin": "https://evil.example"}, 403},
		{http.MethodPost, terminate, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{http.MethodPost, terminate, map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{http.MethodDelete, "/api/v1/namespaces/careclock/schedules/s", map[string]string{"Origin": "https://evil.example"}, 403},
		{http.MethodPost, "/codec/encode", map[string]string{"Origin": "https://evil.example"}, 403},
		{http.MethodPost, terminate, map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{http.MethodPost, terminate, map[string]string{"Origin": front.URL}, 200},
		{http.MethodPost, terminate, nil, 200},
		{http.MethodGet, "/namespaces/careclock/workflows", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
	} {
		before := reached.Load()
		req, err := http.NewRequest(tc.method, front.URL+tc.path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("operator", token)
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s %v: %d, want %d", tc.method, tc.path, tc.headers, resp.StatusCode, tc.code)
		}
		if got := reached.Load() - before; (tc.code == 403) != (got == 0) {
			t.Errorf("%s %s %v: reached the UI or codec %d times", tc.method, tc.path, tc.headers, got)
		}
	}
}
