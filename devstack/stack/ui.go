package stack

import (
	"fmt"
	"net"
	"strconv"

	"github.com/rs/zerolog"
	"github.com/temporalio/ui-server/v2/server"
	"github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/server_options"
)

// UI is the embedded Temporal Web UI.
type UI struct{ srv *server.Server }

// StartUI serves the Temporal UI for the server at temporalHostPort on host:port.
func StartUI(temporalHostPort, host string, port int, namespace string, log zerolog.Logger) (*UI, error) {
	if err := portFree(net.JoinHostPort(host, strconv.Itoa(port))); err != nil {
		return nil, fmt.Errorf("temporal ui: %w", err)
	}
	cfg := &config.Config{
		TemporalGRPCAddress: temporalHostPort,
		Host:                host,
		Port:                port,
		EnableUI:            true,
		DefaultNamespace:    namespace,
		HideLogs:            true,
		DisableNewsFetch:    true,
		CORS:                config.CORS{CookieInsecure: true},
	}
	srv := server.NewServer(server_options.WithConfigProvider(cfg))
	go func() {
		// Start blocks until Stop closes the server.
		if err := srv.Start(); err != nil {
			log.Error().Err(err).Msg("temporal ui stopped")
		}
	}()
	return &UI{srv: srv}, nil
}

// Stop shuts the UI down.
func (u *UI) Stop() { u.srv.Stop() }
