package config

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestWarnDevDefaultsNamesWhatIsMissing(t *testing.T) {
	for _, v := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "NATS_URL", "NATS_NKEY_SEED_FILE", "NATS_CREDS",
		"CARECLOCK_CODEC_KEYS_FILE", "CARECLOCK_CODEC_KEYS", "CARECLOCK_TASK_QUEUE"} {
		t.Setenv(v, "")
	}
	t.Setenv("TEMPORAL_ADDRESS", "temporal:7233")
	t.Setenv("NATS_CREDS", "/secrets/worker.creds")
	var out bytes.Buffer
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	c.WarnDevDefaults(ProcessWorker, zerolog.New(&out))
	for _, want := range []string{"TEMPORAL_NAMESPACE", "NATS_URL", "CARECLOCK_CODEC_KEYS_FILE|CARECLOCK_CODEC_KEYS", "CARECLOCK_TASK_QUEUE"} {
		if !strings.Contains(out.String(), `"variable":"`+want+`"`) {
			t.Errorf("no warning for %s:\n%s", want, out.String())
		}
	}
	for _, given := range []string{`"TEMPORAL_ADDRESS"`, `"NATS_NKEY_SEED_FILE|NATS_CREDS"`} {
		if strings.Contains(out.String(), given) {
			t.Errorf("warned about %s, which is set:\n%s", given, out.String())
		}
	}
	for _, p := range []string{ProcessWorker, ProcessListener, ProcessCodec, ProcessSetup} {
		if len(Needs(p)) == 0 {
			t.Errorf("%s needs nothing", p)
		}
	}
}
