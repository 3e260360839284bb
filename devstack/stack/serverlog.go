package stack

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/rs/zerolog"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger writes the embedded Temporal server's logs through zerolog, so the dev stack has
// one log output. The server logs hashed workflow ids and its own internals, never payloads.
//
// What the server says as a matter of course is lowered to debug, so that a warning in the dev
// stack's log means something: while it starts, its services dial each other before they listen;
// while it stops, its internal workers' polls and its matching service fail by design; and it
// always notes that Nexus has no HTTP port and that the UI reads long histories.
type serverLogger struct {
	z     zerolog.Logger
	phase *atomic.Int32
}

// The server's phases, as serverLogger knows them.
const (
	phaseStarting int32 = iota
	phaseRunning
	phaseStopping
)

var _ log.Logger = serverLogger{}

func newServerLogger(z zerolog.Logger) serverLogger {
	return serverLogger{z: z, phase: new(atomic.Int32)}
}

// routine lists the messages lowered to debug in any phase.
var routine = []string{
	"HTTP API port has not been set", // Nexus over HTTP, which careclock does not use
	"GetHistory page size is larger than threshold",
}

// notReady is the error the frontend answers with until its own start-up is done. The server's
// internal worker service dials it as the frontend starts, and again as it stops; the dev stack
// waits for the frontend itself, so this error on its own is never news.
const notReady = "Frontend is not healthy yet"

// levelFor is the level a warning or an error msg is written at.
func (l serverLogger) levelFor(level zerolog.Level, msg string, tags []tag.Tag) zerolog.Level {
	switch phase := l.phase.Load(); {
	case phase == phaseStopping:
		return zerolog.DebugLevel
	case phase == phaseStarting && msg == "network dial error":
		return zerolog.DebugLevel
	}
	for _, t := range tags {
		if t.Key() == "error" && strings.Contains(fmt.Sprint(t.Value()), notReady) {
			return zerolog.DebugLevel
		}
	}
	for _, r := range routine {
		if strings.HasPrefix(msg, r) {
			return zerolog.DebugLevel
		}
	}
	return level
}

func (l serverLogger) event(level zerolog.Level, msg string, tags []tag.Tag) {
	if level >= zerolog.WarnLevel && level < zerolog.FatalLevel {
		level = l.levelFor(level, msg, tags)
	}
	e := l.z.WithLevel(level)
	for _, t := range tags {
		e = e.Interface(t.Key(), t.Value())
	}
	e.Msg(msg)
}

func (l serverLogger) Debug(msg string, tags ...tag.Tag)  { l.event(zerolog.DebugLevel, msg, tags) }
func (l serverLogger) Info(msg string, tags ...tag.Tag)   { l.event(zerolog.InfoLevel, msg, tags) }
func (l serverLogger) Warn(msg string, tags ...tag.Tag)   { l.event(zerolog.WarnLevel, msg, tags) }
func (l serverLogger) Error(msg string, tags ...tag.Tag)  { l.event(zerolog.ErrorLevel, msg, tags) }
func (l serverLogger) DPanic(msg string, tags ...tag.Tag) { l.event(zerolog.ErrorLevel, msg, tags) }
func (l serverLogger) Panic(msg string, tags ...tag.Tag) {
	l.event(zerolog.ErrorLevel, msg, tags)
	panic(msg)
}
func (l serverLogger) Fatal(msg string, tags ...tag.Tag) { l.event(zerolog.FatalLevel, msg, tags) }

// With keeps the tags of a derived logger, and its phase.
func (l serverLogger) With(tags ...tag.Tag) log.Logger {
	c := l.z.With()
	for _, t := range tags {
		c = c.Interface(t.Key(), t.Value())
	}
	return serverLogger{z: c.Logger(), phase: l.phase}
}
