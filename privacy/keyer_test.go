package privacy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
