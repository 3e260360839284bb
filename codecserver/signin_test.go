package codecserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/converter"

	"github.com/careclock/careclock/privacy"
)

// recorder keeps accesses in memory, or fails when told to.
type recorder struct {
	mu   sync.Mutex
	got  []Access
	fail bool
}

func (r *recorder) Record(_ context.Context, a Access) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("the stream is unavailable")
	}
	r.got = append(r.got, a)
	return nil
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// An operator signs in at the provider, sees a journey's page and decodes its payloads: the
// decode is answered once recorded, with the operator's name, the journey's workflow id (from the
// page), when and from where. Unrecorded, it shows nothing; an idle session and one past its
// age are refused, the page sending the browser to sign in again.
func TestSignedInDecodesAreRecordedAndSessionsExpire(t *testing.T) {
	provider, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = provider.Shutdown() })
	provider.QueueUser(&mockoidc.MockUser{Subject: "00u-jane", Email: "jane.ops@plan.example", EmailVerified: true})

	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "the UI: "+r.URL.Path) }))
	t.Cleanup(ui.Close)
	upstream, err := url.Parse(ui.URL)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := privacy.ParseKeyring("k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if err != nil {
		t.Fatal(err)
	}
	codec, err := Handler(Options{Codec: privacy.Codec{Keys: ring}, Guarded: true, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Now()}
	rec := &recorder{}
	front := httptest.NewUnstartedServer(nil)
	front.StartTLS()
	t.Cleanup(front.Close)
	cfg := provider.Config()
	s, err := NewSignIn(context.Background(), SignInOptions{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RedirectURL: front.URL + CallbackPath, MaxAge: 8 * time.Hour, Idle: 15 * time.Minute, Log: zerolog.Nop(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	front.Config.Handler = Front(upstream, nil, Audited(codec, rec, clk.Now, zerolog.Nop()), s.Protect, zerolog.Nop())

	browser := front.Client()
	if browser.Jar, err = cookiejar.New(nil); err != nil {
		t.Fatal(err)
	}
	page := front.URL + "/namespaces/careclock/workflows/wf-7f3a/run-1/history"
	resp, err := browser.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "the UI: /namespaces/careclock/workflows/wf-7f3a/run-1/history" {
		t.Fatalf("after sign-in: %d %q", resp.StatusCode, body)
	}

	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), privacy.Codec{Keys: ring})
	decode := func() (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, front.URL+CodecPath+"/decode", bytes.NewReader(encrypted(t, dc)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "careclock")
		req.Header.Set("Referer", page)
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := decode(); code != http.StatusOK || !strings.Contains(body, "payloads") {
		t.Fatalf("decode: %d %s", code, body)
	}
	if len(rec.got) != 1 {
		t.Fatalf("recorded %+v, want one access", rec.got)
	}
	a := rec.got[0]
	if a.Person != "jane.ops@plan.example" || a.Subject != "00u-jane" || a.Namespace != "careclock" || a.WorkflowID != "wf-7f3a" ||
		a.Payloads != 1 || !a.Time.Equal(clk.Now().UTC()) || !strings.HasPrefix(a.From, "127.0.0.1:") {
		t.Errorf("recorded %+v", a)
	}

	rec.fail = true
	if code, body := decode(); code != http.StatusServiceUnavailable || strings.Contains(body, "M-100777") {
		t.Errorf("decode not recorded: %d %q, want 503 and nothing shown", code, body)
	}
	rec.fail = false

	noFollow := *browser
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	clk.add(14 * time.Minute) // used within the idle time: the session goes on
	if code, _ := decode(); code != http.StatusOK {
		t.Errorf("a session used within its idle time: %d", code)
	}
	clk.add(15*time.Minute + time.Second)
	if code, _ := decode(); code != http.StatusUnauthorized {
		t.Errorf("an idle session: %d, want 401", code)
	}
	resp, err = noFollow.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, LoginPath+"?to=") {
		t.Errorf("a page after the session ended: %d to %q, want sent to sign in", resp.StatusCode, loc)
	}
	if len(rec.got) != 2 {
		t.Errorf("%d accesses recorded, want 2 (the refused ones are not accesses)", len(rec.got))
	}

	// Signed in again, the session ends at its age however busy.
	provider.QueueUser(&mockoidc.MockUser{Subject: "00u-jane", Email: "jane.ops@plan.example", EmailVerified: true})
	if resp, err = browser.Get(page); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for range 34 { // used every 14.5 min: the last use at 7 h 58.5 min, then past 8 h
		if code, _ := decode(); code != http.StatusOK {
			t.Fatalf("a busy session before its age: %d", code)
		}
		clk.add(14*time.Minute + 30*time.Second)
	}
	if code, _ := decode(); code != http.StatusUnauthorized {
		t.Errorf("a session past its age: %d, want 401", code)
	}
}

// The shared token does not open a front that signs operators in.
func TestTheTokenDoesNotOpenASignInFront(t *testing.T) {
	provider, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = provider.Shutdown() })
	cfg := provider.Config()
	s, err := NewSignIn(context.Background(), SignInOptions{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RedirectURL: "https://front.example/auth/callback", MaxAge: time.Hour, Idle: time.Minute, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("reached behind the sign-in") })))
	t.Cleanup(srv.Close)
	resp := post(t, srv.URL+CodecPath+"/decode", []byte(`{"payloads":[]}`), map[string]string{"Authorization": "Bearer " + token})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a bearer token: %d, want 401", resp.StatusCode)
	}
	if _, err := NewSignIn(context.Background(), SignInOptions{Issuer: cfg.Issuer, ClientID: cfg.ClientID, RedirectURL: "https://x/cb", MaxAge: time.Minute, Idle: time.Hour}); err == nil {
		t.Error("an idle time longer than the session's age was taken")
	}
}
