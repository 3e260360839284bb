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
	if c.LogFormat == "console" || ((c.LogFormat == "" || c.LogFormat == "auto") && IsTerminal(os.Stderr)) {
		out = zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly}
	}
	l := zerolog.New(out).Level(level).With().Timestamp().Logger()
	if component != "" {
		l = l.With().Str("component", component).Logger()
	}
	return l
}

// SDKLogger bridges the Temporal SDK's logger to zerolog through slog. One line is lowered to
// debug: a poll that ends with "worker stopping" while the worker stops. The SDK means to keep it
// quiet (it checks its stop channel first), but a poller can see the stop before that channel is
// closed, and a stop asked for is not a warning.
func SDKLogger(l zerolog.Logger) sdklog.Logger {
	return sdkLogger{sdklog.NewStructuredLogger(slog.New(zerolog.NewSlogHandler(l)))}
}

type sdkLogger struct{ sdklog.Logger }

func (l sdkLogger) Warn(msg string, keyvals ...any) {
	if msg == "Failed to poll for task." && stopping(keyvals) {
		l.Logger.Debug(msg, keyvals...)
		return
	}
	l.Logger.Warn(msg, keyvals...)
}

// With keeps the lowering on the loggers the SDK derives for each worker.
func (l sdkLogger) With(keyvals ...any) sdklog.Logger {
	return sdkLogger{sdklog.With(l.Logger, keyvals...)}
}

// stopping reports whether keyvals hold the SDK's own "worker stopping" error.
func stopping(keyvals []any) bool {
	for _, v := range keyvals {
		if err, ok := v.(error); ok && err.Error() == "worker stopping" {
			return true
		}
	}
	return false
}

func parseLevel(s string) (zerolog.Level, error) { return zerolog.ParseLevel(s) }

// IsTerminal reports whether f is a terminal (a character device): the log's console format and
// starter import's progress bar are for one.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
