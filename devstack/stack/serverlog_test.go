package stack

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/rs/zerolog"
	"go.temporal.io/server/common/log/tag"
)

// What the embedded server says as a matter of course is at debug; anything else keeps its level.
func TestServerLoggerLowersOnlyRoutineMessages(t *testing.T) {
	cases := []struct {
		name  string
		phase int32
		log   func(serverLogger)
		want  string
	}{
		{"frontend not ready while running", phaseRunning, func(l serverLogger) {
			l.Error("service failures", tag.Error(errors.New("Frontend is not healthy yet")))
		}, "debug"},
		{"another error while running", phaseRunning, func(l serverLogger) {
			l.Error("service failures", tag.Error(errors.New("disk full")))
		}, "error"},
		{"a dial error while starting", phaseStarting, func(l serverLogger) { l.Warn("network dial error") }, "debug"},
		{"a dial error while running", phaseRunning, func(l serverLogger) { l.Warn("network dial error") }, "warn"},
		{"anything while stopping", phaseStopping, func(l serverLogger) {
			l.Error("service failures", tag.Error(errors.New("disk full")))
		}, "debug"},
		{"Nexus's missing port", phaseRunning, func(l serverLogger) { l.Warn("HTTP API port has not been set, Nexus disabled") }, "debug"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			l := newServerLogger(zerolog.New(&out).Level(zerolog.DebugLevel))
			l.phase.Store(c.phase)
			c.log(l.With(tag.NewStringTag("service", "worker")).(serverLogger))
			var entry struct {
				Level string `json:"level"`
			}
			if err := json.Unmarshal(out.Bytes(), &entry); err != nil {
				t.Fatalf("%v: %s", err, out.String())
			}
			if entry.Level != c.want {
				t.Errorf("logged at %s, want %s: %s", entry.Level, c.want, out.String())
			}
		})
	}
}
