package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/careclock/careclock/codecserver"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/privacy"
)

type codecCmd struct {
	Addr    string `default:"127.0.0.1:8081" placeholder:"HOST:PORT" help:"Address to listen on."`
	UI      string `name:"ui" placeholder:"URL" help:"The Temporal UI's internal URL (e.g. http://temporal-ui:8080): serve it behind the token, with the codec at /codec."`
	TLSCert string `name:"tls-cert" placeholder:"FILE" help:"TLS certificate file (the UI passes operators' access tokens only to an https codec)."`
	TLSKey  string `name:"tls-key" placeholder:"FILE" help:"TLS key file."`
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
		h = codecserver.Front(upstream, h, tokens, "careclock: a token in "+tokensFile, log)
	} else {
		h = codecserver.WithHealth(h)
	}
	srv := &http.Server{Addr: c.Addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
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
