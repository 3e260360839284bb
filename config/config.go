// Package config declares every careclock setting once, with its flag, environment variable,
// default and help, and checks them at start. Every careclock program (worker, starter,
// devstack) embeds Config in its command line, so a setting is a flag and a variable alike, and
// `-h` lists it. Temporal's TLS, API key and profile settings stay the SDK's own (envconfig);
// this package does not connect to anything: package connect does.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/careclock/careclock/privacy"
	"github.com/careclock/careclock/rules"
)

// Config is careclock's configuration. The struct tags are the declarations: the README's
// configuration table and Needs are held to them by tests.
type Config struct {
	NATSURL      string `name:"nats-url" env:"NATS_URL" default:"nats://127.0.0.1:4222" group:"NATS" help:"NATS server URL(s), comma-separated; nats:// or tls://."`
	NATSCreds    string `name:"nats-creds" env:"NATS_CREDS" group:"NATS" placeholder:"FILE" help:"NATS credentials file (JWT, operator mode)."`
	NATSNKeySeed string `name:"nats-nkey-seed-file" env:"NATS_NKEY_SEED_FILE" group:"NATS" placeholder:"FILE" help:"NATS nkey seed file. With neither this nor --nats-creds, the dev stack's seed for the process's role (DATA/nats/ROLE.nk), if there is one."`
	NATSCAFile   string `name:"nats-ca-file" env:"NATS_CA_FILE" group:"NATS" placeholder:"FILE" help:"CA that signed the NATS server's certificate (tls:// URLs)."`
	NATSCertFile string `name:"nats-cert-file" env:"NATS_CERT_FILE" group:"NATS" placeholder:"FILE" help:"Client certificate for mutual TLS (with --nats-key-file)."`
	NATSKeyFile  string `name:"nats-key-file" env:"NATS_KEY_FILE" group:"NATS" placeholder:"FILE" help:"Key of --nats-cert-file."`

	TemporalAddress   string        `name:"temporal-address" env:"TEMPORAL_ADDRESS" group:"Temporal" placeholder:"HOST:PORT" help:"Temporal frontend (default: the SDK's profile, else localhost:7233). TLS, API key and profiles: the SDK's TEMPORAL_* variables."`
	TemporalNamespace string        `name:"temporal-namespace" env:"TEMPORAL_NAMESPACE" group:"Temporal" help:"Temporal namespace (default: the SDK's profile, else default)."`
	TaskQueue         string        `name:"task-queue" env:"CARECLOCK_TASK_QUEUE" default:"careclock" group:"Temporal" help:"Task queue of the journeys."`
	WorkflowCacheSize int           `name:"workflow-cache-size" env:"CARECLOCK_WORKFLOW_CACHE_SIZE" default:"2000" group:"Temporal" help:"Journeys a worker process keeps in memory between tasks (about 30 KB each)."`
	StickyTimeout     time.Duration `name:"sticky-timeout" env:"CARECLOCK_STICKY_TIMEOUT" default:"30s" group:"Temporal" help:"How long a journey's next task waits for the worker that ran its last before any worker may take it (docs/performance.md, Tuning)."`

	DataDir         string `name:"data-dir" aliases:"data" env:"CARECLOCK_DATA_DIR" group:"Keys and files" placeholder:"DIR" help:"The dev stack's databases and keys (default: the nearest .careclock folder in this directory or a parent, else ./.careclock)."`
	HMACKeyFile     string `name:"hmac-key-file" env:"CARECLOCK_HMAC_KEY_FILE" group:"Keys and files" placeholder:"FILE" help:"Hex HMAC key that hashes business keys into workflow ids (default DATA/hmac.key, which the dev stack creates)."`
	CodecKeys       string `name:"codec-keys" env:"CARECLOCK_CODEC_KEYS" group:"Keys and files" placeholder:"ID:HEX,..." help:"Payload encryption keys, the last current; prefer the file or the environment: a flag shows in ps."`
	CodecKeysFile   string `name:"codec-keys-file" env:"CARECLOCK_CODEC_KEYS_FILE" group:"Keys and files" placeholder:"FILE" help:"File of the payload encryption keys (default DATA/codec.keys, which the dev stack creates)."`
	CodecTokensFile string `name:"codec-tokens-file" env:"CARECLOCK_CODEC_TOKENS_FILE" group:"Keys and files" placeholder:"FILE" help:"Tokens the codec server accepts, one per line (starter codec)."`
	SystemsFile     string `name:"systems-file" env:"CARECLOCK_SYSTEMS_FILE" group:"Keys and files" placeholder:"FILE" help:"The deployment's upstream and downstream systems (docs/security.md): the listener takes an event only from the source of a producer allowed its type; starter secrets makes each system's NATS user."`
	PolicyFile      string `name:"policy-file" aliases:"policy" env:"CARECLOCK_POLICY_FILE" group:"Keys and files" placeholder:"FILE" help:"JSON policy over the built-in dated one: blocks in force from a date (docs/configuration.md, Dated policy)."`

	Consumer                 string        `name:"consumer" env:"CARECLOCK_CONSUMER" default:"careclock-listener" group:"Listener" help:"The listener's durable consumer, shared by every listener process."`
	ListenerConcurrency      int           `name:"listener-concurrency" env:"CARECLOCK_LISTENER_CONCURRENCY" default:"32" group:"Listener" help:"Events applied at once (one at a time per journey)."`
	ListenerAckWait          time.Duration `name:"listener-ack-wait" env:"CARECLOCK_LISTENER_ACK_WAIT" default:"30s" group:"Listener" help:"How long JetStream waits for an acknowledgement before it redelivers an event."`
	ListenerMaxAckPending    int           `name:"listener-max-ack-pending" env:"CARECLOCK_LISTENER_MAX_ACK_PENDING" default:"1000" group:"Listener" help:"Events held at once, queued or being applied."`
	ListenerNotFoundAttempts int           `name:"listener-not-found-attempts" env:"CARECLOCK_LISTENER_NOT_FOUND_ATTEMPTS" default:"6" group:"Listener" help:"Tries of an event whose journey does not exist yet before it is dead-lettered."`
	ListenerRetryDelay       time.Duration `name:"listener-retry-delay" env:"CARECLOCK_LISTENER_RETRY_DELAY" default:"1s" group:"Listener" help:"First redelivery delay of an event not applied; each further one doubles, up to 60 times it."`
	MaxEventBytes            int           `name:"max-event-bytes" env:"CARECLOCK_MAX_EVENT_BYTES" default:"65536" group:"Listener" help:"Largest inbound event taken, in bytes; a larger one is dead-lettered whole."`
	MaxIDLength              int           `name:"max-id-length" env:"CARECLOCK_MAX_ID_LENGTH" default:"256" group:"Listener" help:"Longest inbound event id and source, in bytes; a longer one is dead-lettered."`
	DirectoryLookup          string        `name:"directory-lookup" env:"CARECLOCK_DIRECTORY_LOOKUP" default:"once" group:"Listener" help:"once: a member's directory lists the member's journeys started before directories, once, by a visibility query; off: a deployment with none (new since this version) skips that query."`
	StreamReplicas           int           `name:"stream-replicas" env:"CARECLOCK_STREAM_REPLICAS" default:"1" group:"Listener" help:"Replicas of the streams starter setup creates (3 on a NATS cluster)."`
	InboundRetentionDays     int           `name:"inbound-retention-days" env:"CARECLOCK_INBOUND_RETENTION_DAYS" default:"3653" group:"Listener" help:"Days the ENROLLMENT stream keeps an inbound event or dead letter (starter setup): by default 10 years, the record-keeping duty of 42 CFR 438.3(u) (docs/security.md); a plan may keep them shorter."`
	JourneyRetentionDays     int           `name:"journey-retention-days" env:"CARECLOCK_JOURNEY_RETENTION_DAYS" default:"3653" group:"Listener" help:"Days the JOURNEYS stream keeps a journey event (starter setup): by default 10 years, as above; at least 400, for a calendar year's reports."`

	MetricsAddr string `name:"metrics-addr" aliases:"metrics" env:"CARECLOCK_METRICS_ADDR" group:"Logs and metrics" placeholder:"HOST:PORT" help:"Prometheus /metrics and /healthz address; off: none (default: the worker 127.0.0.1:9464, the listener 127.0.0.1:9465)."`
	PprofAddr   string `name:"pprof-addr" env:"CARECLOCK_PPROF_ADDR" default:"off" group:"Logs and metrics" placeholder:"HOST:PORT" help:"Go's runtime profiles (/debug/pprof/: heap, goroutines, CPU), for an engineer diagnosing the process; off: none. Keep it on loopback (docs/configuration.md)."`
	UIURL       string `name:"ui-url" env:"CARECLOCK_UI_URL" default:"http://localhost:8233" group:"Logs and metrics" help:"The Temporal UI operators open; the CLI links each journey there, the codec server allows it as an origin."`
	LogLevel    string `name:"log-level" env:"LOG_LEVEL" default:"info" group:"Logs and metrics" help:"debug, info, warn or error."`
	LogFormat   string `name:"log-format" env:"LOG_FORMAT" default:"auto" group:"Logs and metrics" help:"json, console, or auto: console on a terminal, json otherwise."`

	// LocalPublish is a setting that no longer exists, declared so that it is refused, not
	// ignored: nobody should believe it still applies.
	LocalPublish string `name:"local-publish" env:"CARECLOCK_LOCAL_PUBLISH" hidden:""`

	// given holds the environment variables of the settings given by flag or environment.
	given map[string]bool
}

