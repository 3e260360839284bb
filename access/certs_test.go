package access

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var day0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func states(out []Outcome) map[string]string {
	m := map[string]string{}
	for _, o := range out {
		m[filepath.Base(o.File)] = o.State
	}
	return m
}

// One CA; a server certificate for the frontend (the name clients verify) and for the
// internode connections; one client certificate per role naming it, each verified by the CA,
// each key readable by its owner only. Run again, it keeps everything.
func TestEnsureIssuesACAAndACertificatePerRole(t *testing.T) {
	c := CertificatesIn(t.TempDir())
	out, err := c.Ensure(day0)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := LoadPool(c.CA())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Roles {
		cert, err := loadCert(c.Cert(string(r)))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := RoleOf(cert.Subject); got != r || err != nil {
			t.Errorf("%s's certificate names role %q (%v)", r, got, err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: day0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s: %v", r, err)
		}
		if !cert.NotAfter.Equal(day0.Add(LeafLifetime).Truncate(time.Second)) {
			t.Errorf("%s ends %s", r, cert.NotAfter)
		}
	}
	front, err := loadCert(c.Cert("temporal-frontend"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"temporal", "localhost", "127.0.0.1"} {
		if _, err := front.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, CurrentTime: day0}); err != nil {
			t.Errorf("frontend as %s: %v", name, err)
		}
	}
	internode, err := loadCert(c.Cert("temporal-internode"))
	if err != nil {
		t.Fatal(err)
	}
	// The internode certificate is its own CA's, which issues nothing else: a role's certificate
	// does not reach the server's services, nor the internode one the frontend.
	internodePool, err := LoadPool(c.InternodeCA())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := internode.Verify(x509.VerifyOptions{DNSName: InternodeName, Roots: internodePool, CurrentTime: day0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("internode: %v", err)
	}
	if _, err := internode.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: day0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the deployment's CA verifies the internode certificate")
	}
	for _, r := range Roles {
		cert, err := loadCert(c.Cert(string(r)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: internodePool, CurrentTime: day0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
			t.Errorf("the internode CA verifies %s's certificate", r)
		}
	}
	if _, err := RoleOf(internode.Subject); err == nil {
		t.Error("the internode certificate names a role")
	}
	keys, _ := filepath.Glob(filepath.Join(c.Dir, "*.key"))
	if len(keys) != len(Roles)+len(Servers)+2 {
		t.Errorf("%d keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		if info, err := os.Stat(k); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", k, info.Mode(), err)
		}
	}
	if s := states(out); s["ca.pem"] != "created" || s["internode-ca.pem"] != "created" || s["ui.pem"] != "created" || len(s) != len(Roles)+len(Servers)+4 {
		t.Errorf("first run: %v", s)
	}
	before, err := os.ReadFile(c.Cert("ui"))
	if err != nil {
		t.Fatal(err)
	}
	out, err = c.Ensure(day0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for f, s := range states(out) {
		if s != "kept" {
			t.Errorf("second run: %s %s", f, s)
		}
	}
	if after, _ := os.ReadFile(c.Cert("ui")); !bytes.Equal(before, after) {
		t.Error("the ui certificate changed on a second run")
	}
}

// A certificate within RenewBefore of its end is issued again with the same key, until the
// CA's end; one further off is kept.
func TestEnsureRenewsACertificateNearItsEndWithTheSameKey(t *testing.T) {
	c := CertificatesIn(t.TempDir())
	if _, err := c.Ensure(day0); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(c.Key("worker"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{day0.Add(LeafLifetime - RenewBefore - time.Hour), "kept"},
		{day0.Add(LeafLifetime - RenewBefore + time.Hour), "renewed"},
	} {
		out, err := c.Ensure(tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if got := states(out)["worker.pem"]; got != tc.want {
			t.Errorf("at %s: worker.pem %s, want %s", tc.at, got, tc.want)
		}
	}
	cert, err := loadCert(c.Cert("worker"))
	if err != nil {
		t.Fatal(err)
	}
	if want := day0.Add(2*LeafLifetime - RenewBefore + time.Hour).Truncate(time.Second); !cert.NotAfter.Equal(want) {
		t.Errorf("renewed until %s, want %s", cert.NotAfter, want)
	}
	if after, _ := os.ReadFile(c.Key("worker")); !bytes.Equal(key, after) {
		t.Error("the key changed")
	}
}

// With the operator's own CA (its certificate here, its key not), nothing is issued: a missing
// certificate is an error naming the file and the organizational unit to give it, and a
// certificate from another CA is refused.
func TestEnsureWithTheOperatorsOwnCA(t *testing.T) {
	theirs := CertificatesIn(t.TempDir())
	if _, err := theirs.Ensure(day0); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(theirs.CAKey()); err != nil {
		t.Fatal(err)
	}
	out, err := theirs.Ensure(day0)
	if err != nil {
		t.Fatal(err)
	}
	if s := states(out); s["ca.pem"] != "kept" || s["ca.key"] != "" || s["operator.pem"] != "kept" {
		t.Errorf("own CA: %v", s)
	}
	for _, f := range []string{theirs.Cert("operator"), theirs.Key("operator")} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	_, err = theirs.Ensure(day0)
	if err == nil || !strings.Contains(err.Error(), "operator.pem is missing") || !strings.Contains(err.Error(), "organizational unit operator") {
		t.Errorf("a missing certificate under the operator's CA: %v", err)
	}

	other := CertificatesIn(t.TempDir())
	if _, err := other.Ensure(day0); err != nil {
		t.Fatal(err)
	}
	mine := CertificatesIn(t.TempDir())
	if _, err := mine.Ensure(day0); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(other.Cert("ui"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine.Cert("ui"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := mine.Ensure(day0); err == nil || !strings.Contains(err.Error(), "ui.pem was not issued by") {
		t.Errorf("a certificate from another CA: %v", err)
	}
}

// A key file open to others is refused, as every secret is.
func TestEnsureRefusesAKeyOpenToOthers(t *testing.T) {
	c := CertificatesIn(t.TempDir())
	if _, err := c.Ensure(day0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(c.CAKey(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ensure(day0); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a CA key open to others: %v", err)
	}
}
