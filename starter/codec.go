package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/careclock/careclock/access"
	"github.com/careclock/careclock/codecserver"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/privacy"
)

type codecCmd struct {
	Addr    string `default:"127.0.0.1:8081" placeholder:"HOST:PORT" help:"Address to listen on."`
	UI      string `name:"ui" placeholder:"URL" help:"The Temporal UI's internal URL (e.g. http://temporal-ui:8080): serve it behind the token, with the codec at /codec."`
	TLSCert string `name:"tls-cert" placeholder:"FILE" help:"TLS certificate file (the UI passes operators' access tokens only to an https codec)."`
	TLSKey  string `name:"tls-key" placeholder:"FILE" help:"TLS key file."`
	UICA    string `name:"ui-ca" placeholder:"FILE" help:"CA certificate that signed an https --ui's certificate (the deployment's tls/ca.pem)."`

	OIDCIssuer           string        `name:"oidc-issuer" env:"CARECLOCK_OIDC_ISSUER" placeholder:"URL" group:"Sign-in" help:"With --ui: sign operators in through this OpenID Connect provider instead of the shared token, and record every decode on the AUDIT stream (docs/security.md)."`
	OIDCClientID         string        `name:"oidc-client-id" env:"CARECLOCK_OIDC_CLIENT_ID" group:"Sign-in" help:"The front's client id at the provider."`
	OIDCClientSecretFile string        `name:"oidc-client-secret-file" env:"CARECLOCK_OIDC_CLIENT_SECRET_FILE" placeholder:"FILE" group:"Sign-in" help:"File holding the front's client secret (mode 0600)."`
	OIDCRedirectURL      string        `name:"oidc-redirect-url" env:"CARECLOCK_OIDC_REDIRECT_URL" placeholder:"URL" group:"Sign-in" help:"The front's /auth/callback as browsers reach it, registered at the provider."`
	SessionMaxAge        time.Duration `name:"session-max-age" env:"CARECLOCK_SESSION_MAX_AGE" default:"8h" group:"Sign-in" help:"A session ends this long after sign-in."`
	SessionIdle          time.Duration `name:"session-idle" env:"CARECLOCK_SESSION_IDLE" default:"15m" group:"Sign-in" help:"A session unused this long ends (automatic logoff)."`
}

// Run serves the payload codec for the Temporal UI until interrupted; with --ui, it also
// proxies the UI on one origin, both behind the token or, with --oidc-issuer, behind operators'
// sign-in, every decode then recorded on the AUDIT stream.
func (c codecCmd) Run(cfg *config.Config) error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	log := cfg.Logger("codec")
	cfg.WarnDevDefaults(config.ProcessCodec, log)
	ring, err := cfg.Keyring(false)
	if err != nil {
		return err
	}
	signIn := c.OIDCIssuer != ""
	if signIn && c.UI == "" {
		return errors.New("--oidc-issuer signs operators in to the front: give --ui too")
	}
	var tokens []string
	tokensFile := cfg.CodecTokensFile
	if !signIn {
		if tokensFile == "" {
			return errors.New("CARECLOCK_CODEC_TOKENS_FILE (--codec-tokens-file): required, a file of the tokens callers present (one per line), unless operators sign in (--oidc-issuer)")
		}
		if tokens, err = codecserver.LoadTokens(tokensFile); err != nil {
			return err
		}
	}
	var origins []string
	for o := range strings.SplitSeq(cfg.UIURL, ",") {
		origins = append(origins, strings.TrimSuffix(strings.TrimSpace(o), "/"))
	}
	h, err := codecserver.Handler(codecserver.Options{Codec: privacy.Codec{Keys: ring}, Tokens: tokens, Origins: origins, Guarded: signIn, Log: log})
	if err != nil {
		return err
	}
	if c.UI != "" {
		upstream, err := url.Parse(c.UI)
		if err != nil || upstream.Host == "" {
			return fmt.Errorf("--ui %q: want the UI's URL, e.g. http://temporal-ui:8080", c.UI)
		}
		transport, err := caTransport("--ui-ca", c.UICA)
		if err != nil {
			return err
		}
		guard := codecserver.Password(tokens, "careclock: a token in "+tokensFile)
		if signIn {
			var closeNATS func()
			if guard, h, closeNATS, err = c.signIn(cfg, h, log); err != nil {
				return err
			}
			defer closeNATS()
		}
		h = codecserver.Front(upstream, transport, h, guard, log)
	} else {
		h = codecserver.WithHealth(h)
	}
	srv := &http.Server{Addr: c.Addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info().Str("addr", c.Addr).Strs("origins", origins).Str("key", ring.Current()).Bool("tls", c.TLSCert != "").Bool("signIn", signIn).Str("ui", c.UI).Msg("codec server running")
	if c.TLSCert != "" {
		err = srv.ListenAndServeTLS(c.TLSCert, c.TLSKey)
	} else {
		err = srv.ListenAndServe()
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// caTransport is an HTTP transport trusting the CA certificate in ca, given by flag, for https
// URLs (none: nil, the default transport and the system's roots).
func caTransport(flag, ca string) (http.RoundTripper, error) {
	if ca == "" {
		return nil, nil
	}
	pool, err := access.LoadPool(ca)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}

// signIn is the front's guard when operators sign in through the OpenID Connect provider, and
// the codec audited: every decode recorded on the AUDIT stream (as the auditor NATS role)
// before it is answered.
func (c codecCmd) signIn(cfg *config.Config, codec http.Handler, log zerolog.Logger) (func(http.Handler) http.Handler, http.Handler, func(), error) {
	var secret string
	if c.OIDCClientSecretFile != "" {
		b, err := privacy.ReadSecretFile(c.OIDCClientSecretFile)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--oidc-client-secret-file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := codecserver.NewSignIn(ctx, codecserver.SignInOptions{
		Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: secret, RedirectURL: c.OIDCRedirectURL,
		MaxAge: c.SessionMaxAge, Idle: c.SessionIdle, Log: log,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	nc, js, err := connect.NATS(*cfg, config.RoleAuditor, log)
	if err != nil {
		return nil, nil, nil, err
	}
	audited := codecserver.Audited(codec, codecserver.StreamRecorder{JS: js}, time.Now, log)
	return s.Protect, audited, nc.Close, nil
}
