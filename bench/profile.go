package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// serverProfileFor is how long a storm's profile of the Temporal server runs from its instant.
const serverProfileFor = 2 * time.Minute

// profileServer records a CPU profile of the Temporal server for serverProfileFor from at,
// into the -server-profiles folder as name.pprof, in the background; the returned func waits
// for it and reports what went wrong. Without -server-profiles it does nothing.
func (b *bench) profileServer(ctx context.Context, name string, at time.Time) func() error {
	if b.serverProfiles == "" {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() { done <- b.recordServerProfile(ctx, name, at) }()
	return func() error {
		if err := <-done; err != nil {
			return fmt.Errorf("the server's profile of %s: %w", name, err)
		}
		return nil
	}
}

func (b *bench) recordServerProfile(ctx context.Context, name string, at time.Time) error {
	if b.serverPprof == "" {
		return errors.New("the Temporal server serves no profiles")
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(at)):
	}
	resp, err := getPprof(ctx, fmt.Sprintf("%sprofile?seconds=%d", b.serverPprof, int(serverProfileFor.Seconds())))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := os.MkdirAll(b.serverProfiles, 0o755); err != nil {
		return err
	}
	file := filepath.Join(b.serverProfiles, strings.NewReplacer(" ", "-", "#", "", "÷", "").Replace(name)+".pprof")
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return err
	}
	b.log.Info().Str("file", file).Msg("the Temporal server's profile of " + name)
	return nil
}

// checkPprof makes sure the server serves its profiles before a run that will want them.
func checkPprof(ctx context.Context, url string) error {
	if url == "" {
		return errors.New("-server-profiles: the Temporal server serves no profiles")
	}
	resp, err := getPprof(ctx, url)
	if err != nil {
		return fmt.Errorf("-server-profiles: %w", err)
	}
	return resp.Body.Close()
}

// getPprof asks the server's profile handler for url; the caller closes the body of an OK answer.
func getPprof(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, errors.Join(fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(msg))), resp.Body.Close())
	}
	return resp, nil
}
