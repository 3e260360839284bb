package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/careclock/careclock/access"
	"github.com/careclock/careclock/codecserver"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/privacy"
)

// secrets creates, under --dir, every secret a deployment needs that does not exist yet, and
// writes the NATS servers' authorization (public keys and the roles' permissions) to
// --nats-auth, and the Temporal frontend's certificates under DIR/tls (access.Certificates). It
// never replaces a secret: rotation is deliberate (docs/security.md); a certificate near its
// end is issued again with the same key.
//
// It refuses to create the HMAC key or the payload keyring where the deployment already holds
// data (a JetStream store under a --deployment-data folder has careclock's streams): a restore
// that forgot the secrets would otherwise come up healthy with histories it cannot decrypt and
// journeys whose ids no longer match their events. --new-keys-over-existing-data overrides it.
type secretsCmd struct {
	Dir            string   `required:"" placeholder:"DIR" help:"Folder for the secrets."`
	NATSAuth       string   `name:"nats-auth" placeholder:"FILE" help:"File for the NATS servers' authorization block (public keys only)."`
	UIToken        bool     `name:"ui-token" help:"Print only the UI token (the password the codec service asks for)."`
	Systems        string   `name:"systems" placeholder:"FILE" help:"The deployment's systems file (CARECLOCK_SYSTEMS_FILE): a NATS seed and user for each producer and reader in it."`
	DeploymentData []string `name:"deployment-data" placeholder:"DIR" help:"A NATS node's data folder (its JetStream store_dir), read to tell whether a deployment already exists; repeat for each node."`
	NewKeys        bool     `name:"new-keys-over-existing-data" help:"Create a missing HMAC key, payload keyring or JetStream key even where the deployment holds data: its histories will not decrypt, its journeys' ids will not match, and the NATS servers cannot read their streams."`
}

func (c secretsCmd) Run(st *streams) error {
	stdout := st.out
	layout := config.SecretsIn(c.Dir)
	var systems config.Systems
	if c.Systems != "" {
		var err error
		if systems, err = config.LoadSystems(c.Systems); err != nil {
			return err
		}
	}
	roles := append(slices.Clone(config.Roles), systems.Roles()...)
	for _, role := range systems.Roles() {
		layout.NATSSeeds[role] = config.NKeySeedFile(c.Dir, role)
	}
	files := []string{layout.HMACKey, layout.CodecKeys, layout.UIToken, layout.JetStreamKey}
	for _, role := range roles {
		files = append(files, layout.NATSSeeds[role])
	}
	existed := map[string]bool{}
	for _, f := range files {
		_, err := os.Stat(f)
		existed[f] = err == nil
	}
	if !c.NewKeys && (!existed[layout.HMACKey] || !existed[layout.CodecKeys] || !existed[layout.JetStreamKey]) {
		if err := noDeploymentIn(c.DeploymentData); err != nil {
			return fmt.Errorf("%w; restore the secrets from their backup, or to start over on purpose run again with --new-keys-over-existing-data (docs/operations.md)", err)
		}
	}
	if _, err := privacy.EnsureKeyFile(layout.HMACKey); err != nil {
		return err
	}
	if _, err := privacy.EnsureKeyringFile(layout.CodecKeys); err != nil {
		return err
	}
	if _, err := codecserver.EnsureTokenFile(layout.UIToken); err != nil {
		return err
	}
	if err := privacy.EnsureSecretFile(layout.JetStreamKey, func() (string, error) { return privacy.RandomHex(32) }); err != nil {
		return err
	}
	// The Temporal frontend's certificates: careclock's own CA, or the operator's (docs/security.md).
	certs, err := access.CertificatesIn(c.Dir).Ensure(time.Now())
	if err != nil {
		return err
	}
	keys := map[string]string{}
	for _, role := range roles {
		var err error
		if keys[role], err = config.EnsureNKeySeed(layout.NATSSeeds[role]); err != nil {
			return fmt.Errorf("%s: %w", role, err)
		}
	}
	if c.UIToken {
		tokens, err := codecserver.LoadTokens(layout.UIToken)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, tokens[0])
		return err
	}
	for _, f := range files {
		state := "created"
		if existed[f] {
			state = "kept"
		}
		fmt.Fprintf(stdout, "%-7s %s\n", state, f)
	}
	for _, o := range certs {
		fmt.Fprintf(stdout, "%-7s %s\n", o.State, o.File)
	}
	if c.NATSAuth == "" {
		return nil
	}
	conf, err := config.NATSAuthConfWith(keys, systems)
	if err != nil {
		return err
	}
	// Public keys only: readable by the NATS servers, whatever user they run as.
	if err := os.MkdirAll(filepath.Dir(c.NATSAuth), 0o755); err != nil {
		return err
	}
	tmp := c.NATSAuth + ".tmp"
	if err := os.WriteFile(tmp, conf, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, c.NATSAuth); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote   %s\n", c.NATSAuth)
	// The JetStream key, for the servers only: beside the authorization, readable by its owner.
	key, err := privacy.ReadSecretFile(layout.JetStreamKey)
	if err != nil {
		return err
	}
	encryption := filepath.Join(filepath.Dir(c.NATSAuth), config.NATSEncryptionConf)
	if err := writePrivate(encryption, config.NATSEncryption(strings.TrimSpace(string(key)))); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote   %s\n", encryption)
	return nil
}

// writePrivate replaces file with content, readable and writable by its owner only.
func writePrivate(file string, content []byte) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, content, 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // a leftover tmp keeps its old mode
		return err
	}
	return os.Rename(tmp, file)
}

// noDeploymentIn returns an error when a folder holds careclock's streams (a JetStream store:
// <dir>/jetstream/<account>/streams/<stream>), or cannot be read to tell.
func noDeploymentIn(dirs []string) error {
	for _, dir := range dirs {
		var found []string
		root, err := filepath.EvalSymlinks(dir) // a mounted volume may be a link
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("the HMAC key, payload keyring or JetStream key is missing, and %s cannot be read to tell whether a deployment exists: %w", dir, err)
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			depth := strings.Count(rel, string(filepath.Separator))
			if d.IsDir() && filepath.Base(filepath.Dir(path)) == "streams" && slices.Contains([]string{events.EnrollmentStream, events.JourneyStream}, d.Name()) {
				found = append(found, d.Name())
				return fs.SkipDir
			}
			if d.IsDir() && depth >= 3 {
				return fs.SkipDir
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("the HMAC key, payload keyring or JetStream key is missing, and %s cannot be read to tell whether a deployment exists: %w", dir, err)
		}
		if len(found) > 0 {
			return fmt.Errorf("the HMAC key, payload keyring or JetStream key is missing, but a deployment exists: %s holds the streams %s, whose journeys were made with the old keys", dir, strings.Join(found, ", "))
		}
	}
	return nil
}

// health asks an HTTP health endpoint (a careclock process's /healthz) and fails unless it
// answers 200: the health check of an image that has no curl.
type healthCmd struct {
	URL string `arg:"" name:"url" help:"The /healthz to ask, e.g. http://127.0.0.1:9464/healthz."`
	CA  string `name:"ca" placeholder:"FILE" help:"CA certificate that signed an https URL's certificate (the deployment's tls/ca.pem)."`
}

func (c healthCmd) Run(st *streams) error {
	stdout := st.out
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return err
	}
	transport, err := caTransport("--ca", c.CA)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, body)
	}
	_, err = stdout.Write(body)
	return err
}
