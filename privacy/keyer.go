// Package privacy keeps protected health information out of everything Temporal and NATS store
// in clear: workflow ids and search keys are keyed hashes of the business keys.
package privacy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MinKeyBytes is the shortest HMAC key accepted: 256 bits.
const MinKeyBytes = 32

// Keyer computes keyed hashes (HMAC-SHA256) of business keys. The same key and parts always give
// the same hash; without the key the hash reveals nothing about whose it is.
type Keyer struct{ key []byte }

// NewKeyer returns a Keyer for a secret of at least MinKeyBytes.
func NewKeyer(secret []byte) (Keyer, error) {
	if len(secret) < MinKeyBytes {
		return Keyer{}, fmt.Errorf("hmac key is %d bytes; at least %d are required", len(secret), MinKeyBytes)
	}
	return Keyer{key: append([]byte(nil), secret...)}, nil
}

// ParseKey reads a key written as hex (at least 64 hex digits).
func ParseKey(text string) (Keyer, error) {
	b, err := hex.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return Keyer{}, errors.New("hmac key must be hex")
	}
	return NewKeyer(b)
}

// LoadKeyFile reads a hex key from a file.
func LoadKeyFile(path string) (Keyer, error) {
	b, err := ReadSecretFile(path)
	if err != nil {
		return Keyer{}, fmt.Errorf("hmac key file: %w", err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return Keyer{}, fmt.Errorf("hmac key file %s: %w", path, err)
	}
	return k, nil
}

// EnsureKeyFile loads the hex key at path, first creating it with a new random key (mode 0600)
// when it does not exist. For the dev stack; production keys come from a secret store.
func EnsureKeyFile(path string) (Keyer, error) {
	if err := EnsureSecretFile(path, func() (string, error) { return RandomHex(MinKeyBytes) }); err != nil {
		return Keyer{}, fmt.Errorf("new hmac key: %w", err)
	}
	return LoadKeyFile(path)
}

// RandomHex returns n random bytes as hex.
func RandomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// ReadSecretFile reads a key, token or seed file, refusing one that its group or others may
// read or write (any of the mode bits 0o077): a secret shared with every user of the host is
// not a secret, and a loader that took it would hide the mistake. The error says how to fix it.
func ReadSecretFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if mode := info.Mode().Perm(); mode&0o077 != 0 {
		return nil, fmt.Errorf("%s is open to its group or others (mode %04o): a secret must be readable by its owner only; chmod 600 %s", path, mode, path)
	}
	return os.ReadFile(path)
}

// EnsureSecretFile creates path (mode 0600, its directory 0700) holding what content returns,
// unless it already exists. The dev stack makes its keys and tokens this way.
func EnsureSecretFile(path string, content func() (string, error)) error {
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return err
	}
	text, err := content()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(text + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Hash returns 128 bits of HMAC-SHA256 over the parts, as 32 hex digits. Parts are separated by
// a byte that cannot occur in text, so ("ab","c") and ("a","bc") differ.
func (k Keyer) Hash(parts ...string) string {
	if len(k.key) == 0 {
		panic("privacy: Keyer used without a key")
	}
	m := hmac.New(sha256.New, k.key)
	for i, p := range parts {
		if i > 0 {
			m.Write([]byte{0})
		}
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}
