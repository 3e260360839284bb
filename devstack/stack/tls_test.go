package stack_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.temporal.io/sdk/client"

	"github.com/careclock/careclock/access"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/devstack/stack"
	"github.com/careclock/careclock/events"
)

// natsCertificate is the NATS nodes' certificate (127.0.0.1 among its names), its key and
// its CA, as starter secrets issues them.
func natsCertificate(t *testing.T) (cert, key, ca string) {
	t.Helper()
	c := access.CertificatesIn(t.TempDir())
	if _, err := c.Ensure(time.Now()); err != nil {
		t.Fatal(err)
	}
	return c.Cert("nats"), c.Key("nats"), c.CA()
}

// NATS over TLS by configuration: the stack's NATS serves TLS, its processes verify it with
// NATS_CA_FILE, and a client that does not trust the certificate cannot connect.
func TestNATSOverTLS(t *testing.T) {
	cert, key, ca := natsCertificate(t)
	s := startStack(t, func(o *stack.Options) {
		o.NATSTLSCert, o.NATSTLSKey = cert, key
		o.Config.NATSCAFile = ca
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
	nc, err := nats.Connect(s.NATSURL(), seed, nats.RootCAs(ca))
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
	checkTLSJourney(t, s)
}

// checkTLSJourney sends a claim due now and holds the stack to exactly one overdue notice.
func checkTLSJourney(t *testing.T, s *stack.Stack) {
	t.Helper()
	body, want := overdueClaim(s, "tls-1", "CLM-TLS-1", testPolicy().Today(time.Now()))
	publish(t, s.JS, events.Subject(events.ReimbursementSubmitted), "tls-1", body)
	if tally := tallyJourneys(t, s, []expect{want}, time.Minute); tally.Once != 1 || tally.Duplicated != 0 {
		t.Errorf("journey events over TLS: %+v", tally)
	}
}

// The Temporal frontend over mutual TLS (bench -tls, as the production topology serves it): the
// stack's own clients present the certificate given them in TEMPORAL_TLS_* and an event becomes
// its journey; a plaintext client and one without a certificate get no answer.
func TestTemporalOverMutualTLS(t *testing.T) {
	certs := access.CertificatesIn(t.TempDir())
	if _, err := certs.Ensure(time.Now()); err != nil {
		t.Fatal(err)
	}
	admin := string(access.Admin)
	t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", certs.Cert(admin))
	t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", certs.Key(admin))
	t.Setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", certs.CA())
	t.Setenv("TEMPORAL_TLS_SERVER_NAME", stack.ServerName)
	s := startStack(t, func(o *stack.Options) {
		o.TemporalTLS = &stack.TemporalTLS{Cert: certs.Cert("temporal-frontend"), Key: certs.Key("temporal-frontend"), CA: certs.CA(),
			ClientCert: certs.Cert(admin), ClientKey: certs.Key(admin)}
	})
	pool, err := access.LoadPool(certs.CA())
	if err != nil {
		t.Fatal(err)
	}
	for name, conn := range map[string]client.ConnectionOptions{
		"plaintext":                 {},
		"TLS without a certificate": {TLS: &tls.Config{RootCAs: pool, ServerName: stack.ServerName, MinVersion: tls.VersionTLS12}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := client.DialContext(ctx, client.Options{HostPort: s.Temporal.HostPort(), ConnectionOptions: conn})
		cancel()
		if err == nil {
			c.Close()
			t.Errorf("a %s client reached the frontend", name)
		}
	}
	checkTLSJourney(t, s)
}
