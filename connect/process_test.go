package connect

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/listener"
	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// The listener's defaults for a zero field and config's declared defaults are the same numbers.
func TestListenerDefaultsAgree(t *testing.T) {
	for _, v := range []string{"CARECLOCK_LISTENER_CONCURRENCY", "CARECLOCK_LISTENER_ACK_WAIT", "CARECLOCK_LISTENER_MAX_ACK_PENDING",
		"CARECLOCK_LISTENER_NOT_FOUND_ATTEMPTS", "CARECLOCK_LISTENER_RETRY_DELAY"} {
		t.Setenv(v, "")
	}
	cfg, err := config.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	got := NewListener(cfg, nil, nil, privacy.Keyer{}, rules.DefaultPolicy(), zerolog.Nop(), nil)
	if got.Concurrency != listener.DefaultConcurrency || got.AckWait != listener.DefaultAckWait || got.MaxAckPending != listener.DefaultMaxAckPending ||
		got.NotFoundAttempts != listener.DefaultNotFoundAttempts || got.RetryDelay != listener.DefaultRetryDelay {
		t.Fatalf("config's defaults: concurrency %d, ack wait %s, max ack pending %d, not found attempts %d, retry delay %s",
			got.Concurrency, got.AckWait, got.MaxAckPending, got.NotFoundAttempts, got.RetryDelay)
	}
	t.Setenv("CARECLOCK_LISTENER_CONCURRENCY", "4")
	if cfg, err = config.FromEnv(); err != nil {
		t.Fatal(err)
	}
	if got := NewListener(cfg, nil, nil, privacy.Keyer{}, rules.DefaultPolicy(), zerolog.Nop(), nil); got.Concurrency != 4 {
		t.Fatalf("concurrency %d", got.Concurrency)
	}
}
