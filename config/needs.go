package config

import (
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"
)

// Processes careclock runs in a deployment, as Needs names them.
const (
	ProcessWorker   = "worker"
	ProcessListener = "listen"
	ProcessCodec    = "codec"
	ProcessSetup    = "setup"
)

// needs is, for each process, the environment it must be given outside the dev stack: without
// each, it falls back to a default that only fits a laptop (a localhost address, a key file in
// the dev stack's data directory). "A|B" means either.
var needs = map[string][]string{
	ProcessWorker: {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "NATS_URL", "NATS_NKEY_SEED_FILE|NATS_CREDS",
		"CARECLOCK_CODEC_KEYS_FILE|CARECLOCK_CODEC_KEYS", "CARECLOCK_TASK_QUEUE"},
	ProcessListener: {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "NATS_URL", "NATS_NKEY_SEED_FILE|NATS_CREDS",
		"CARECLOCK_CODEC_KEYS_FILE|CARECLOCK_CODEC_KEYS", "CARECLOCK_HMAC_KEY_FILE", "CARECLOCK_TASK_QUEUE"},
	ProcessCodec: {"CARECLOCK_CODEC_KEYS_FILE|CARECLOCK_CODEC_KEYS", "CARECLOCK_UI_URL"},
	ProcessSetup: {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "NATS_URL", "NATS_NKEY_SEED_FILE|NATS_CREDS",
		"CARECLOCK_STREAM_REPLICAS"},
}

// Needs lists the environment a process must be given outside the dev stack; "A|B" means
// either. The compose file's test holds every careclock service to it.
func Needs(process string) []string { return needs[process] }

// WarnDevDefaults logs, for each setting the process needs but was not given, that it runs on
// the dev stack's default: harmless on a laptop, a misconfiguration anywhere else.
func (c Config) WarnDevDefaults(process string, log zerolog.Logger) {
	for _, need := range needs[process] {
		set := false
		for name := range strings.SplitSeq(need, "|") {
			set = set || c.Given(name)
		}
		if !set {
			log.Warn().Str("variable", need).Msg("not set: using the dev stack's default")
		}
	}
}

// Secrets is the layout of a deployment's secrets folder, as `starter secrets` creates it.
type Secrets struct {
	HMACKey, CodecKeys, UIToken string
	// NATSSeeds is each role's nkey seed file.
	NATSSeeds map[string]string
	// JetStreamKey encrypts the NATS servers' JetStream files at rest (NATSEncryptionConf).
	JetStreamKey string
}

// SecretsIn returns the layout of the secrets folder dir.
func SecretsIn(dir string) Secrets {
	s := Secrets{
		HMACKey: filepath.Join(dir, "hmac.key"), CodecKeys: filepath.Join(dir, "codec.keys"), UIToken: filepath.Join(dir, "ui.token"),
		NATSSeeds: map[string]string{}, JetStreamKey: filepath.Join(dir, "nats", "jetstream.key"),
	}
	for _, role := range Roles {
		s.NATSSeeds[role] = NKeySeedFile(dir, role)
	}
	return s
}
