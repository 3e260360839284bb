package contract

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/careclock/careclock/events"
)

var update = flag.Bool("update", false, "write the schemas and asyncapi.yaml from the code")

// generated is every file of the contract as the code generates it.
func generated(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, typ := range events.InboundTypes() {
		b, err := InboundSchema(typ)
		if err != nil {
			t.Fatal(err)
		}
		files[SchemaPath(Inbound, typ)] = b
	}
	for _, typ := range JourneyTypes() {
		b, err := JourneySchema(typ)
		if err != nil {
			t.Fatal(err)
		}
		files[SchemaPath(Journeys, typ)] = b
	}
	b, err := AsyncAPI()
	if err != nil {
		t.Fatal(err)
	}
	files["asyncapi.yaml"] = b
	return files
}

// The files in the repository are the ones the code generates: a type, a field, a rule or a
// channel changed in the code and not in the contract (or the other way) fails here. With
// -update, the files are written from the code, and stale ones removed.
func TestContractFilesAreGeneratedFromTheCode(t *testing.T) {
	want := generated(t)
	if *update {
		for _, dir := range []string{filepath.Join("schemas", Inbound), filepath.Join("schemas", Journeys)} {
			old, _ := filepath.Glob(filepath.Join(dir, "*.json"))
			for _, f := range old {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, b := range want {
			if err := os.WriteFile(name, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	var have []string
	err := fs.WalkDir(os.DirFS("."), "schemas", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			have = append(have, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	have = append(have, "asyncapi.yaml")
	for _, name := range have {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want[name]; !ok {
			t.Errorf("%s: no event type has it (go test ./contract -update)", name)
		} else if !bytes.Equal(b, w) {
			t.Errorf("%s differs from what the code generates (go test ./contract -update)", name)
		}
	}
	for name := range want {
		if !slices.Contains(have, name) {
			t.Errorf("%s is missing (go test ./contract -update)", name)
		}
	}
}

// Every sample in samples/ carries time and validates against its type's schema, except the one
// that is meant to be dead-lettered; and that one fails it, as the listener refuses it.
func TestSamplesValidate(t *testing.T) {
	files, err := filepath.Glob("../samples/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("samples: %v", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev events.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if ev.Time == "" { // events.md lists time among the attributes every event has
			t.Errorf("%s has no time", f)
		}
		err = Validate(Inbound, ev.Type, ev.Data)
		if strings.Contains(f, "malformed") {
			if err == nil {
				t.Errorf("%s validates, but the listener dead-letters it", f)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// A type with no schema is refused.
func TestATypeWithNoSchemaFails(t *testing.T) {
	if err := Validate(Journeys, "reimbursement.teleported", []byte(`{}`)); err == nil {
		t.Error("an unknown journey event type validated")
	}
	if err := Validate(Inbound, "member.teleported", []byte(`{}`)); err == nil {
		t.Error("an unknown inbound type validated")
	}
}

// The mutation check: a field renamed in the Go type changes the schema generated from it, which
// then differs from the file (TestContractFilesAreGeneratedFromTheCode), and the sample no longer
// validates against it. Here the rename is made on a copy of the type.
func TestARenamedFieldFailsTheContract(t *testing.T) {
	typ := reflect.TypeFor[events.ReimbursementSubmittedData]()
	fields := make([]reflect.StructField, typ.NumField())
	for i := range fields {
		fields[i] = typ.Field(i)
	}
	fields[0].Tag = `json:"claimID"` // was claimId
	renamed := objectSchema(reflect.StructOf(fields))
	renamed["$schema"] = dialect
	b, err := json.Marshal(renamed)
	if err != nil {
		t.Fatal(err)
	}
	current, err := InboundSchema(events.ReimbursementSubmitted)
	if err != nil {
		t.Fatal(err)
	}
	var cur map[string]any
	if err := json.Unmarshal(current, &cur); err != nil {
		t.Fatal(err)
	}
	delete(cur, "$id")
	delete(cur, "title")
	delete(cur, "description")
	if reflect.DeepEqual(cur, renamed) {
		t.Fatal("a renamed field left the generated schema as it was")
	}
	raw, err := os.ReadFile("../samples/reimbursement-submitted.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if err := validateWith(t, b, ev.Data); err == nil || !strings.Contains(err.Error(), "claimID") {
		t.Errorf("the sample against the renamed type's schema: %v, want claimID missing", err)
	}
	// And a journey event whose code renames a field fails its schema: additionalProperties is
	// false and the field is required.
	data := `{"journey":"reimbursement","workflowId":"reimbursement-0123456789abcdef0123456789abcdef","memberId":"M-1",
		"eventDate":"2027-01-14","deadline":"2027-01-29","late":false,"daysBefore":15,"due_date":"2027-01-29"}`
	if err := Validate(Journeys, "reimbursement.due_soon", []byte(data)); err == nil {
		t.Error("a journey event with dueDate renamed due_date validated")
	}
}

func validateWith(t *testing.T, schema []byte, data []byte) error {
	t.Helper()
	return validateSchema(schema, data)
}

// Every channel of the AsyncAPI document is a subject careclock uses, and every message's data
// refers to a schema file that exists.
func TestAsyncAPIChannels(t *testing.T) {
	raw, err := fs.ReadFile(Files, "asyncapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AsyncAPI string `yaml:"asyncapi"`
		Channels map[string]struct {
			Address string `yaml:"address"`
		} `yaml:"channels"`
		Components struct {
			Messages map[string]struct {
				Name    string `yaml:"name"`
				Payload struct {
					Properties struct {
						Data struct {
							Ref string `yaml:"$ref"`
						} `yaml:"data"`
					} `yaml:"properties"`
				} `yaml:"payload"`
			} `yaml:"messages"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.AsyncAPI != "3.0.0" {
		t.Errorf("asyncapi %q", doc.AsyncAPI)
	}
	addresses := map[string]bool{}
	for _, c := range doc.Channels {
		addresses[c.Address] = true
	}
	for _, typ := range events.InboundTypes() {
		if !addresses[events.Subject(typ)] {
			t.Errorf("no channel %s", events.Subject(typ))
		}
	}
	for _, typ := range JourneyTypes() {
		if s := events.JourneySubject(journeyOf(typ), typ); !addresses[s] {
			t.Errorf("no channel %s", s)
		}
	}
	if !addresses[events.DeadLetterSubject] {
		t.Errorf("no channel %s", events.DeadLetterSubject)
	}
	for id, m := range doc.Components.Messages {
		if ref := m.Payload.Properties.Data.Ref; ref != "" {
			if _, err := fs.Stat(Files, strings.TrimPrefix(ref, "./")); err != nil {
				t.Errorf("message %s: data %s: %v", id, ref, err)
			}
		} else if id != "deadletter" {
			t.Errorf("message %s has no data schema", id)
		}
	}
}
