package contract

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// dialect is the JSON Schema draft every schema declares.
const dialect = "https://json-schema.org/draft/2020-12/schema"

// Patterns of the strings careclock reads and writes.
const (
	datePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`
	// An RFC 3339 timestamp with its offset (Z or ±hh:mm); format date-time checks the rest.
	timestampPattern = `(Z|[+-][0-9]{2}:[0-9]{2})$`
)

var (
	dateType = reflect.TypeFor[rules.Date]()
	timeType = reflect.TypeFor[time.Time]()
)

// InboundSchema is the schema of an inbound type's data, generated from its Go type by the rules
// the listener decodes with (events.Decode): every field required unless its json tag says
// omitempty, strings not empty, dates YYYY-MM-DD, timestamps RFC 3339 with an offset, and each
// `cc` rule (oneof, nonempty, nonnegative; "past" is the listener's own check of today).
func InboundSchema(eventType string) ([]byte, error) {
	v := events.NewData(eventType)
	if v == nil {
		return nil, fmt.Errorf("unknown inbound type %s", eventType)
	}
	s := objectSchema(reflect.TypeOf(v).Elem())
	s["$schema"] = dialect
	s["$id"] = "urn:careclock:schema:" + Inbound + ":" + eventType
	s["title"] = eventType
	s["description"] = "The data of an inbound " + eventType + " event (docs/events.md)."
	return marshal(s)
}

func objectSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		props[name] = fieldSchema(f)
		if opts != "omitempty" {
			required = append(required, name)
		}
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func fieldSchema(f reflect.StructField) map[string]any {
	t := f.Type
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var s map[string]any
	switch {
	case t == dateType:
		s = kindSchema("date")
	case t == timeType:
		s = kindSchema("datetime")
	case t.Kind() == reflect.String:
		s = map[string]any{"type": "string", "minLength": 1}
	case t.Kind() == reflect.Bool:
		s = map[string]any{"type": "boolean"}
	case t.Kind() == reflect.Int64 || t.Kind() == reflect.Int:
		s = map[string]any{"type": "integer"}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		s = map[string]any{"type": "array", "items": objectSchema(t.Elem())}
	default:
		panic(fmt.Sprintf("contract: no schema for field %s of type %s", f.Name, t))
	}
	switch rule := f.Tag.Get("cc"); {
	case rule == "countyModel":
		s["enum"] = []string{rules.Independent, rules.Dependent}
	case strings.HasPrefix(rule, "oneof="):
		s["enum"] = strings.Fields(strings.TrimPrefix(rule, "oneof="))
	case rule == "nonempty":
		s["minItems"] = 1
	case rule == "nonnegative":
		s["minimum"] = 0
	case rule == "past":
		s["description"] = "Not after the day the event is received, in the policy's zone."
	}
	return s
}

// JourneySchema is the schema of a journey event type's data, from the catalogue JourneyEvents: the
// fields every journey event carries, those of its journey's clock, and its own. A field the code
// publishes and the catalogue does not name fails validation (additionalProperties is false).
func JourneySchema(eventType string) ([]byte, error) {
	spec, ok := JourneyEvents[eventType]
	if !ok {
		return nil, fmt.Errorf("unknown journey event type %s", eventType)
	}
	journey := journeyOf(eventType)
	props := map[string]any{
		"journey":    map[string]any{"const": journey},
		"workflowId": map[string]any{"type": "string", "pattern": "^" + journey + "-[0-9a-f]{32}$", "description": "The journey's workflow id: a keyed hash, never a member's id."},
		"memberId":   map[string]any{"type": "string", "minLength": 1},
		"eventDate":  described(kindSchema("date"), "The date the event is due or happened, in the policy's zone."),
		"deadline":   described(kindSchema("date"), "The date the journey is about."),
		"late":       map[string]any{"type": "boolean", "description": "Published after its date (or, for an hour clock, more than a minute after its instant)."},
		"scheduledAt": described(kindSchema("datetime"),
			"The instant the event was due; the CloudEvent's time is the instant it was published. Absent from events of journeys started before this field."),
	}
	required := []string{"journey", "workflowId", "memberId", "eventDate", "deadline", "late"}
	if slices.Contains(hourClocks, journey) {
		props["deadlineAt"] = described(kindSchema("datetime"), "The deadline instant, for a journey whose clock is one.")
		props["eventAt"] = described(kindSchema("datetime"), "The event's instant, with deadlineAt.")
	}
	for _, field := range spec.Fields {
		name, optional := strings.CutSuffix(field.Name, "?")
		props[name] = kindSchema(field.Kind)
		if !optional {
			required = append(required, name)
		}
	}
	s := map[string]any{
		"$schema": dialect, "$id": "urn:careclock:schema:" + Journeys + ":" + eventType, "title": eventType,
		"description": spec.Doc, "type": "object", "properties": props, "required": required,
		"additionalProperties": false,
	}
	return marshal(s)
}

// kindSchema is the schema of a catalogue kind: int, bool, string, date, datetime, or
// enum:a|b|c.
func kindSchema(kind string) map[string]any {
	switch kind {
	case "int":
		return map[string]any{"type": "integer"}
	case "bool":
		return map[string]any{"type": "boolean"}
	case "string":
		return map[string]any{"type": "string", "minLength": 1}
	case "date":
		return map[string]any{"type": "string", "format": "date", "pattern": datePattern}
	case "datetime":
		return map[string]any{"type": "string", "format": "date-time", "pattern": timestampPattern}
	case "true":
		return map[string]any{"const": true}
	}
	if values, ok := strings.CutPrefix(kind, "enum:"); ok {
		return map[string]any{"enum": strings.Split(values, "|")}
	}
	panic("contract: unknown kind " + kind)
}

// described is s with a description.
func described(s map[string]any, description string) map[string]any {
	s["description"] = description
	return s
}

func marshal(s map[string]any) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// journeyOf is the journey that publishes an event type: its first word, ccs-referral for ccs.
func journeyOf(eventType string) string {
	journey, _, _ := strings.Cut(eventType, ".")
	if journey == "ccs" {
		return "ccs-referral"
	}
	return journey
}

// key is an AsyncAPI id for a subject or type: its dots and dashes as underscores.
func key(s string) string { return strings.NewReplacer(".", "_", "-", "_", ">", "all").Replace(s) }

// AsyncAPI is the AsyncAPI 3 document of careclock's NATS channels, generated from the same
// lists as the schemas: a channel per inbound type (enrollment.<type>), per journey event type
// (journeys.<journey>.<event>), and the dead-letter subject, each message a CloudEvent in
// structured mode whose data is its type's schema.
func AsyncAPI() ([]byte, error) {
	channels, operations, messages := map[string]any{}, map[string]any{}, map[string]any{}
	envelope := func(eventType, direction string) map[string]any {
		props := map[string]any{
			"specversion":     map[string]any{"const": "1.0"},
			"id":              map[string]any{"type": "string", "minLength": 1, "description": "Unique per source; also the Nats-Msg-Id header."},
			"source":          map[string]any{"type": "string", "minLength": 1},
			"type":            map[string]any{"const": eventType},
			"time":            map[string]any{"type": "string", "format": "date-time"},
			"datacontenttype": map[string]any{"const": "application/json"},
			"data":            map[string]any{"$ref": "./" + SchemaPath(direction, eventType)},
		}
		required := []string{"specversion", "id", "source", "type", "data"}
		if direction == Journeys {
			props["subject"] = map[string]any{"type": "string", "description": "The journey's workflow id."}
			required = []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"}
		}
		return map[string]any{"type": "object", "required": required, "properties": props}
	}
	msgID := map[string]any{"type": "object", "properties": map[string]any{
		"Nats-Msg-Id": map[string]any{"type": "string", "description": "The CloudEvent's id: JetStream stores an event once per id within 24 hours."},
	}}
	add := func(direction, eventType, subject, action, summary string) {
		id := key(subject)
		msg := direction + "_" + key(eventType)
		messages[msg] = map[string]any{
			"name": eventType, "title": eventType, "summary": summary, "contentType": "application/json",
			"headers": msgID, "payload": envelope(eventType, direction),
		}
		channels[id] = map[string]any{"address": subject, "messages": map[string]any{
			key(eventType): map[string]any{"$ref": "#/components/messages/" + msg},
		}}
		operations[action+"_"+id] = map[string]any{
			"action":   action,
			"channel":  map[string]any{"$ref": "#/channels/" + id},
			"messages": []any{map[string]any{"$ref": "#/channels/" + id + "/messages/" + key(eventType)}},
		}
	}
	for _, t := range events.InboundTypes() {
		add(Inbound, t, events.Subject(t), "receive", "Inbound: careclock applies it to its journeys (docs/rules.md).")
	}
	for _, t := range JourneyTypes() {
		add(Journeys, t, events.JourneySubject(journeyOf(t), t), "send", JourneyEvents[t].Doc)
	}
	messages["deadletter"] = map[string]any{
		"name": "deadletter", "title": "dead letter", "contentType": "application/octet-stream",
		"summary": "An inbound event careclock could not use: its original bytes, with the reason in a header.",
		"headers": map[string]any{"type": "object", "required": []string{events.HeaderReason, events.HeaderOriginalSubject, events.HeaderOriginalSeq},
			"properties": map[string]any{
				events.HeaderReason:          map[string]any{"type": "string", "description": "Why, naming fields, never values (no PHI)."},
				events.HeaderOriginalSubject: map[string]any{"type": "string"},
				events.HeaderOriginalSeq:     map[string]any{"type": "string", "description": "The original's sequence in the ENROLLMENT stream."},
			}},
		"payload": map[string]any{"description": "The original message's bytes, unchanged."},
	}
	channels["deadletter"] = map[string]any{"address": events.DeadLetterSubject, "messages": map[string]any{
		"deadletter": map[string]any{"$ref": "#/components/messages/deadletter"},
	}}
	operations["send_deadletter"] = map[string]any{"action": "send", "channel": map[string]any{"$ref": "#/channels/deadletter"},
		"messages": []any{map[string]any{"$ref": "#/channels/deadletter/messages/deadletter"}}}
	doc := map[string]any{
		"asyncapi": "3.0.0",
		"info": map[string]any{
			"title": "careclock", "version": "1.0.0",
			"description": "careclock's NATS JetStream channels, from careclock's side: inbound events it receives on " +
				"enrollment.<type> (stream ENROLLMENT), journey events it sends on journeys.<journey>.<event> (stream " +
				"JOURNEYS), and the dead letters it sends on enrollment.deadletter. Every message but a dead letter is a " +
				"CloudEvent 1.0 in JSON structured mode; its data's schema is in schemas/. Rules: docs/rules.md.",
		},
		"defaultContentType": "application/json",
		"servers": map[string]any{"nats": map[string]any{
			"host": "localhost:4222", "protocol": "nats",
			"description": "The dev stack's NATS; each role (producer, listener, worker, reader) has its own credentials (docs/security.md).",
		}},
		"channels": channels, "operations": operations, "components": map[string]any{"messages": messages},
	}
	var b strings.Builder
	b.WriteString("# Generated by `go test ./contract -update` from events/types.go and contract/journeys.go; do not edit.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return []byte(b.String()), enc.Close()
}
