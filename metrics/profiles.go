package metrics

import (
	"context"
	"net/http"
	"net/http/pprof"

	"github.com/rs/zerolog"
)

// ServeProfiles serves Go's runtime profiles under /debug/pprof/ (heap, goroutines, allocations,
// a CPU profile on request) on addr until ctx ends, on a listener of their own: an engineer's
// diagnosis of the process, apart from the /metrics that Prometheus scrapes. It returns once it
// listens, with the address it listens on.
//
// A profile names code and sizes, not members; but a CPU profile costs the process while it
// runs, so the address belongs on loopback or behind the operators' own access.
func ServeProfiles(ctx context.Context, addr string, log zerolog.Logger) (string, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index) // heap, goroutine, allocs, block, mutex, threadcreate
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return serve(ctx, addr, "profiles endpoint", mux, log)
}
