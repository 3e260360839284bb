package access

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/careclock/careclock/privacy"
)

// Certificate lifetimes. A leaf certificate within RenewBefore of its end is issued again (same
// key) by Ensure, which the secrets service runs on every start.
const (
	CALifetime   = 10 * 365 * 24 * time.Hour
	LeafLifetime = 397 * 24 * time.Hour
	RenewBefore  = 30 * 24 * time.Hour
)

// Servers are the servers' certificates and the names each answers to: the Temporal frontend's
// for careclock's clients and the UI (who verify the name "temporal"), the internode one for the
// Temporal server's own services (who verify "temporal-internode", whatever address they dial),
// the NATS nodes' (for clients and for each other's routes), PostgreSQL's, the UI server's (for
// the front) and the front's (for browsers, on loopback: behind a proxy or on another name, the
// operator's own certificate), by their compose names and on loopback.
var Servers = []struct {
	Name string
	DNS  []string
	IPs  []net.IP
}{
	{Name: "temporal-frontend", DNS: []string{"temporal", "localhost"}, IPs: []net.IP{loopback}},
	{Name: InternodeName, DNS: []string{InternodeName}},
	{Name: "nats", DNS: []string{"nats-1", "nats-2", "nats-3", "localhost"}, IPs: []net.IP{loopback}},
	{Name: "postgresql", DNS: []string{"postgresql", "localhost"}, IPs: []net.IP{loopback}},
	{Name: "temporal-ui", DNS: []string{"temporal-ui", "localhost"}, IPs: []net.IP{loopback}},
	{Name: "codec", DNS: []string{"codec", "localhost"}, IPs: []net.IP{loopback}},
}

var loopback = net.IPv4(127, 0, 0, 1)

// InternodeName is the Temporal server's internode certificate, issued by the internode CA.
const InternodeName = "temporal-internode"

// Certificates is the layout of the certificates under a deployment's secrets folder: DIR/tls/
// holds ca.pem (and ca.key when careclock's own CA issued them), and NAME.pem and NAME.key for
// each server and role.
type Certificates struct{ Dir string }

// CertificatesIn is the layout under the secrets folder dir.
func CertificatesIn(dir string) Certificates { return Certificates{Dir: filepath.Join(dir, "tls")} }

// CA is the CA certificate every party trusts.
func (c Certificates) CA() string { return filepath.Join(c.Dir, "ca.pem") }

// CAKey is the CA's private key; absent when the operator's own CA issues the certificates.
func (c Certificates) CAKey() string { return filepath.Join(c.Dir, "ca.key") }

// InternodeCA is the CA of the Temporal server's internode certificate alone: its services and
// internal frontend trust no other, so no client certificate of the deployment's CA (a role's)
// reaches them.
func (c Certificates) InternodeCA() string { return filepath.Join(c.Dir, "internode-ca.pem") }

// InternodeCAKey is the internode CA's private key.
func (c Certificates) InternodeCAKey() string { return filepath.Join(c.Dir, "internode-ca.key") }

// Cert is the certificate file of a server or role.
func (c Certificates) Cert(name string) string { return filepath.Join(c.Dir, name+".pem") }

// Key is the private key file of a server or role.
func (c Certificates) Key(name string) string { return filepath.Join(c.Dir, name+".key") }

// Outcome is what Ensure did with one certificate file: created, kept or renewed.
type Outcome struct{ File, State string }

