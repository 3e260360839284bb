// Package codecserver serves careclock's payload codec over HTTP for the Temporal UI and CLI
// (the codec server protocol: POST …/decode and …/encode with Payloads as JSON), so that an
// authorized operator sees journeys' inputs, signals and state decrypted, while Temporal's
// database holds only ciphertext.
//
// Every request must carry an authorization header with one of the configured tokens, and a
// browser may call it only from the Temporal UI's origin.
package codecserver

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/converter"

	"github.com/careclock/careclock/privacy"
)

// Options configure the handler.
type Options struct {
	Codec converter.PayloadCodec
	// Tokens are the secrets an authorized caller presents, as `Authorization: Bearer <token>`
	// or as the password of HTTP Basic authentication (which is how a browser sends it).
	Tokens []string
	// Origins are the browser origins allowed to call (the Temporal UI's, e.g.
	// https://temporal-ui.example.org); a page served from the codec server's own origin is
	// always allowed. Requests without an Origin (the CLI) are not affected.
	Origins []string
	// Guarded is a codec behind a front that signs its callers in (SignIn): no token is asked.
	Guarded bool
	Log     zerolog.Logger
}

// Handler returns the codec endpoint. It refuses to be built without a token, unless Guarded.
func Handler(o Options) (http.Handler, error) {
	if len(o.Tokens) == 0 && !o.Guarded {
		return nil, errors.New("codec server: no authorization token configured")
	}
	for _, t := range o.Tokens {
		if len(t) < 16 {
			return nil, errors.New("codec server: tokens must be at least 16 characters")
		}
	}
	codec := converter.NewPayloadCodecHTTPHandler(o.Codec)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" {
			if !o.originAllowed(origin, r) {
				o.Log.Warn().Str("origin", origin).Msg("codec request from an origin not allowed")
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions { // preflight: carries no credentials
				h.Set("Access-Control-Allow-Methods", "POST")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if !o.Guarded && !Authorized(r, o.Tokens) {
			o.Log.Warn().Str("path", r.URL.Path).Msg("codec request without a valid authorization header")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		codec.ServeHTTP(w, r)
	}), nil
}

func (o Options) originAllowed(origin string, r *http.Request) bool {
	if slices.Contains(o.Origins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// Authorized reports whether r carries one of tokens, as a bearer token or a Basic password.
func Authorized(r *http.Request, tokens []string) bool {
	presented := ""
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		presented = bearer
	} else if _, password, ok := r.BasicAuth(); ok {
		presented = password
	}
	if presented == "" {
		return false
	}
	match := 0
	for _, t := range tokens {
		match |= subtle.ConstantTimeCompare([]byte(presented), []byte(t))
	}
	return match == 1
}

// LoadTokens reads tokens from a file, one per line; blank lines and # comments are skipped.
func LoadTokens(path string) ([]string, error) {
	b, err := privacy.ReadSecretFile(path)
	if err != nil {
		return nil, fmt.Errorf("codec tokens: %w", err)
	}
	var tokens []string
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			tokens = append(tokens, line)
		}
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("codec tokens: %s holds no token", path)
	}
	return tokens, nil
}

// EnsureTokenFile loads the tokens at path, first creating it with one random token (mode 0600)
// when it does not exist. For the dev stack.
func EnsureTokenFile(path string) ([]string, error) {
	if err := privacy.EnsureSecretFile(path, func() (string, error) { return privacy.RandomHex(24) }); err != nil {
		return nil, fmt.Errorf("new codec token: %w", err)
	}
	return LoadTokens(path)
}
