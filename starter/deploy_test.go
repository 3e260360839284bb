package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/careclock/careclock/access"
	"github.com/careclock/careclock/config"
)

func TestSecretsCreatesOnceAndNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	auth := filepath.Join(dir, "nats-auth", "auth.conf") // a folder that does not exist yet
	var out bytes.Buffer
	if err := runStarter(append([]string{"secrets"}, []string{"--dir", filepath.Join(dir, "s"), "--nats-auth", auth}...), nil, &out); err != nil {
		t.Fatal(err)
	}
	// The keys (HMAC, payload, JetStream), token and seeds; the two CAs and their keys, and a
	// certificate per server and role.
	files := 4 + len(config.Roles) + 4 + len(access.Servers) + len(access.Roles)
	if n := strings.Count(out.String(), "created "); n != files {
		t.Fatalf("first run created %d files:\n%s", n, out.String())
	}
	read := func() map[string]string {
		files := map[string]string{}
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			files[path] = string(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	first := read()
	for _, role := range config.Roles {
		if !strings.Contains(first[auth], "# "+role+"\n") {
			t.Errorf("auth.conf has no user for %s", role)
		}
	}
	// The NATS servers' JetStream key, from the secrets' own copy, for their owner only.
	encryption := filepath.Join(dir, "nats-auth", config.NATSEncryptionConf)
	key := strings.TrimSpace(first[config.SecretsIn(filepath.Join(dir, "s")).JetStreamKey])
	if len(key) != 64 || first[encryption] != string(config.NATSEncryption(key)) {
		t.Errorf("jetstream.conf %q, key %q", first[encryption], key)
	}
	if info, err := os.Stat(encryption); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("jetstream.conf: %v %v", info.Mode(), err)
	}
	out.Reset()
	if err := runStarter(append([]string{"secrets"}, []string{"--dir", filepath.Join(dir, "s"), "--nats-auth", auth}...), nil, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "created") || strings.Count(out.String(), "kept ") != files {
		t.Fatalf("second run:\n%s", out.String())
	}
	second := read()
	for path, content := range first {
		if second[path] != content {
			t.Errorf("%s changed on the second run", path)
		}
	}
	out.Reset()
	if err := runStarter(append([]string{"secrets"}, []string{"--dir", filepath.Join(dir, "s"), "--ui-token"}...), nil, &out); err != nil || out.String() != strings.TrimSpace(first[filepath.Join(dir, "s", "ui.token")])+"\n" {
		t.Errorf("--ui-token printed %q (%v)", out.String(), err)
	}
	if err := runStarter(append([]string{"secrets"}, nil...), nil, &out); err == nil {
		t.Error("no --dir: no error")
	}
}

func TestHealthFailsUnlessOK(t *testing.T) {
	code := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		_, _ = w.Write([]byte("nats: RECONNECTING"))
	}))
	defer srv.Close()
	var out bytes.Buffer
	if err := runStarter(append([]string{"health"}, []string{srv.URL}...), nil, &out); err != nil {
		t.Fatal(err)
	}
	code = http.StatusServiceUnavailable
	if err := runStarter(append([]string{"health"}, []string{srv.URL}...), nil, &out); err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "RECONNECTING") {
		t.Fatalf("503: %v", err)
	}
	srv.Close()
	if err := runStarter(append([]string{"health"}, []string{srv.URL}...), nil, &out); err == nil {
		t.Fatal("nothing listening: no error")
	}
}
