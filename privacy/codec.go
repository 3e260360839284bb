package privacy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload. The key id says which key of the ring sealed it, so that
// keys can rotate: new payloads use the newest key, old ones still open with theirs.
const (
	EncodingEncrypted = "binary/encrypted"
	MetadataKeyID     = "encryption-key-id"
	MetadataCipher    = "encryption-cipher"
	CipherAES256GCM   = "AES-256-GCM"
)

// Keyring holds the AES-256 keys payloads are encrypted with, by id. The last key added is the
// current one, used for everything encrypted from now on.
type Keyring struct {
	current string
	keys    map[string]cipher.AEAD
}

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ParseKeyring reads keys written as `id:hex` (64 hex digits, 256 bits), one per line or
// separated by commas; blank lines and lines starting with # are skipped. The last is current.
func ParseKeyring(text string) (Keyring, error) {
	r := Keyring{keys: map[string]cipher.AEAD{}}
	var entries []string
	for line := range strings.Lines(text) {
		if line = strings.TrimSpace(line); !strings.HasPrefix(line, "#") {
			entries = append(entries, strings.Split(line, ",")...)
		}
	}
	for i, e := range entries {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		id, hexKey, ok := strings.Cut(e, ":")
		if !ok || !keyIDPattern.MatchString(id) {
			return Keyring{}, fmt.Errorf("key %d: want id:hex, with an id of letters, digits, '.', '_' or '-'", i+1)
		}
		secret, err := hex.DecodeString(hexKey)
		if err != nil || len(secret) != 32 {
			return Keyring{}, fmt.Errorf("key %s: want 64 hex digits (256 bits)", id)
		}
		if _, dup := r.keys[id]; dup {
			return Keyring{}, fmt.Errorf("key %s appears twice", id)
		}
		block, err := aes.NewCipher(secret)
		if err != nil {
			return Keyring{}, fmt.Errorf("key %s: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return Keyring{}, fmt.Errorf("key %s: %w", id, err)
		}
		r.keys[id], r.current = aead, id
	}
	if r.current == "" {
		return Keyring{}, errors.New("no payload key")
	}
	return r, nil
}

// LoadKeyringFile reads a keyring file.
func LoadKeyringFile(path string) (Keyring, error) {
	b, err := ReadSecretFile(path)
	if err != nil {
		return Keyring{}, fmt.Errorf("payload key file: %w", err)
	}
	r, err := ParseKeyring(string(b))
	if err != nil {
		return Keyring{}, fmt.Errorf("payload key file %s: %w", path, err)
	}
	return r, nil
}

// NewKeyLine returns a new random key as a keyring line, with an id from the date.
func NewKeyLine(now time.Time) (string, error) {
	secret, err := RandomHex(32)
	if err != nil {
		return "", fmt.Errorf("new payload key: %w", err)
	}
	return now.UTC().Format("20060102T150405Z") + ":" + secret, nil
}

// EnsureKeyringFile loads the keyring at path, first creating it with one new key (mode 0600)
// when it does not exist. For the dev stack; production keys come from a secret store.
func EnsureKeyringFile(path string) (Keyring, error) {
	err := EnsureSecretFile(path, func() (string, error) {
		line, err := NewKeyLine(time.Now())
		return "# careclock payload keys, id:hex; the last one encrypts. Add a line to rotate.\n" + line, err
	})
	if err != nil {
		return Keyring{}, fmt.Errorf("new payload key: %w", err)
	}
	return LoadKeyringFile(path)
}

// Current is the id of the key new payloads are encrypted with.
func (r Keyring) Current() string { return r.current }

// Codec is a Temporal PayloadCodec that encrypts every payload with AES-256-GCM under the
// keyring's current key. The whole payload (its metadata and data) is sealed, with the key id as
// additional data; the nonce is random and prefixed to the ciphertext.
//
// With EncryptedOnly, Decode refuses a payload that is not encrypted with a key of the keyring:
// careclock's own clients (worker, listener, starter) take only what one of them encrypted, so
// that whoever reaches Temporal without the keys cannot start or steer a journey with a plaintext
// input, signal or update. Without it (the codec server behind the UI), a plaintext payload is
// passed through, to be shown as it is.
type Codec struct {
	Keys          Keyring
	EncryptedOnly bool
}

// ErrNotEncrypted is the error Decode returns, with EncryptedOnly, for a payload that is not
// encrypted.
var ErrNotEncrypted = errors.New("payload not encrypted with a careclock key: refused (docs/security.md, encrypted-only)")

var _ converter.PayloadCodec = Codec{}

// Encode encrypts payloads.
func (c Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead, id := c.Keys.keys[c.Keys.current], c.Keys.current
	if aead == nil {
		return nil, errors.New("payload codec has no key")
	}
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("payload nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(id),
				MetadataCipher:             []byte(CipherAES256GCM),
			},
			Data: aead.Seal(nonce, nonce, plain, []byte(id)),
		}
	}
	return out, nil
}

// Decode decrypts encrypted payloads. Any other it passes through unchanged, or with
// EncryptedOnly refuses (ErrNotEncrypted).
func (c Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			if c.EncryptedOnly {
				return nil, fmt.Errorf("%w (its encoding is %q)", ErrNotEncrypted, p.GetMetadata()[converter.MetadataEncoding])
			}
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead := c.Keys.keys[id]
		if aead == nil {
			return nil, fmt.Errorf("payload encrypted with key %q, which is not in the keyring", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, fmt.Errorf("payload encrypted with key %q is truncated", id)
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("payload encrypted with key %q does not decrypt: %w", id, err)
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return nil, fmt.Errorf("decrypted payload: %w", err)
		}
		out[i] = &decoded
	}
	return out, nil
}
