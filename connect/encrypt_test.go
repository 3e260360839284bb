package connect

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/careclock/careclock/access"
	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/privacy"
)

const testKeys = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// A failure's message and stack are encrypted too (EncodeCommonAttributes): an activity error
// that quotes an id does not reach Temporal's database in clear.
func TestFailuresAreEncrypted(t *testing.T) {
	ring, err := privacy.ParseKeyring(testKeys)
	if err != nil {
		t.Fatal(err)
	}
	var opts client.Options
	Encrypt(&opts, ring)
	f := opts.FailureConverter.ErrorToFailure(errors.New("claim CLM-2026-000388 of M-100512 not found"))
	if strings.Contains(f.String(), "CLM-2026") || strings.Contains(f.String(), "M-100512") {
		t.Fatalf("failure in clear: %s", f)
	}
	if f.GetMessage() != "Encoded failure" || string(f.GetEncodedAttributes().GetMetadata()["encoding"]) != privacy.EncodingEncrypted {
		t.Fatalf("failure not encoded: %s", f)
	}
	if back := opts.FailureConverter.FailureToError(f); !strings.Contains(back.Error(), "claim CLM-2026-000388 of M-100512 not found") {
		t.Fatalf("decoded failure: %v", back)
	}
	p, err := opts.DataConverter.ToPayload("M-100512")
	if err != nil || string(p.GetMetadata()["encoding"]) != privacy.EncodingEncrypted {
		t.Fatalf("data converter does not encrypt: %v %v", p, err)
	}
}

func TestClientOptionsEncrypt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "codec.keys")
	if err := os.WriteFile(path, []byte(testKeys+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := ClientOptions(config.Config{CodecKeysFile: path, TemporalAddress: "temporal.example:7233", TemporalNamespace: "careclock"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != "temporal.example:7233" || opts.Namespace != "careclock" {
		t.Errorf("address %q namespace %q", opts.HostPort, opts.Namespace)
	}
	p, err := opts.DataConverter.ToPayload("M-100512")
	if err != nil || string(p.GetMetadata()["encoding"]) != privacy.EncodingEncrypted {
		t.Fatalf("data converter does not encrypt: %v %v", p, err)
	}
}

// A client certificate from starter secrets is taken (TEMPORAL_TLS_*, the SDK's own
// variables); its key open to others is refused, naming the fix.
func TestTemporalOptionsTakeTheRolesCertificate(t *testing.T) {
	certs := access.CertificatesIn(t.TempDir())
	if _, err := certs.Ensure(time.Now()); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", certs.Cert("worker"))
	t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", certs.Key("worker"))
	t.Setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", certs.CA())
	t.Setenv("TEMPORAL_TLS_SERVER_NAME", "temporal")
	opts, err := TemporalOptions(config.Config{TemporalAddress: "temporal:7233"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg := opts.ConnectionOptions.TLS
	if tlsCfg == nil || tlsCfg.ServerName != "temporal" || tlsCfg.RootCAs == nil || (len(tlsCfg.Certificates) != 1 && tlsCfg.GetClientCertificate == nil) {
		t.Fatalf("TLS %+v", tlsCfg)
	}
	if err := os.Chmod(certs.Key("worker"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := TemporalOptions(config.Config{}, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a key open to the group: %v", err)
	}
}
