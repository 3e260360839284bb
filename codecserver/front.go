package codecserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/rs/zerolog"
)

// CodecPath is where Front serves the codec, on the UI's own origin. The Temporal UI's codec
// endpoint is set to this relative path, so the browser calls it wherever the UI is reached.
const CodecPath = "/codec"

// HealthPath answers 200 without authorization, for container health checks.
const HealthPath = "/healthz"

// Front puts the Temporal UI (at ui) and the codec on one origin behind guard: Password (every
// request carries one of the tokens; the dev stack) or SignIn.Protect (a signed-in operator's
// session; a deployment). The codec is served at CodecPath and everything else is proxied to
// the UI, so the UI shows journeys decrypted only to whoever passes the guard.
//
// transport reaches the UI (nil: http.DefaultTransport); an https UI's needs its CA.
//
// A request the UI does not answer gets 502, logged on log as a warning; one its browser gave up
// on (a page left, a poll cancelled) is routine and logged at debug.
//
// A cross-origin request that is not safe (a POST, PUT, PATCH or DELETE from a page of another
// site, as Sec-Fetch-Site or Origin tell) gets 403 on every path, before the password is even
// read: a browser sends the operator's saved Basic credentials with any request to this origin,
// and the Temporal UI skips its own CSRF check when an Authorization header is present, so
// without this a page elsewhere could terminate journeys in the operator's name.
func Front(ui *url.URL, transport http.RoundTripper, codec http.Handler, guard func(http.Handler) http.Handler, log zerolog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(CodecPath+"/", codec)
	proxy := httputil.NewSingleHostReverseProxy(ui)
	proxy.Transport = transport
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, context.Canceled) || r.Context().Err() != nil {
			log.Debug().Err(err).Str("path", r.URL.Path).Msg("ui request cancelled by its caller")
			return
		}
		log.Warn().Err(err).Str("path", r.URL.Path).Msg("the temporal ui did not answer")
		w.WriteHeader(http.StatusBadGateway)
	}
	mux.Handle("/", proxy)
	return withHealth(sameOrigin(guard(mux), log), uiAnswers(ui, transport))
}

// sameOrigin refuses unsafe cross-origin browser requests with 403 (net/http's
// CrossOriginProtection: Sec-Fetch-Site, else Origin against Host), and logs each refusal.
// Requests with neither header (curl, the CLI) are not a browser's and pass.
func sameOrigin(next http.Handler, log zerolog.Logger) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Warn().Str("method", r.Method).Str("path", r.URL.Path).Str("origin", r.Header.Get("Origin")).
			Str("secFetchSite", r.Header.Get("Sec-Fetch-Site")).Msg("cross-origin request refused")
		http.Error(w, "forbidden: a cross-origin request that changes something is refused", http.StatusForbidden)
	}))
	return p.Handler(next)
}

// WithHealth answers HealthPath with 200, without authorization, and passes everything else on.
func WithHealth(next http.Handler) http.Handler { return withHealth(next, nil) }

// withHealth answers HealthPath, without authorization: 200 when check (if any) passes, else
// 503 with its reason. Everything else goes to next.
func withHealth(next http.Handler, check func(*http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != HealthPath {
			next.ServeHTTP(w, r)
			return
		}
		if check != nil {
			if err := check(r); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
}

// uiAnswers checks that the Temporal UI behind Front answers (any status below 500) within
// 2 s: a front whose UI is down is not healthy.
func uiAnswers(ui *url.URL, transport http.RoundTripper) func(*http.Request) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: transport}
	return func(r *http.Request) error {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, ui.String(), nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("temporal ui: %w", err)
		}
		if err := resp.Body.Close(); err != nil {
			return fmt.Errorf("temporal ui: %w", err)
		}
		if resp.StatusCode >= 500 {
			return fmt.Errorf("temporal ui: %s", resp.Status)
		}
		return nil
	}
}

// Password is Front's guard of the dev stack: it asks the browser for a password (any user name,
// one of tokens). A deployment signs operators in instead (SignIn.Protect).
func Password(tokens []string, realm string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return passwordProtected(next, tokens, realm) }
}

// passwordProtected asks the browser for a password (any user name, one of tokens).
func passwordProtected(next http.Handler, tokens []string, realm string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Authorized(r, tokens) {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
			http.Error(w, "unauthorized: the password is the UI token ("+realm+")", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