// Settings returns c; a command line that embeds Config has it too, which is how Parse finds the
// configuration in it.
func (c *Config) Settings() *Config { return c }

// check reports every bad setting at once, each named by its variable and flag.
func (c *Config) check() error {
	var errs []error
	bad := func(env, flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s (--%s): %s", env, flag, fmt.Sprintf(format, args...)))
	}
	for u := range strings.SplitSeq(c.NATSURL, ",") {
		if u = strings.TrimSpace(u); !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
			bad("NATS_URL", "nats-url", "%q: must start with nats:// or tls://", u)
		}
	}
	if (c.NATSCertFile == "") != (c.NATSKeyFile == "") {
		errs = append(errs, errors.New("NATS_CERT_FILE and NATS_KEY_FILE (--nats-cert-file, --nats-key-file) go together"))
	}
	if c.NATSCreds != "" && c.NATSNKeySeed != "" {
		errs = append(errs, errors.New("NATS_CREDS and NATS_NKEY_SEED_FILE (--nats-creds, --nats-nkey-seed-file): set one"))
	}
	if c.TaskQueue == "" {
		bad("CARECLOCK_TASK_QUEUE", "task-queue", "must not be empty")
	}
	if c.Consumer == "" {
		bad("CARECLOCK_CONSUMER", "consumer", "must not be empty")
	}
	between := func(env, flag string, v, lo, hi int) {
		if v < lo || v > hi {
			bad(env, flag, "%d: must be a number from %d to %d", v, lo, hi)
		}
	}
	between("CARECLOCK_STREAM_REPLICAS", "stream-replicas", c.StreamReplicas, 1, 5)
	between("CARECLOCK_INBOUND_RETENTION_DAYS", "inbound-retention-days", c.InboundRetentionDays, 1, 36525)
	between("CARECLOCK_JOURNEY_RETENTION_DAYS", "journey-retention-days", c.JourneyRetentionDays, 400, 36525)
	between("CARECLOCK_WORKFLOW_CACHE_SIZE", "workflow-cache-size", c.WorkflowCacheSize, 1, 1_000_000)
	if c.StickyTimeout < time.Second || c.StickyTimeout > time.Hour {
		bad("CARECLOCK_STICKY_TIMEOUT", "sticky-timeout", "%s: must be from 1s to 1h", c.StickyTimeout)
	}
	between("CARECLOCK_LISTENER_CONCURRENCY", "listener-concurrency", c.ListenerConcurrency, 1, 10_000)
	between("CARECLOCK_LISTENER_MAX_ACK_PENDING", "listener-max-ack-pending", c.ListenerMaxAckPending, 1, 1_000_000)
	between("CARECLOCK_MAX_EVENT_BYTES", "max-event-bytes", c.MaxEventBytes, 1024, 8<<20)
	between("CARECLOCK_MAX_ID_LENGTH", "max-id-length", c.MaxIDLength, 16, 4096)
	between("CARECLOCK_LISTENER_NOT_FOUND_ATTEMPTS", "listener-not-found-attempts", c.ListenerNotFoundAttempts, 1, 1_000)
	if c.ListenerAckWait < time.Second {
		bad("CARECLOCK_LISTENER_ACK_WAIT", "listener-ack-wait", "%s: must be at least 1s", c.ListenerAckWait)
	}
	if c.ListenerRetryDelay <= 0 {
		bad("CARECLOCK_LISTENER_RETRY_DELAY", "listener-retry-delay", "%s: must be positive", c.ListenerRetryDelay)
	}
	if !slices.Contains([]string{"once", "off"}, c.DirectoryLookup) {
		bad("CARECLOCK_DIRECTORY_LOOKUP", "directory-lookup", "%q: must be once or off", c.DirectoryLookup)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("LOG_LEVEL", "log-level", "%q: must be debug, info, warn or error", c.LogLevel)
	}
	if !slices.Contains([]string{"auto", "json", "console"}, c.LogFormat) {
		bad("LOG_FORMAT", "log-format", "%q: must be json, console or auto", c.LogFormat)
	}
	if c.LocalPublish != "" {
		errs = append(errs, errors.New("CARECLOCK_LOCAL_PUBLISH: no longer a setting (new journeys publish through the publish activity; journeys started with local publish keep it); unset it"))
	}
	return errors.Join(errs...)
}

