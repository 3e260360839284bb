package events

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/careclock/careclock/rules"
)

// FuzzDecode feeds the decoder arbitrary bytes. It must never panic; it accepts only an event of
// a known type with an id and data of that type, and it rejects everything else with a reason
// that does not repeat the input. Seeds: every file in samples/ and the corpus in
// testdata/fuzz/FuzzDecode. Run longer with
//
//	go test ./events -fuzz FuzzDecode -fuzztime 5m
func FuzzDecode(f *testing.F) {
	samples, err := filepath.Glob(filepath.Join("..", "samples", "*.json"))
	if err != nil || len(samples) == 0 {
		f.Fatalf("no samples: %v", err)
	}
	for _, s := range samples {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	today := rules.MustDate("2026-11-22")
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, payload, err := Decode(raw, today)
		if err != nil {
			reason := err.Error()
			if reason == "" {
				t.Fatal("rejected without a reason")
			}
			// A reason names what is wrong, never the value (which may be PHI).
			if len(raw) >= 12 && strings.Contains(reason, string(raw)) {
				t.Fatalf("reason %q repeats the input", reason)
			}
			return
		}
		if !Known(ev.Type) || ev.ID == "" || payload == nil {
			t.Fatalf("accepted %q: type %q id %q payload %v", raw, ev.Type, ev.ID, payload)
		}
		// What was accepted decodes again to the same data.
		again, err := ev.Payload()
		if err != nil || again == nil {
			t.Fatalf("accepted event does not decode again: %v", err)
		}
	})
}
