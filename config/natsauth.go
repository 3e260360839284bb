package config

import (
	"fmt"
	"path/filepath"

	"github.com/nats-io/nkeys"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
)

// The NATS roles careclock's processes connect as. Each gets only the subjects it needs; the
// dev stack configures its server with them and the compose file's NATS accounts mirror them.
const (
	// RoleListener consumes enrollment.> and publishes dead letters.
	RoleListener = "listener"
	// RoleWorker publishes journey events.
	RoleWorker = "worker"
	// RoleReader is a downstream consumer (letters, work queues): it reads journeys.> only.
	RoleReader = "reader"
	// RoleProducer is an upstream system (enrollment, claims) or `starter send`: it publishes
	// inbound events, and nothing else.
	RoleProducer = "producer"
	// RoleAdmin creates streams (`starter setup`, the dev stack) and reads dead letters.
	RoleAdmin = "admin"
	// RoleAuditor is the codec front signing operators in: it records each access to PHI on
	// audit.>, and nothing else.
	RoleAuditor = "auditor"
)

// Roles lists every role.
var Roles = []string{RoleListener, RoleWorker, RoleReader, RoleProducer, RoleAdmin, RoleAuditor}

// Permissions are the subjects a role may publish to and subscribe to.
type Permissions struct{ Publish, Subscribe []string }

// InboxPrefix is a role's reply-subject prefix. Each role may subscribe to its own inboxes
// only, so that no one reads another's replies (the listener's pulled events arrive on its
// inbox).
func InboxPrefix(role string) string { return "_INBOX_" + role }

// NATSPermissions returns a role's permissions.
func NATSPermissions(role string) (Permissions, error) {
	inbox := []string{InboxPrefix(role) + ".>"}
	enrollment, journeys := events.EnrollmentStream, events.JourneyStream
	switch role {
	case RoleListener:
		return Permissions{Publish: []string{
			events.DeadLetterSubject,
			"$JS.API.INFO", "$JS.API.STREAM.INFO.*",
			"$JS.API.CONSUMER.CREATE." + enrollment + ".>", "$JS.API.CONSUMER.DURABLE.CREATE." + enrollment + ".>",
			"$JS.API.CONSUMER.INFO." + enrollment + ".>", "$JS.API.CONSUMER.MSG.NEXT." + enrollment + ".>",
			"$JS.ACK." + enrollment + ".>",
		}, Subscribe: inbox}, nil
	case RoleWorker:
		return Permissions{Publish: []string{events.JourneySubjects, "$JS.API.INFO", "$JS.API.STREAM.INFO.*"}, Subscribe: inbox}, nil
	case RoleReader:
		return Permissions{Publish: []string{
			"$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.INFO." + journeys,
			"$JS.API.CONSUMER.*." + journeys, "$JS.API.CONSUMER.*." + journeys + ".>",
			"$JS.API.CONSUMER.MSG.NEXT." + journeys + ".>",
			"$JS.ACK." + journeys + ".>",
		}, Subscribe: append([]string{events.JourneySubjects}, inbox...)}, nil
	case RoleProducer:
		// enrollment.<entity>.<event>: two tokens or more, so never enrollment.deadletter.
		return Permissions{Publish: []string{"enrollment.*.>"}, Subscribe: inbox}, nil
	case RoleAdmin:
		return Permissions{Publish: []string{">"}, Subscribe: []string{">"}}, nil
	case RoleAuditor:
		return Permissions{Publish: []string{events.AuditSubjects}, Subscribe: inbox}, nil
	}
	return Permissions{}, fmt.Errorf("unknown NATS role %q", role)
}

// NKeySeedFile is where the dev stack keeps a role's nkey seed, under its data directory.
func NKeySeedFile(dataDir, role string) string { return filepath.Join(dataDir, "nats", role+".nk") }

// EnsureNKeySeed loads the nkey seed file of a role, creating it first when it does not exist
// (the dev stack does this), and returns the public key.
func EnsureNKeySeed(path string) (string, error) {
	err := privacy.EnsureSecretFile(path, func() (string, error) {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return "", err
		}
		seed, err := kp.Seed()
		return string(seed), err
	})
	if err != nil {
		return "", fmt.Errorf("nkey seed: %w", err)
	}
	seed, err := privacy.ReadSecretFile(path)
	if err != nil {
		return "", fmt.Errorf("nkey seed: %w", err)
	}
	kp, err := nkeys.ParseDecoratedNKey(seed)
	if err != nil {
		return "", fmt.Errorf("nkey seed %s: %w", path, err)
	}
	return kp.PublicKey()
}

// NATSEncryptionConf is the file, beside the NATS servers' authorization, that gives them the
// JetStream key (deploy/nats/nats.conf includes it).
const NATSEncryptionConf = "jetstream.conf"

// NATSEncryption is that file's content: the key as the variable JETSTREAM_KEY, which the
// jetstream block of deploy/nats/nats.conf uses to encrypt the servers' files at rest.
func NATSEncryption(key string) []byte {
	return []byte("# Written by starter secrets from the secrets' nats/jetstream.key: keep it private.\nJETSTREAM_KEY: \"" + key + "\"\n")
}
