package topology_test

import (
	"io"
	"net/http"
	"os"
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
