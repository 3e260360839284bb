package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"github.com/temporalio/ui-server/v2/server"
	"github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/sdk/converter"

	"github.com/careclock/careclock/codecserver"
)

// UI is the embedded Temporal Web UI, behind a front server that asks for a password and serves
// careclock's codec, so that the UI shows journeys decrypted to whoever knows the password.
type UI struct {
	srv   *server.Server
	front *http.Server
}

// UIOptions configure StartUI.
type UIOptions struct {
	TemporalHostPort, Namespace string
	// Host and Port the UI is served on.
	Host string
	Port int
	// Codec decodes payloads for the UI; Tokens are the passwords (any user name) it accepts,
	// read from TokensFile, which the browser's password prompt names.
	Codec      converter.PayloadCodec
	Tokens     []string
	TokensFile string
	Log        zerolog.Logger
}

// StartUI serves the Temporal UI on Host:Port: HTTP Basic authentication for every request, the
// codec at CodecPath, and the UI server itself (on an internal port) for everything else.
func StartUI(o UIOptions) (*UI, error) {
	addr := net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	if err := portFree(addr); err != nil {
		return nil, fmt.Errorf("temporal ui: %w", err)
	}
	internal, err := freePorts("127.0.0.1", 1)
	if err != nil {
		return nil, err
	}
	codec, err := codecserver.Handler(codecserver.Options{Codec: o.Codec, Tokens: o.Tokens, Log: o.Log})
	if err != nil {
		return nil, err
	}
	cfg := &config.Config{
		TemporalGRPCAddress: o.TemporalHostPort,
		Host:                "127.0.0.1",
		Port:                internal[0],
		EnableUI:            true,
		DefaultNamespace:    o.Namespace,
		HideLogs:            true,
		DisableNewsFetch:    true,
		CORS:                config.CORS{CookieInsecure: true},
		// Relative: the browser calls the codec on the origin it loaded the UI from.
		Codec: config.Codec{Endpoint: codecserver.CodecPath, DefaultErrorMessage: "The payload codec refused: is the dev stack's UI password right?"},
	}
	srv := server.NewServer(server_options.WithConfigProvider(cfg))
	go func() {
		// Start blocks until Stop closes the server.
		if err := srv.Start(); err != nil {
			o.Log.Error().Err(err).Msg("temporal ui stopped")
		}
	}()
	upstream := &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(internal[0]))}
	handler := codecserver.Front(upstream, nil, codec, codecserver.Password(o.Tokens, "careclock dev stack: the password in "+o.TokensFile), o.Log)
	front := &http.Server{Addr: addr, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		srv.Stop()
		return nil, fmt.Errorf("temporal ui: %w", err)
	}
	go func() {
		if err := front.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.Log.Error().Err(err).Msg("temporal ui front stopped")
		}
	}()
	return &UI{srv: srv, front: front}, nil
}

// Stop shuts the UI down.
func (u *UI) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = u.front.Shutdown(ctx)
	u.srv.Stop()
}
