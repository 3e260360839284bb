package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	sdklog "go.temporal.io/sdk/log"
)

// clearEnv unsets every declared variable for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	flags, err := Declared()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flags {
		for _, env := range f.Tag.Envs {
			t.Setenv(env, "")
		}
	}
	t.Setenv("CARECLOCK_LOCAL_PUBLISH", "")
}

func TestDefaults(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		NATSURL: "nats://127.0.0.1:4222", TaskQueue: "careclock", WorkflowCacheSize: 2000, StickyTimeout: 30 * time.Second, DataDir: filepath.Join(wd, ".careclock"),
		Consumer: "careclock-listener", ListenerConcurrency: 32, ListenerAckWait: 30 * time.Second, ListenerMaxAckPending: 1000,
		ListenerNotFoundAttempts: 6, ListenerRetryDelay: time.Second, MaxEventBytes: 65536, MaxIDLength: 256, DirectoryLookup: "once", StreamReplicas: 1, InboundRetentionDays: 3653, JourneyRetentionDays: 3653, PprofAddr: "off", UIURL: "http://localhost:8233", LogLevel: "info", LogFormat: "auto",
	}
	c.given = nil
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if c.HMACKeyPath() != filepath.Join(wd, ".careclock", "hmac.key") || c.CodecKeysPath() != filepath.Join(wd, ".careclock", "codec.keys") {
		t.Errorf("key paths %s %s", c.HMACKeyPath(), c.CodecKeysPath())
	}
}

// A flag and its variable are one setting: the flag wins, the variable beats the default, and a
// variable set to "" is the default.
func TestFlagEnvironmentDefault(t *testing.T) {
	clearEnv(t)
	t.Setenv("CARECLOCK_TASK_QUEUE", "from-env")
	t.Setenv("NATS_URL", "")
	var c Config
	if _, err := ParseArgs(&c, "x", "", []string{"--consumer", "from-flag", "--task-queue=flag-wins"}, &bytes.Buffer{}, func(int) {}); err != nil {
		t.Fatal(err)
	}
	if c.Consumer != "from-flag" || c.TaskQueue != "flag-wins" || c.NATSURL != "nats://127.0.0.1:4222" {
		t.Fatalf("%+v", c)
	}
	if !c.Given("CARECLOCK_CONSUMER") || !c.Given("CARECLOCK_TASK_QUEUE") || c.Given("NATS_URL") {
		t.Errorf("given: %v", c.given)
	}
	t.Setenv("CARECLOCK_TASK_QUEUE", "from-env")
	if c, err := FromEnv(); err != nil || c.TaskQueue != "from-env" {
		t.Fatalf("%q %v", c.TaskQueue, err)
	}
}

// Every bad setting is reported at once, named by its variable and its flag.
func TestEveryBadSettingAtOnce(t *testing.T) {
	clearEnv(t)
	bad := map[string]string{
		"NATS_URL":                              "http://localhost:4222",
		"CARECLOCK_STREAM_REPLICAS":             "7",
		"CARECLOCK_WORKFLOW_CACHE_SIZE":         "0",
		"CARECLOCK_STICKY_TIMEOUT":              "2h",
		"CARECLOCK_LISTENER_CONCURRENCY":        "0",
		"CARECLOCK_LISTENER_ACK_WAIT":           "10ms",
		"CARECLOCK_LISTENER_NOT_FOUND_ATTEMPTS": "0",
		"CARECLOCK_LOCAL_PUBLISH":               "sometimes",
		"CARECLOCK_INBOUND_RETENTION_DAYS":      "0",
		"CARECLOCK_JOURNEY_RETENTION_DAYS":      "365",
	}
	for name, value := range bad {
		t.Setenv(name, value)
	}
	_, err := FromEnv()
	if err == nil {
		t.Fatal("no error")
	}
	for name := range bad {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%s not named in:\n%v", name, err)
		}
	}
	if !strings.Contains(err.Error(), "CARECLOCK_STREAM_REPLICAS (--stream-replicas): 7: must be a number from 1 to 5") ||
		!strings.Contains(err.Error(), "CARECLOCK_JOURNEY_RETENTION_DAYS (--journey-retention-days): 365: must be a number from 400 to 36525") ||
		!strings.Contains(err.Error(), "CARECLOCK_STICKY_TIMEOUT (--sticky-timeout): 2h0m0s: must be from 1s to 1h") {
		t.Errorf("message:\n%v", err)
	}
}

