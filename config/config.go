// Package config reads careclock's configuration from the environment and connects to Temporal
// and NATS. Temporal client options come from the SDK's envconfig (TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TLS, API key, profiles); everything else is below, each with a default.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// Config is careclock's own configuration.
type Config struct {
	// NATSURL is NATS_URL (default nats://127.0.0.1:4222).
	NATSURL string
	// NATSCreds is NATS_CREDS, a credentials file (JWT, operator mode); NATSNKeySeed is
	// NATS_NKEY_SEED_FILE, an nkey seed file. With neither, a process connects with the dev
	// stack's seed for its role (DataDir/nats/<role>.nk) if there is one, else without one.
	NATSCreds    string
	NATSNKeySeed string
	// NATSCAFile (NATS_CA_FILE) verifies the server's certificate on a tls:// URL; NATSCertFile
	// and NATSKeyFile (NATS_CERT_FILE, NATS_KEY_FILE) are a client certificate for mutual TLS.
	NATSCAFile, NATSCertFile, NATSKeyFile string
	// TaskQueue is CARECLOCK_TASK_QUEUE (default careclock).
	TaskQueue string
	// DataDir is CARECLOCK_DATA_DIR (default .careclock): the dev stack's databases and keys.
	DataDir string
	// HMACKeyFile is CARECLOCK_HMAC_KEY_FILE, a file holding the hex HMAC key that hashes
	// business keys into workflow ids (default DataDir/hmac.key, created by the dev stack).
	HMACKeyFile string
	// CodecKeys is CARECLOCK_CODEC_KEYS, the keys that encrypt Temporal payloads written inline
	// (`id:hex,id:hex`, the last current); when empty they are read from CodecKeysFile,
	// CARECLOCK_CODEC_KEYS_FILE (default DataDir/codec.keys, created by the dev stack).
	CodecKeys     string
	CodecKeysFile string
	// PolicyFile is CARECLOCK_POLICY_FILE, a JSON policy over the defaults; empty: defaults.
	PolicyFile string
	// Consumer is CARECLOCK_CONSUMER, the listener's durable consumer (default careclock-listener).
	Consumer string
	// StreamReplicas is CARECLOCK_STREAM_REPLICAS (default 1; 3 on a NATS cluster).
	StreamReplicas int
	// WorkflowCacheSize is CARECLOCK_WORKFLOW_CACHE_SIZE, how many journeys a worker process
	// keeps in memory between tasks (default workflows.DefaultCacheSize, 2,000; about 30 KB each).
	WorkflowCacheSize int
	// MetricsAddr is CARECLOCK_METRICS_ADDR, the Prometheus endpoint's address; empty: the
	// process's default (worker 127.0.0.1:9464, listener and dev stack as documented), "off": none.
	MetricsAddr string
	// UIURL is CARECLOCK_UI_URL, the Temporal UI that operators open (default
	// http://localhost:8233, the dev stack's); the CLI links each journey there.
	UIURL string
	// LogLevel is LOG_LEVEL (default info); LogFormat is LOG_FORMAT, json or console (default:
	// console on a terminal, json otherwise).
	LogLevel  string
	LogFormat string
}