// resolve fills what is derived from other settings: the data directory, made absolute so that
// every message names a real path.
func (c *Config) resolve() error {
	c.UIURL = strings.TrimSuffix(c.UIURL, "/")
	if c.DataDir == "" {
		dir, err := FindDataDir()
		if err != nil {
			return err
		}
		c.DataDir = dir
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("CARECLOCK_DATA_DIR (--data-dir): %w", err)
	}
	c.DataDir = abs
	return nil
}

// DataDirName is the data directory's name when none is configured.
const DataDirName = ".careclock"

// FindDataDir returns the nearest .careclock folder in the working directory or a parent, so
// that starter finds the dev stack's keys from anywhere in the repository; with none, the one
// the working directory would have.
func FindDataDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if st, err := os.Stat(filepath.Join(dir, DataDirName)); err == nil && st.IsDir() {
			return filepath.Join(dir, DataDirName), nil
		}
		if filepath.Dir(dir) == dir {
			return filepath.Join(wd, DataDirName), nil
		}
	}
}

// Given reports whether the setting with environment variable env was given, by flag or
// environment (not left to its default).
func (c Config) Given(env string) bool { return c.given[env] }

// Retention is how long the ENROLLMENT and JOURNEYS streams keep a message
// (InboundRetentionDays, JourneyRetentionDays); a setting left at 0 keeps it for ever.
func (c Config) Retention() (inbound, journey time.Duration) {
	const day = 24 * time.Hour
	return time.Duration(c.InboundRetentionDays) * day, time.Duration(c.JourneyRetentionDays) * day
}

