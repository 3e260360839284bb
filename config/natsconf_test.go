package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// The rendered authorization, loaded by the NATS server's own config parser, gives each role
// exactly the code's permissions.
func TestNATSAuthConfIsTheCodesPermissions(t *testing.T) {
	keys := map[string]string{}
	for _, role := range Roles {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		if keys[role], err = kp.PublicKey(); err != nil {
			t.Fatal(err)
		}
	}
	conf, err := NATSAuthConf(keys)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(filepath.Join(dir, "auth.conf"), conf, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:-1\ninclude auth.conf\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, conf)
	}
	if len(opts.Nkeys) != len(Roles) {
		t.Fatalf("%d users, want %d", len(opts.Nkeys), len(Roles))
	}
	for _, u := range opts.Nkeys {
		role := ""
		for r, k := range keys {
			if k == u.Nkey {
				role = r
			}
		}
		want, err := NATSPermissions(role)
		if err != nil {
			t.Fatalf("user %s: %v", u.Nkey, err)
		}
		if !slices.Equal(u.Permissions.Publish.Allow, want.Publish) || !slices.Equal(u.Permissions.Subscribe.Allow, want.Subscribe) {
			t.Errorf("%s: publish %v subscribe %v, want %v %v", role, u.Permissions.Publish.Allow, u.Permissions.Subscribe.Allow, want.Publish, want.Subscribe)
		}
	}
	if _, err := NATSAuthConf(map[string]string{RoleWorker: keys[RoleWorker]}); err == nil {
		t.Error("a role without a key was rendered")
	}
}