// A value the flag's type or enum refuses names the variable it came from.
func TestUnparsableValuesNameTheirSource(t *testing.T) {
	for name, value := range map[string]string{"CARECLOCK_STREAM_REPLICAS": "seven", "LOG_FORMAT": "xml", "LOG_LEVEL": "loud"} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(name, value)
			if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%s: error %v", name, value, err)
			}
		})
	}
}

// A setting that no longer exists is refused, not ignored.
func TestRefusesLocalPublish(t *testing.T) {
	clearEnv(t)
	for _, v := range []string{"true", "false"} {
		t.Setenv("CARECLOCK_LOCAL_PUBLISH", v)
		if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), "CARECLOCK_LOCAL_PUBLISH: no longer a setting") {
			t.Errorf("CARECLOCK_LOCAL_PUBLISH=%q: %v", v, err)
		}
	}
}

// starter finds the dev stack's data directory from anywhere below the folder that holds it.
func TestDataDirIsFoundFromASubfolder(t *testing.T) {
	clearEnv(t)
	root := t.TempDir()
	sub := filepath.Join(root, "samples", "deep")
	for _, d := range []string{filepath.Join(root, DataDirName), sub} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(sub)
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	root, err = filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := filepath.EvalSymlinks(c.DataDir); got != filepath.Join(root, DataDirName) {
		t.Fatalf("data dir %s", c.DataDir)
	}
}

func TestKeyerRequiresAConfiguredKeyFile(t *testing.T) {
	clearEnv(t)
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

func TestKeyringSources(t *testing.T) {
	c := Config{DataDir: t.TempDir()}
	if _, err := c.Keyring(false); err == nil || !strings.Contains(err.Error(), "CARECLOCK_CODEC_KEYS_FILE") {
		t.Errorf("missing key file: %v", err)
	}
	created, err := c.Keyring(true) // the dev stack creates it, in the data directory
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(c.DataDir, "codec.keys")); err != nil {
		t.Fatal(err)
	}
	if loaded, err := c.Keyring(false); err != nil || loaded.Current() != created.Current() {
		t.Errorf("reload: %v %v", loaded.Current(), err)
	}
	c.CodecKeys = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" // the inline keys win over the file
	if r, err := c.Keyring(false); err != nil || r.Current() != "k1" {
		t.Errorf("inline keys: %v %v", r.Current(), err)
	}
	c.CodecKeys = "k1:00"
	if _, err := c.Keyring(false); err == nil || !strings.HasPrefix(err.Error(), "CARECLOCK_CODEC_KEYS: ") {
		t.Errorf("bad inline keys: %v", err)
	}
	// A configured file is never created.
	c = Config{DataDir: t.TempDir(), CodecKeysFile: filepath.Join(t.TempDir(), "codec.keys")}
	if _, err := c.Keyring(true); err == nil {
		t.Error("a configured key file was created")
	}
}

// -h prints help generated from the declarations and exits 0.
func TestHelpExitsZero(t *testing.T) {
	clearEnv(t)
	var out bytes.Buffer
	code := -1
	var c Config
	_, _ = ParseArgs(&c, "careclock", "test", []string{"-h"}, &out, func(c int) {
		if code < 0 {
			code = c
		}
	})
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	flags, err := Declared()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flags {
		if !strings.Contains(out.String(), "--"+f.Name) || !strings.Contains(out.String(), "$"+f.Tag.Envs[0]) {
			t.Errorf("help lacks --%s ($%s)", f.Name, f.Tag.Envs[0])
		}
	}
	if strings.Contains(out.String(), "local-publish") {
		t.Error("help shows the removed setting")
	}
}

// The SDK's "worker stopping" poll error, logged when a poller sees the stop before the worker's
// stop channel closes, is debug; any other failed poll stays a warning, on derived loggers too.
func TestSDKLoggerLowersOnlyTheStopRace(t *testing.T) {
	var buf bytes.Buffer
	l := SDKLogger(zerolog.New(&buf).Level(zerolog.DebugLevel))
	w := sdklog.With(l, "TaskQueue", "careclock")
	w.Warn("Failed to poll for task.", "Error", errors.New("worker stopping"))
	w.Warn("Failed to poll for task.", "Error", errors.New("connection refused"))
	l.Warn("something else", "Error", errors.New("worker stopping"))
	var levels []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var e struct {
			Level     string `json:"level"`
			TaskQueue string
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		levels = append(levels, e.Level+"/"+e.TaskQueue)
	}
	if want := []string{"debug/careclock", "warn/careclock", "warn/"}; !slices.Equal(levels, want) {
		t.Errorf("levels %v, want %v", levels, want)
	}
}
