package config

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/rs/zerolog"
	sdklog "go.temporal.io/sdk/log"
)

// Logger returns the process's zerolog logger on stderr, with a component field unless
// component is empty (a base for loggers that add their own). Fields only, never PHI: workflow ids
// (keyed hashes), event types and sequence numbers are fine; member, claim or referral ids,
// dates of birth and counties are not.
func (c Config) Logger(component string) zerolog.Logger {
	level, err := parseLevel(c.LogLevel)
	if err != nil {
		level = zerolog.InfoLevel
	}
	var out io.Writer = os.Stderr
	if c.LogFormat == "console" || ((c.LogFormat == "" || c.LogFormat == "auto") && isTerminal(os.Stderr)) {
		out = zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly}
	}
	l := zerolog.New(out).Level(level).With().Timestamp().Logger()
	if component != "" {
		l = l.With().Str("component", component).Logger()
	}
	return l
}

// SDKLogger bridges the Temporal SDK's logger to zerolog through slog.
func SDKLogger(l zerolog.Logger) sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(zerolog.NewSlogHandler(l)))
}

func parseLevel(s string) (zerolog.Level, error) { return zerolog.ParseLevel(s) }

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
