package config

import (
	"strings"
	"testing"
)

func TestFromEnvDefaults(t *testing.T) {
	for _, v := range []string{"NATS_URL", "CARECLOCK_TASK_QUEUE", "CARECLOCK_DATA_DIR", "CARECLOCK_HMAC_KEY_FILE",
		"CARECLOCK_CONSUMER", "CARECLOCK_STREAM_REPLICAS", "LOG_LEVEL", "LOG_FORMAT", "CARECLOCK_POLICY_FILE",
		"CARECLOCK_WORKFLOW_CACHE_SIZE"} {
		t.Setenv(v, "")
	}
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.NATSURL != "nats://127.0.0.1:4222" || c.TaskQueue != "careclock" || c.HMACKeyFile != ".careclock/hmac.key" ||
		c.Consumer != "careclock-listener" || c.StreamReplicas != 1 || c.LogLevel != "info" || c.WorkflowCacheSize != 0 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFromEnvNamesTheBadVariable(t *testing.T) {
	cases := map[string]string{
		"NATS_URL":                      "http://localhost:4222",
		"CARECLOCK_STREAM_REPLICAS":     "seven",
		"LOG_FORMAT":                    "xml",
		"LOG_LEVEL":                     "loud",
		"CARECLOCK_WORKFLOW_CACHE_SIZE": "0",
		"CARECLOCK_LOCAL_PUBLISH":       "sometimes",
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			_, err := FromEnv()
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%s: error %v", name, value, err)
			}
		})
	}
}

// A setting that no longer exists is refused, not ignored.
func TestFromEnvRefusesLocalPublish(t *testing.T) {
	for _, v := range []string{"true", "false"} {
		t.Setenv("CARECLOCK_LOCAL_PUBLISH", v)
		if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), "CARECLOCK_LOCAL_PUBLISH: no longer a setting") {
			t.Errorf("CARECLOCK_LOCAL_PUBLISH=%q: %v", v, err)
		}
	}
}

func TestKeyerRequiresAConfiguredKeyFile(t *testing.T) {
	t.Setenv("CARECLOCK_HMAC_KEY_FILE", t.TempDir()+"/missing.key")
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	// A configured key is never created on the fly, not even where creation is allowed.
	if _, err := c.Keyer(true); err == nil || !strings.Contains(err.Error(), "CARECLOCK_HMAC_KEY_FILE") {
		t.Fatalf("error %v", err)
	}
}
