package stack

import (
	"github.com/rs/zerolog"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger writes the embedded Temporal server's logs through zerolog, so the dev stack has
// one log output. The server logs hashed workflow ids and its own internals, never payloads.
type serverLogger struct{ z zerolog.Logger }

var _ log.Logger = serverLogger{}

func (l serverLogger) event(e *zerolog.Event, msg string, tags []tag.Tag) {
	for _, t := range tags {
		e = e.Interface(t.Key(), t.Value())
	}
	e.Msg(msg)
}

func (l serverLogger) Debug(msg string, tags ...tag.Tag)  { l.event(l.z.Debug(), msg, tags) }
func (l serverLogger) Info(msg string, tags ...tag.Tag)   { l.event(l.z.Info(), msg, tags) }
func (l serverLogger) Warn(msg string, tags ...tag.Tag)   { l.event(l.z.Warn(), msg, tags) }
func (l serverLogger) Error(msg string, tags ...tag.Tag)  { l.event(l.z.Error(), msg, tags) }
func (l serverLogger) DPanic(msg string, tags ...tag.Tag) { l.event(l.z.Error(), msg, tags) }
func (l serverLogger) Panic(msg string, tags ...tag.Tag) {
	l.event(l.z.Error(), msg, tags)
	panic(msg)
}
func (l serverLogger) Fatal(msg string, tags ...tag.Tag) { l.event(l.z.Fatal(), msg, tags) }

// With keeps the tags of a derived logger.
func (l serverLogger) With(tags ...tag.Tag) log.Logger {
	c := l.z.With()
	for _, t := range tags {
		c = c.Interface(t.Key(), t.Value())
	}
	return serverLogger{c.Logger()}
}
