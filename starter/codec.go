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

	"github.com/careclock/careclock/access"
	"github.com/careclock/careclock/codecserver"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/privacy"
)

type codecCmd struct {
	Addr    string `default:"127.0.0.1:8081" placeholder:"HOST:PORT" help:"Address to listen on."`
	UI      string `name:"ui" placeholder:"URL" help:"The Temporal UI's internal URL (e.g. http://temporal-ui:8080): serve it behind the token, with the codec at /codec."`
	TLSCert string `name:"tls-cert" placeholder:"FILE" help:"TLS certificate file (the UI passes operators' access tokens only to an https codec)."`
	TLSKey  string `name:"tls-key" placeholder:"FILE" help:"TLS key file."`
	UICA    string `name:"ui-ca" placeholder:"FILE" help:"CA certificate that signed an https --ui's certificate (the deployment's tls/ca.pem)."`
}

// Run serves the payload codec for the Temporal UI until interrupted; with --ui, it also
// proxies the UI behind the same password, on one origin.
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
	tokensFile := cfg.CodecTokensFile
	if tokensFile == "" {
		return errors.New("CARECLOCK_CODEC_TOKENS_FILE (--codec-tokens-file): required, a file of the tokens callers present (one per line)")
	}
	tokens, err := codecserver.LoadTokens(tokensFile)
	if err != nil {
		return err
	}
	var origins []string
	for o := range strings.SplitSeq(cfg.UIURL, ",") {
		origins = append(origins, strings.TrimSuffix(strings.TrimSpace(o), "/"))
	}
	h, err := codecserver.Handler(codecserver.Options{Codec: privacy.Codec{Keys: ring}, Tokens: tokens, Origins: origins, Log: log})
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
		h = codecserver.Front(upstream, transport, h, tokens, "careclock: a token in "+tokensFile, log)
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
	log.Info().Str("addr", c.Addr).Strs("origins", origins).Str("key", ring.Current()).Bool("tls", c.TLSCert != "").Str("ui", c.UI).Msg("codec server running")
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
