package main

import (
	"context"
	"errors"
	"flag"
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

// codec serves the payload codec for the Temporal UI until interrupted; with --ui, it also
// proxies the UI behind the same password, on one origin.
func codec(args []string) error {
	fs := flag.NewFlagSet("codec", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	ui := fs.String("ui", "", "the Temporal UI's internal URL (e.g. http://temporal-ui:8080): serve it behind the token, with the codec at /codec")
	cert := fs.String("tls-cert", "", "TLS certificate file (the UI passes operators' access tokens only to an https codec)")
	key := fs.String("tls-key", "", "TLS key file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*cert == "") != (*key == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	log := cfg.Logger("codec")
	config.WarnDevDefaults(config.ProcessCodec, log)
	ring, err := cfg.Keyring(false)
	if err != nil {
		return err
	}
	tokensFile := os.Getenv("CARECLOCK_CODEC_TOKENS_FILE")
	if tokensFile == "" {
		return errors.New("CARECLOCK_CODEC_TOKENS_FILE: required, a file of the tokens callers present (one per line)")
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
	if *ui != "" {
		upstream, err := url.Parse(*ui)
		if err != nil || upstream.Host == "" {
			return fmt.Errorf("--ui %q: want the UI's URL, e.g. http://temporal-ui:8080", *ui)
		}
		h = codecserver.Front(upstream, h, tokens, "careclock: the token in CARECLOCK_CODEC_TOKENS_FILE")
	} else {
		h = codecserver.WithHealth(h)
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info().Str("addr", *addr).Strs("origins", origins).Str("key", ring.Current()).Bool("tls", *cert != "").Str("ui", *ui).Msg("codec server running")
	if *cert != "" {
		err = srv.ListenAndServeTLS(*cert, *key)
	} else {
		err = srv.ListenAndServe()
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
