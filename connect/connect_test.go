package connect

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/internal/testkit"
)

// A process's own clean exit is not a warning; a server that goes away is.
func TestNATSDisconnectIsAWarningOnlyWhenNATSGoesAway(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  func(closeConn, shutdown func())
		warn bool
		want string
	}{
		{"the process closes its connection", func(closeConn, _ func()) { closeConn() }, false, "nats connection closed"},
		{"the server shuts down", func(_, shutdown func()) { shutdown() }, true, "nats disconnected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := testkit.StartNATS(t)
			var logs testkit.LockedBuffer
			nc, _, err := NATS(config.Config{NATSURL: ns.ClientURL()}, config.RoleAdmin, zerolog.New(&logs).Level(zerolog.DebugLevel))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			tc.cut(nc.Close, ns.Shutdown)
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(string(logs.Bytes()), tc.want) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			text := string(logs.Bytes())
			if !strings.Contains(text, tc.want) {
				t.Fatalf("no %q in the logs:\n%s", tc.want, text)
			}
			if got := strings.Contains(text, `"level":"warn"`) && strings.Contains(text, "nats disconnected"); got != tc.warn {
				t.Errorf("warning %v, want %v; logs:\n%s", got, tc.warn, text)
			}
		})
	}
}
