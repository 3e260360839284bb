package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

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

func TestKeyringSources(t *testing.T) {
	dir := t.TempDir()
	c := Config{CodecKeysFile: filepath.Join(dir, "codec.keys")}
	t.Setenv("CARECLOCK_CODEC_KEYS_FILE", "")
	if _, err := c.Keyring(false); err == nil || !strings.Contains(err.Error(), "CARECLOCK_CODEC_KEYS_FILE") {
		t.Errorf("missing key file: %v", err)
	}
	created, err := c.Keyring(true) // the dev stack creates it
	if err != nil {
		t.Fatal(err)
	}
	if loaded, err := c.Keyring(false); err != nil || loaded.Current() != created.Current() {
		t.Errorf("reload: %v %v", loaded.Current(), err)
	}
	c.CodecKeys = testKeys // the environment wins over the file
	if r, err := c.Keyring(false); err != nil || r.Current() != "k1" {
		t.Errorf("inline keys: %v %v", r.Current(), err)
	}
	c.CodecKeys = "k1:00"
	if _, err := c.Keyring(false); err == nil || !strings.HasPrefix(err.Error(), "CARECLOCK_CODEC_KEYS: ") {
		t.Errorf("bad inline keys: %v", err)
	}
	if _, err := os.Stat(c.CodecKeysFile); err != nil {
		t.Fatal(err)
	}
	if _, err := (Config{CodecKeysFile: c.CodecKeysFile}).ClientOptions(zerolog.Nop()); err != nil {
		t.Errorf("client options: %v", err)
	}
}
