package codecserver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/careclock/careclock/privacy"
)

const token = "0123456789abcdef0123456789abcdef"

func server(t *testing.T) (*httptest.Server, converter.DataConverter) {
	t.Helper()
	ring, err := privacy.ParseKeyring("k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if err != nil {
		t.Fatal(err)
	}
	codec := privacy.Codec{Keys: ring}
	h, err := Handler(Options{Codec: codec, Tokens: []string{token}, Origins: []string{"http://ui.example:8233"}, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), codec)
}

// encrypted is a journey input as Temporal stores it: ciphertext, as Payloads JSON.
func encrypted(t *testing.T, dc converter.DataConverter) []byte {
	t.Helper()
	p, err := dc.ToPayload(map[string]string{"memberId": "M-100777"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t *testing.T, url string, body []byte, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestDecodeForAnAuthorizedCaller(t *testing.T) {
	srv, dc := server(t)
	for name, header := range map[string]map[string]string{
		"bearer":            {"Authorization": "Bearer " + token},
		"basic (a browser)": {"Authorization": "Basic " + basic("operator", token), "Origin": "http://ui.example:8233"},
	} {
		resp := post(t, srv.URL+"/decode", encrypted(t, dc), header)
		var out commonpb.Payloads
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(resp.Body); err != nil {
			t.Fatal(err)
		}
		if err := protojson.Unmarshal(buf.Bytes(), &out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s %v", name, resp.StatusCode, buf.String(), err)
		}
		if got := string(out.GetPayloads()[0].GetData()); got != `{"memberId":"M-100777"}` {
			t.Errorf("%s: decoded %s", name, got)
		}
		if o := header["Origin"]; o != "" && resp.Header.Get("Access-Control-Allow-Origin") != o {
			t.Errorf("%s: CORS origin %q", name, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}

func TestUnauthorizedRequestsAreRefused(t *testing.T) {
	srv, dc := server(t)
	body := encrypted(t, dc)
	for name, c := range map[string]struct {
		header map[string]string
		status int
	}{
		"no header":          {nil, http.StatusUnauthorized},
		"wrong bearer":       {map[string]string{"Authorization": "Bearer " + strings.Repeat("x", len(token))}, http.StatusUnauthorized},
		"token as a prefix":  {map[string]string{"Authorization": "Bearer " + token[:20]}, http.StatusUnauthorized},
		"wrong basic":        {map[string]string{"Authorization": "Basic " + basic("operator", "guess-guess-guess")}, http.StatusUnauthorized},
		"other scheme":       {map[string]string{"Authorization": token}, http.StatusUnauthorized},
		"origin not allowed": {map[string]string{"Authorization": "Bearer " + token, "Origin": "http://evil.example"}, http.StatusForbidden},
	} {
		resp := post(t, srv.URL+"/decode", body, c.header)
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(resp.Body); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != c.status || strings.Contains(buf.String(), "M-100777") {
			t.Errorf("%s: %d %q, want %d and nothing decoded", name, resp.StatusCode, buf.String(), c.status)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") == "http://evil.example" {
			t.Errorf("%s: CORS allows evil.example", name)
		}
	}
}

func TestPreflightFromTheUIOnly(t *testing.T) {
	srv, _ := server(t)
	for origin, want := range map[string]int{"http://ui.example:8233": http.StatusNoContent, "http://evil.example": http.StatusForbidden} {
		req, err := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("preflight from %s: %d, want %d", origin, resp.StatusCode, want)
		}
		if want == http.StatusNoContent && !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Errorf("preflight allows headers %q", resp.Header.Get("Access-Control-Allow-Headers"))
		}
	}
}

func TestHandlerNeedsAToken(t *testing.T) {
	if _, err := Handler(Options{}); err == nil {
		t.Error("a codec server without tokens was built")
	}
	if _, err := Handler(Options{Tokens: []string{"short"}}); err == nil {
		t.Error("a codec server with a 5-character token was built")
	}
}

func basic(user, password string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	req.SetBasicAuth(user, password)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}
