// Package contract is careclock's event contract as files: a JSON Schema (draft 2020-12) for the
// data of every inbound and every journey event type, and one AsyncAPI 3 document for the NATS
// channels that references them (docs/events.md). Downstream teams validate against the schemas
// and generate consumers from the AsyncAPI document; careclock's tests validate every sample and
// every event its journeys publish against them.
//
// The inbound schemas are generated from the Go types the listener decodes (events/types.go), the
// journey schemas from Journeys, the catalogue of what each journey event carries. `go test
// ./contract -update` writes them; the test fails while the files and the code differ.
package contract

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Files holds the schemas (schemas/inbound/<type>.json, schemas/journeys/<type>.json) and
// asyncapi.yaml.
//
//go:embed asyncapi.yaml schemas
var Files embed.FS

// The two directions of the contract.
const (
	Inbound  = "inbound"
	Journeys = "journeys"
)

// SchemaPath is the file of an event type's data schema: schemas/<direction>/<type>.json.
func SchemaPath(direction, eventType string) string {
	return path.Join("schemas", direction, eventType+".json")
}

var (
	mu       sync.Mutex
	compiled = map[string]*jsonschema.Schema{}
)

// Validate checks an event's data (JSON) against its type's schema. A type with no schema is an
// error: every type careclock takes or publishes has one.
func Validate(direction, eventType string, data []byte) error {
	s, err := schema(direction, eventType)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s data: %w", eventType, err)
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("%s data: %w", eventType, err)
	}
	return nil
}

// validateSchema validates data against a schema given as bytes.
func validateSchema(schemaJSON, data []byte) error {
	s, err := compile("file:///schema.json", schemaJSON)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// compile compiles one schema document, asserting formats (date, date-time).
func compile(url string, raw []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

func schema(direction, eventType string) (*jsonschema.Schema, error) {
	mu.Lock()
	defer mu.Unlock()
	file := SchemaPath(direction, eventType)
	if s, ok := compiled[file]; ok {
		return s, nil
	}
	raw, err := fs.ReadFile(Files, file)
	if err != nil {
		return nil, fmt.Errorf("no schema for %s event %s: %w", direction, eventType, err)
	}
	s, err := compile("file:///"+file, raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	compiled[file] = s
	return s, nil
}
