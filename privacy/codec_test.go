package privacy

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

const (
	key1 = "k1:" + "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	key2 = "k2:" + "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"
)

func ring(t *testing.T, text string) Keyring {
	t.Helper()
	r, err := ParseKeyring(text)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type member struct {
	MemberID    string `json:"memberId"`
	DateOfBirth string `json:"dateOfBirth"`
	County      string `json:"county"`
}

var phi = member{MemberID: "M-100777", DateOfBirth: "2008-02-29", County: "Yolo"}

func TestEncryptionRoundTrip(t *testing.T) {
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), Codec{Keys: ring(t, key1)})
	p, err := dc.ToPayload(phi)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{phi.MemberID, phi.DateOfBirth, phi.County, "json/plain"} {
		if bytes.Contains(p.GetData(), []byte(v)) || bytes.Contains([]byte(p.String()), []byte(v)) {
			t.Errorf("encrypted payload contains %q", v)
		}
	}
	md := p.GetMetadata()
	if string(md["encoding"]) != EncodingEncrypted || string(md[MetadataKeyID]) != "k1" || string(md[MetadataCipher]) != CipherAES256GCM {
		t.Errorf("metadata %q", md)
	}
	var got member
	if err := dc.FromPayload(p, &got); err != nil || got != phi {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	// A random nonce: the same value never encrypts to the same bytes.
	if q, err := dc.ToPayload(phi); err != nil || bytes.Equal(q.GetData(), p.GetData()) {
		t.Errorf("same ciphertext twice (%v)", err)
	}
}

func TestKeyRotation(t *testing.T) {
	old := Codec{Keys: ring(t, key1)}
	rotated := Codec{Keys: ring(t, "# keys\n"+key1+"\n"+key2+"\n")}
	if rotated.Keys.Current() != "k2" {
		t.Fatalf("current key %s, want the last one, k2", rotated.Keys.Current())
	}
	plain := []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"M-100777"`)}}
	before, err := old.Encode(plain)
	if err != nil {
		t.Fatal(err)
	}
	after, err := rotated.Encode(plain)
	if err != nil {
		t.Fatal(err)
	}
	if string(after[0].GetMetadata()[MetadataKeyID]) != "k2" {
		t.Errorf("new payloads use key %s, want k2", after[0].GetMetadata()[MetadataKeyID])
	}
	for name, p := range map[string]*commonpb.Payload{"old payload": before[0], "new payload": after[0]} {
		got, err := rotated.Decode([]*commonpb.Payload{p})
		if err != nil || string(got[0].GetData()) != `"M-100777"` {
			t.Errorf("%s after rotation: %v %v", name, got, err)
		}
	}
	// A process that has not been given the new key says which key it lacks.
	if _, err := old.Decode(after); err == nil || !strings.Contains(err.Error(), `key "k2", which is not in the keyring`) {
		t.Errorf("decode with a keyring missing k2: %v", err)
	}
}

func TestTamperedOrUnencryptedPayloads(t *testing.T) {
	c := Codec{Keys: ring(t, key1)}
	plain := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`1`)}
	enc, err := c.Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	enc[0].Data[len(enc[0].Data)-1] ^= 1
	if _, err := c.Decode(enc); err == nil || !strings.Contains(err.Error(), "does not decrypt") {
		t.Errorf("tampered payload: %v", err)
	}
	enc[0].Data = enc[0].Data[:5]
	if _, err := c.Decode(enc); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated payload: %v", err)
	}
	// Written before encryption was on: passed through.
	got, err := c.Decode([]*commonpb.Payload{plain})
	if err != nil || got[0] != plain {
		t.Errorf("plain payload: %v %v", got, err)
	}
}

func TestParseKeyringErrors(t *testing.T) {
	for text, want := range map[string]string{
		"":                               "no payload key",
		"# only a comment":               "no payload key",
		"k1:abcd":                        "key k1: want 64 hex digits",
		"k1 " + key1[3:]:                 "want id:hex",
		"bad id:" + key1[3:]:             "want id:hex",
		key1 + "\n" + key1:               "key k1 appears twice",
		"k1:" + strings.Repeat("zz", 32): "key k1: want 64 hex digits",
	} {
		if _, err := ParseKeyring(text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKeyring(%q) = %v, want %q", text, err, want)
		}
	}
	// Errors never repeat key material.
	if _, err := ParseKeyring("k1:" + key1[3:] + "ff"); err == nil || strings.Contains(err.Error(), key1[3:13]) {
		t.Errorf("error repeats the key: %v", err)
	}
	// Inline form for an environment variable.
	if r, err := ParseKeyring(key1 + "," + key2); err != nil || r.Current() != "k2" {
		t.Errorf("comma-separated keyring: %v %v", r.Current(), err)
	}
}

func TestEnsureKeyringFileCreatesOnce(t *testing.T) {
	path := t.TempDir() + "/sub/codec.keys"
	first, err := EnsureKeyringFile(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := EnsureKeyringFile(path)
	if err != nil || again.Current() != first.Current() {
		t.Fatalf("second load: %v %v", again.Current(), err)
	}
	if _, err := time.Parse("20060102T150405Z", first.Current()); err != nil {
		t.Errorf("key id %q is not a timestamp", first.Current())
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v", info.Mode().Perm(), err)
	}
}
