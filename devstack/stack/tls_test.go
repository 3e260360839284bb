package stack_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
)

// selfSigned writes a certificate for 127.0.0.1 and its key; the certificate is its own CA.
func selfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "careclock test nats"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "nats.crt"), filepath.Join(dir, "nats.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// NATS over TLS by configuration: the stack's NATS serves TLS, its processes verify it with
// NATS_CA_FILE, and a client that does not trust the certificate cannot connect.
func TestNATSOverTLS(t *testing.T) {
	cert, key := selfSigned(t)
	s := startStack(t, func(o *stack.Options) {
		o.NATSTLSCert, o.NATSTLSKey = cert, key
		o.Config.NATSCAFile = cert
	})
	seed, err := nats.NkeyOptionFromSeed(s.NKeySeedFile(config.RoleProducer))
	if err != nil {
		t.Fatal(err)
	}
	if nc, err := nats.Connect(s.NATSURL(), seed); err == nil {
		nc.Close()
		t.Fatal("connected without trusting the server's certificate")
	} else if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	nc, err := nats.Connect(s.NATSURL(), seed, nats.RootCAs(cert))
	if err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	defer nc.Close()
	if !nc.TLSRequired() {
		t.Error("the connection is not TLS")
	}
	if _, err := nc.TLSConnectionState(); err != nil {
		t.Errorf("TLS state: %v", err)
	}
	// The stack itself (listener, worker) runs over TLS: an event still becomes a journey.
	body, want := overdueClaim(s, "tls-1", "CLM-TLS-1", testPolicy().Today(time.Now()))
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "tls-1", body)
	if tally := tallyJourneys(t, s, []expect{want}, time.Minute); tally.Once != 1 || tally.Duplicated != 0 {
		t.Errorf("journey events over TLS: %+v", tally)
	}
}
