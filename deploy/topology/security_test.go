package topology_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// docs/security.md, cross-site requests: through the topology's front, a POST that terminates a
// journey from a page of another site gets 403 and never reaches the Temporal UI, though the
// browser adds the operator's password; the same request without a browser's cross-origin
// headers reaches the UI.
func TestFrontRefusesACrossOriginTerminate(t *testing.T) {
	top := startTopology(t)
	token, err := os.ReadFile(filepath.Join(top.Secrets(), "ui.token"))
	if err != nil {
		t.Fatal(err)
	}
	post := func(headers map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, top.FrontURL()+"/api/v1/namespaces/careclock/workflows/x/terminate", strings.NewReader(`{"reason":"csrf"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("operator", strings.TrimSpace(string(token)))
		for k, v := range headers {
			req.Header.Set(k, v)
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
		return resp.StatusCode, string(b)
	}
	for _, h := range []map[string]string{{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}} {
		if code, body := post(h); code != http.StatusForbidden || !strings.Contains(body, "cross-origin") {
			t.Errorf("POST with %v: %d %q, want 403 from the front", h, code, body)
		}
	}
	if code, body := post(nil); code == http.StatusForbidden && strings.Contains(body, "cross-origin") {
		t.Errorf("POST without a browser's headers: %d %q, want it passed to the UI", code, body)
	}
}

// docs/operations.md, restoring: `secrets` over a deployment whose secrets volume was lost (the
// HMAC key and payload keyring gone, the NATS nodes' streams still there) refuses to create new
// keys, as compose runs it on every `up`; told to, it does.
func TestSecretsRefusesNewKeysOverTheRunningDeployment(t *testing.T) {
	top := startTopology(t)
	path, args, err := top.SecretsCommand()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"hmac.key", "codec.keys"} {
		if err := os.Remove(filepath.Join(top.Secrets(), f)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "a deployment exists") || !strings.Contains(string(out), "JOURNEYS") {
		t.Fatalf("secrets over the deployment: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(top.Secrets(), "hmac.key")); !os.IsNotExist(err) {
		t.Fatalf("a new HMAC key was written anyway: %v", err)
	}
	if out, err := exec.Command(path, append(args, "--new-keys-over-existing-data")...).CombinedOutput(); err != nil {
		t.Fatalf("secrets told to: %v\n%s", err, out)
	}
}