// Ensure makes every certificate that does not exist yet, the CA first, and issues again a leaf
// that ends within RenewBefore of now. It never replaces a key. With a CA certificate but no CA
// key (the operator's own CA), it issues nothing and refuses a missing certificate, naming what
// to issue.
func (c Certificates) Ensure(now time.Time) ([]Outcome, error) {
	ca, out, err := ensureAuthority(c.CA(), c.CAKey(), "careclock deployment CA", now)
	if err != nil {
		return nil, err
	}
	internode, more, err := ensureAuthority(c.InternodeCA(), c.InternodeCAKey(), "careclock Temporal internode CA", now)
	if err != nil {
		return nil, err
	}
	out = append(out, more...)
	pool, err := LoadPool(c.CA())
	if err != nil {
		return nil, err
	}
	internodePool, err := LoadPool(c.InternodeCA())
	if err != nil {
		return nil, err
	}
	for _, s := range Servers {
		issuer, issuerPool := ca, pool
		if s.Name == InternodeName {
			issuer, issuerPool = internode, internodePool
		}
		o, err := c.ensureLeaf(issuer, issuerPool, now, &x509.Certificate{
			Subject:     pkix.Name{CommonName: s.Name, Organization: []string{"careclock"}},
			DNSNames:    s.DNS,
			IPAddresses: s.IPs,
			// The internode and NATS certificates are also the servers' client certificates to
			// each other (Temporal's services, NATS routes).
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}, s.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	for _, r := range Roles {
		o, err := c.ensureLeaf(ca, pool, now, &x509.Certificate{
			Subject:     pkix.Name{CommonName: "careclock-" + string(r), Organization: []string{"careclock"}, OrganizationalUnit: []string{string(r)}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}, string(r))
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// ensureAuthority creates a CA (certFile, keyFile) that does not exist yet, or loads one; with a
// certificate but no key (the operator's own CA) it returns no authority, and leaves issue
// nothing.
func ensureAuthority(certFile, keyFile, name string, now time.Time) (*authority, []Outcome, error) {
	_, certErr := os.Stat(certFile)
	_, keyErr := os.Stat(keyFile)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		ca, err := newAuthority(certFile, keyFile, name, now)
		return ca, []Outcome{{certFile, "created"}, {keyFile, "created"}}, err
	case certErr != nil:
		return nil, nil, fmt.Errorf("the CA key %s is here but not its certificate %s: restore it from the backup of the secrets", keyFile, certFile)
	case keyErr == nil:
		ca, err := loadAuthority(certFile, keyFile)
		return ca, []Outcome{{certFile, "kept"}, {keyFile, "kept"}}, err
	case errors.Is(keyErr, fs.ErrNotExist):
		return nil, []Outcome{{certFile, "kept"}}, nil // the operator's own CA
	default:
		return nil, nil, keyErr
	}
}

// ensureLeaf keeps, renews or creates one leaf certificate and its key.
func (c Certificates) ensureLeaf(ca *authority, pool *x509.CertPool, now time.Time, tmpl *x509.Certificate, name string) (Outcome, error) {
	certFile, keyFile := c.Cert(name), c.Key(name)
	cert, err := loadCert(certFile)
	switch {
	case err == nil:
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: cert.NotBefore.Add(time.Minute), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			return Outcome{}, fmt.Errorf("%s was not issued by %s (%w): remove it and its key to issue it again", certFile, c.CA(), err)
		}
		if cert.NotAfter.Sub(now) > RenewBefore {
			return Outcome{certFile, "kept"}, nil
		}
		if ca == nil {
			return Outcome{}, fmt.Errorf("%s ends on %s: issue it again from your CA", certFile, cert.NotAfter.Format(time.DateOnly))
		}
		key, err := loadKey(keyFile)
		if err != nil {
			return Outcome{}, err
		}
		if err := ca.issue(tmpl, key.Public(), now, certFile); err != nil {
			return Outcome{}, err
		}
		return Outcome{certFile, "renewed"}, nil
	case !errors.Is(err, fs.ErrNotExist):
		return Outcome{}, err
	case ca == nil:
		ou := "no organizational unit"
		if len(tmpl.Subject.OrganizationalUnit) > 0 {
			ou = "organizational unit " + tmpl.Subject.OrganizationalUnit[0]
		}
		return Outcome{}, fmt.Errorf("%s is missing and %s is not here (the certificates come from your own CA): issue %s and its key %s from it, with %s", certFile, c.CAKey(), certFile, keyFile, ou)
	}
	if _, err := os.Stat(keyFile); err == nil {
		return Outcome{}, fmt.Errorf("%s is here without its certificate %s: restore the certificate, or remove the key to issue both again", keyFile, certFile)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Outcome{}, err
	}
	if err := writeKey(keyFile, key); err != nil {
		return Outcome{}, err
	}
	if err := ca.issue(tmpl, key.Public(), now, certFile); err != nil {
		return Outcome{}, err
	}
	return Outcome{certFile, "created"}, nil
}

// authority is careclock's own CA.
type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newAuthority(certFile, keyFile, name string, now time.Time) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name, Organization: []string{"careclock"}},
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	if tmpl.SerialNumber, err = serial(); err != nil {
		return nil, err
	}
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(CALifetime)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	if err := writeKey(keyFile, key); err != nil {
		return nil, err
	}
	if err := writeCert(certFile, der); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return &authority{cert: cert, key: key}, err
}

func loadAuthority(certFile, keyFile string) (*authority, error) {
	cert, err := loadCert(certFile)
	if err != nil {
		return nil, err
	}
	key, err := loadKey(keyFile)
	if err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key}, nil
}

// issue signs a leaf certificate for pub from tmpl and writes it to file.
func (a *authority) issue(tmpl *x509.Certificate, pub crypto.PublicKey, now time.Time, file string) error {
	leaf := *tmpl
	var err error
	if leaf.SerialNumber, err = serial(); err != nil {
		return err
	}
	leaf.NotBefore, leaf.NotAfter = now.Add(-time.Hour), now.Add(LeafLifetime)
	if leaf.NotAfter.After(a.cert.NotAfter) {
		leaf.NotAfter = a.cert.NotAfter
	}
	leaf.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, &leaf, a.cert, pub, a.key)
	if err != nil {
		return fmt.Errorf("issue %s: %w", file, err)
	}
	return writeCert(file, der)
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// LoadPool reads a CA certificate file into a pool.
func LoadPool(file string) (*x509.CertPool, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(text) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

func loadCert(file string) (*x509.Certificate, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(text)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return x509.ParseCertificate(block.Bytes)
}

// loadKey reads a private key, refusing a file open to its group or others.
func loadKey(file string) (crypto.Signer, error) {
	text, err := privacy.ReadSecretFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(text)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM key", file)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: a %T cannot sign", file, key)
	}
	return signer, nil
}

// writeKey creates a private key file readable by its owner only; it never replaces one.
func writeKey(file string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	text := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	var created bool
	err = privacy.EnsureSecretFile(file, func() (string, error) { created = true; return text, nil })
	if err == nil && !created {
		err = fmt.Errorf("%s exists: a key is never replaced", file)
	}
	return err
}

// writeCert writes a certificate (public) in place of any earlier one, atomically.
func writeCert(file string, der []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