// FromEnv reads the configuration and validates it.
func FromEnv() (Config, error) {
	c := Config{
		NATSURL:      env("NATS_URL", "nats://127.0.0.1:4222"),
		NATSCreds:    os.Getenv("NATS_CREDS"),
		NATSNKeySeed: os.Getenv("NATS_NKEY_SEED_FILE"),
		NATSCAFile:   os.Getenv("NATS_CA_FILE"),
		NATSCertFile: os.Getenv("NATS_CERT_FILE"),
		NATSKeyFile:  os.Getenv("NATS_KEY_FILE"),
		TaskQueue:    env("CARECLOCK_TASK_QUEUE", "careclock"),
		DataDir:      env("CARECLOCK_DATA_DIR", ".careclock"),
		PolicyFile:   os.Getenv("CARECLOCK_POLICY_FILE"),
		Consumer:     env("CARECLOCK_CONSUMER", "careclock-listener"),
		LogLevel:     env("LOG_LEVEL", "info"),
		MetricsAddr:  os.Getenv("CARECLOCK_METRICS_ADDR"),
		UIURL:        strings.TrimSuffix(env("CARECLOCK_UI_URL", "http://localhost:8233"), "/"),
		LogFormat:    os.Getenv("LOG_FORMAT"),
	}
	c.HMACKeyFile = env("CARECLOCK_HMAC_KEY_FILE", filepath.Join(c.DataDir, "hmac.key"))
	c.CodecKeys = os.Getenv("CARECLOCK_CODEC_KEYS")
	c.CodecKeysFile = env("CARECLOCK_CODEC_KEYS_FILE", filepath.Join(c.DataDir, "codec.keys"))
	var errs []error
	replicas, err := strconv.Atoi(env("CARECLOCK_STREAM_REPLICAS", "1"))
	if err != nil || replicas < 1 || replicas > 5 {
		errs = append(errs, errors.New("CARECLOCK_STREAM_REPLICAS: must be a number from 1 to 5"))
	}
	c.StreamReplicas = replicas
	if v := os.Getenv("CARECLOCK_WORKFLOW_CACHE_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			errs = append(errs, errors.New("CARECLOCK_WORKFLOW_CACHE_SIZE: must be a number from 1 to 1000000"))
		}
		c.WorkflowCacheSize = n
	}
	if os.Getenv("CARECLOCK_LOCAL_PUBLISH") != "" {
		// Removed after bench found it no faster on PostgreSQL either (README, Performance). Said
		// at start, so that nobody believes it still applies.
		errs = append(errs, errors.New("CARECLOCK_LOCAL_PUBLISH: no longer a setting (new journeys publish through the publish activity; journeys started with local publish keep it); unset it"))
	}
	if !strings.HasPrefix(c.NATSURL, "nats://") && !strings.HasPrefix(c.NATSURL, "tls://") {
		errs = append(errs, errors.New("NATS_URL: must start with nats:// or tls://"))
	}
	switch c.LogFormat {
	case "", "json", "console":
	default:
		errs = append(errs, errors.New("LOG_FORMAT: must be json or console"))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
	}
	if (c.NATSCertFile == "") != (c.NATSKeyFile == "") {
		errs = append(errs, errors.New("NATS_CERT_FILE and NATS_KEY_FILE go together"))
	}
	if c.NATSCreds != "" && c.NATSNKeySeed != "" {
		errs = append(errs, errors.New("NATS_CREDS and NATS_NKEY_SEED_FILE: set one"))
	}
	if c.TaskQueue == "" || c.Consumer == "" {
		errs = append(errs, errors.New("CARECLOCK_TASK_QUEUE and CARECLOCK_CONSUMER must not be empty"))
	}
	return c, errors.Join(errs...)
}

// Keyer loads the HMAC key. With createDev, a missing key at the default development path is
// created (the dev stack and `starter plan` do this); a configured key file must exist.
func (c Config) Keyer(createDev bool) (privacy.Keyer, error) {
	if createDev && os.Getenv("CARECLOCK_HMAC_KEY_FILE") == "" {
		return privacy.EnsureKeyFile(c.HMACKeyFile)
	}
	k, err := privacy.LoadKeyFile(c.HMACKeyFile)
	if err != nil {
		return privacy.Keyer{}, fmt.Errorf("%w (set CARECLOCK_HMAC_KEY_FILE to the key shared by every careclock process)", err)
	}
	return k, nil
}

// Keyring loads the payload keys: CARECLOCK_CODEC_KEYS, else the key file. With createDev, a
// missing key file at the default development path is created (the dev stack does this).
func (c Config) Keyring(createDev bool) (privacy.Keyring, error) {
	if c.CodecKeys != "" {
		r, err := privacy.ParseKeyring(c.CodecKeys)
		if err != nil {
			return privacy.Keyring{}, fmt.Errorf("CARECLOCK_CODEC_KEYS: %w", err)
		}
		return r, nil
	}
	if createDev && os.Getenv("CARECLOCK_CODEC_KEYS_FILE") == "" {
		return privacy.EnsureKeyringFile(c.CodecKeysFile)
	}
	r, err := privacy.LoadKeyringFile(c.CodecKeysFile)
	if err != nil {
		return privacy.Keyring{}, fmt.Errorf("%w (set CARECLOCK_CODEC_KEYS_FILE or CARECLOCK_CODEC_KEYS to the payload keys every careclock process shares)", err)
	}
	return r, nil
}

// Policy loads the policy file, or the defaults.
func (c Config) Policy() (rules.Policy, error) { return rules.LoadPolicy(c.PolicyFile) }

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
