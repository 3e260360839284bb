package privacy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHashIsStableKeyedAndUnambiguous(t *testing.T) {
	k1, err := NewKeyer([]byte(strings.Repeat("a", 32)))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := NewKeyer([]byte(strings.Repeat("b", 32)))
	if err != nil {
		t.Fatal(err)
	}
	h := k1.Hash("reimbursement", "CLM-1")
	if h != k1.Hash("reimbursement", "CLM-1") {
		t.Fatal("same input, different hash")
	}
	if len(h) != 32 || strings.Contains(h, "CLM") {
		t.Fatalf("hash %q", h)
	}
	if h == k2.Hash("reimbursement", "CLM-1") {
		t.Fatal("different keys, same hash")
	}
	if k1.Hash("ab", "c") == k1.Hash("a", "bc") {
		t.Fatal("part boundaries are ambiguous")
	}
	// A known answer, computed independently with
	//   printf 'reimbursement\x00CLM-1' | openssl dgst -sha256 -hmac aaaa…(32 a)
	// so that a change of algorithm (which would orphan every running journey's workflow id)
	// cannot pass unnoticed.
	if h != "ebc6afedd42111431838242323cd7ad3" {
		t.Fatalf("hash = %s", h)
	}
}

func TestShortKeyIsRefused(t *testing.T) {
	if _, err := NewKeyer([]byte("short")); err == nil {
		t.Fatal("a 5-byte key was accepted")
	}
	if _, err := ParseKey("zz"); err == nil {
		t.Fatal("non-hex key accepted")
	}
}

func TestEnsureKeyFileCreatesOnceWithPrivateMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "hmac.key")
	k1, err := EnsureKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v", st, err)
	}
	k2, err := EnsureKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Hash("x") != k2.Hash("x") {
		t.Fatal("second start made a new key")
	}
	if _, err := LoadKeyFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing key file loaded")
	}
}

// Every loader of a secret refuses a file its group or others may read, and says how to fix it;
// the same file with mode 0600 loads.
func TestSecretFilesOpenToOthersAreRefused(t *testing.T) {
	dir := t.TempDir()
	key, err := RandomHex(MinKeyBytes)
	if err != nil {
		t.Fatal(err)
	}
	line, err := NewKeyLine(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, content string
		load          func(string) error
	}{
		{"hmac.key", key, func(p string) error { _, err := LoadKeyFile(p); return err }},
		{"codec.keys", line, func(p string) error { _, err := LoadKeyringFile(p); return err }},
	} {
		path := filepath.Join(dir, tc.name)
		for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
			if err := os.WriteFile(path, []byte(tc.content+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			err := tc.load(path)
			if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
				t.Errorf("%s with mode %04o: %v, want it refused with the fix", tc.name, mode, err)
			}
		}
		if err := os.Chmod(path, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := tc.load(path); err != nil {
			t.Errorf("%s with mode 0600: %v", tc.name, err)
		}
	}
}
