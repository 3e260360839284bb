package codecserver

import (
	"net/http"
	"net/http/httputil"
	"net/url"
)

// CodecPath is where Front serves the codec, on the UI's own origin. The Temporal UI's codec
// endpoint is set to this relative path, so the browser calls it wherever the UI is reached.
const CodecPath = "/codec"

// HealthPath answers 200 without authorization, for container health checks.
const HealthPath = "/healthz"

// Front puts the Temporal UI (at ui) and the codec on one origin behind one password: every
// request must carry one of tokens (HTTP Basic, any user name, or a bearer token); the codec is
// served at CodecPath and everything else is proxied to the UI. The stock Temporal UI has no
// password of its own without an OIDC provider; through Front it shows journeys decrypted only
// to whoever knows one.
func Front(ui *url.URL, codec http.Handler, tokens []string, realm string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(CodecPath+"/", codec)
	mux.Handle("/", httputil.NewSingleHostReverseProxy(ui))
	return WithHealth(passwordProtected(mux, tokens, realm))
}

// WithHealth answers HealthPath with 200, without authorization, and passes everything else on.
func WithHealth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == HealthPath {
			w.WriteHeader(http.StatusOK)
			return
		}
		next.ServeHTTP(w, r)
	})
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