// Dev is the layout of the data directory, where the dev stack keeps its keys, token and NATS
// seeds: the same as a deployment's secrets folder.
func (c Config) Dev() Secrets { return SecretsIn(c.DataDir) }

// HMACKeyPath is the HMAC key file: the configured one, else the dev stack's.
func (c Config) HMACKeyPath() string { return cmp.Or(c.HMACKeyFile, c.Dev().HMACKey) }

// CodecKeysPath is the payload keys' file: the configured one, else the dev stack's.
func (c Config) CodecKeysPath() string { return cmp.Or(c.CodecKeysFile, c.Dev().CodecKeys) }

// Keyer loads the HMAC key. With createDev, a missing key at the dev stack's path is created
// (the dev stack and `starter plan` do this); a configured key file must exist.
func (c Config) Keyer(createDev bool) (privacy.Keyer, error) {
	if createDev && c.HMACKeyFile == "" {
		return privacy.EnsureKeyFile(c.HMACKeyPath())
	}
	k, err := privacy.LoadKeyFile(c.HMACKeyPath())
	if err != nil {
		return privacy.Keyer{}, fmt.Errorf("%w (set CARECLOCK_HMAC_KEY_FILE to the key shared by every careclock process)", err)
	}
	return k, nil
}

// Keyring loads the payload keys: CARECLOCK_CODEC_KEYS, else the key file. With createDev, a
// missing key file at the dev stack's path is created (the dev stack does this).
func (c Config) Keyring(createDev bool) (privacy.Keyring, error) {
	if c.CodecKeys != "" {
		r, err := privacy.ParseKeyring(c.CodecKeys)
		if err != nil {
			return privacy.Keyring{}, fmt.Errorf("CARECLOCK_CODEC_KEYS: %w", err)
		}
		return r, nil
	}
	if createDev && c.CodecKeysFile == "" {
		return privacy.EnsureKeyringFile(c.CodecKeysPath())
	}
	r, err := privacy.LoadKeyringFile(c.CodecKeysPath())
	if err != nil {
		return privacy.Keyring{}, fmt.Errorf("%w (set CARECLOCK_CODEC_KEYS_FILE or CARECLOCK_CODEC_KEYS to the payload keys every careclock process shares)", err)
	}
	return r, nil
}

// Policies loads the policy file over the built-in dated policy, or the built-in one alone.
func (c Config) Policies() (rules.Book, error) { return rules.LoadBook(c.PolicyFile) }

// Policy is the policy in force today and after: what is about no one journey (the zone, today's
// date) takes it.
func (c Config) Policy() (rules.Policy, error) {
	b, err := c.Policies()
	if err != nil {
		return rules.Policy{}, err
	}
	return b.Latest(), nil
}
