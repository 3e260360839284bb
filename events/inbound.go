// Package events is careclock's event contract (events.md): the CloudEvents envelope, the typed
// data of every inbound type with its validation, and the journey events careclock publishes.
package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/careclock/careclock/rules"
)

// Event is an inbound CloudEvent 1.0 in JSON structured mode, with its data kept as JSON so it
// can travel to a journey as a signal and be decoded there by type.
type Event struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            string          `json:"time,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// Peek reads what publishing a raw inbound event needs without validating the rest: its id (the
// Nats-Msg-Id, "" when absent) and the subject of its type.
func Peek(raw []byte) (id, subject string, err error) {
	var head struct{ ID, Type string }
	if err := json.Unmarshal(raw, &head); err != nil {
		return "", "", fmt.Errorf("not a JSON event: %w", err)
	}
	if head.Type == "" {
		return head.ID, "", errors.New("no event type")
	}
	return head.ID, Subject(head.Type), nil
}

// Subject is the NATS subject an inbound event of this type is published on.
func Subject(eventType string) string { return "enrollment." + eventType }

// Decode reads and validates one inbound event. today is the current date in the plan's zone,
// against which a date of birth in the future is rejected. The error, when not nil, is a reason
// fit for the dead-letter subject and the logs: it names fields, never their values.
func Decode(raw []byte, today rules.Date) (Event, any, error) {
	if !json.Valid(raw) {
		return Event{}, nil, fmt.Errorf("not JSON")
	}
	var e Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return Event{}, nil, fmt.Errorf("not a CloudEvent: %s", typeError(err))
	}
	switch {
	case e.SpecVersion != "1.0":
		return Event{}, nil, fmt.Errorf("not a CloudEvent: specversion must be \"1.0\"")
	case e.ID == "":
		return Event{}, nil, fmt.Errorf("not a CloudEvent: id is required")
	case e.Source == "":
		return Event{}, nil, fmt.Errorf("not a CloudEvent: source is required")
	case e.Type == "":
		return Event{}, nil, fmt.Errorf("not a CloudEvent: type is required")
	case e.DataContentType != "" && e.DataContentType != "application/json":
		return Event{}, nil, fmt.Errorf("datacontenttype must be application/json")
	}
	if e.Time != "" {
		t, err := time.Parse(time.RFC3339, e.Time)
		if err != nil {
			return Event{}, nil, fmt.Errorf("not a CloudEvent: time must be RFC 3339")
		}
		if err := inRange(t); err != nil {
			return Event{}, nil, fmt.Errorf("not a CloudEvent: time %s", err)
		}
	}
	if !Known(e.Type) {
		return Event{}, nil, fmt.Errorf("unknown type")
	}
	data, err := decodeData(e.Type, e.Data, today, true)
	if err != nil {
		return Event{}, nil, err
	}
	return e, data, nil
}

// Payload decodes the event's data into its typed struct (a pointer such as
// *ReimbursementPaidData), leniently: the listener validated the event (Decode) before any
// journey received it, and a journey reads it without the rules, so that a rule tightened later
// does not change what a journey decides when its history is replayed. What the JSON lacks is
// left zero.
func (e Event) Payload() (any, error) { return decodeData(e.Type, e.Data, rules.Date{}, false) }

// As decodes the event's data into T.
func As[T any](e Event) (T, error) {
	var zero T
	p, err := e.Payload()
	if err != nil {
		return zero, err
	}
	v, ok := p.(*T)
	if !ok {
		return zero, fmt.Errorf("event type %s does not carry %T", e.Type, zero)
	}
	return *v, nil
}

// decodeData decodes an event's data into its typed struct, checking the rules when strict.
func decodeData(eventType string, raw json.RawMessage, today rules.Date, strict bool) (any, error) {
	newData, ok := dataTypes[eventType]
	if !ok {
		return nil, fmt.Errorf("unknown type")
	}
	v := newData()
	if err := decodeStruct(raw, reflect.ValueOf(v).Elem(), "data", today, strict); err != nil {
		return nil, err
	}
	return v, nil
}

var (
	dateType = reflect.TypeFor[rules.Date]()
	timeType = reflect.TypeFor[time.Time]()
)

// badTimestamp is the error for a timestamp that is not RFC 3339 with an offset. It does not
// repeat the value.
const badTimestamp = "must be an RFC 3339 timestamp with its offset, such as 2027-03-13T10:00:00-08:00"

// decodeStruct fills the struct rv from the JSON object raw field by field, so that every error
// names the field that is wrong: missing, of the wrong type, or (when strict: the listener's
// Decode) failing its `cc` rule. A journey reads without the rules (Payload), field by field all
// the same, so that both read the same keys (JSON field names are exact here, where
// encoding/json would also take another case).
func decodeStruct(raw json.RawMessage, rv reflect.Value, path string, today rules.Date, strict bool) error {
	var fields map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) == 0 || json.Unmarshal(raw, &fields) != nil || fields == nil {
		return fmt.Errorf("%s: must be a JSON object", path)
	}
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		at := path + "." + name
		val, present := fields[name]
		if !present || string(val) == "null" {
			if opts == "omitempty" || !strict {
				continue
			}
			return fmt.Errorf("%s: required", at)
		}
		fv := rv.Field(i)
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			var items []json.RawMessage
			if json.Unmarshal(val, &items) != nil {
				return fmt.Errorf("%s: must be a list", at)
			}
			fv.Set(reflect.MakeSlice(f.Type, len(items), len(items)))
			for j, item := range items {
				if err := decodeStruct(item, fv.Index(j), fmt.Sprintf("%s[%d]", at, j), today, strict); err != nil {
					return err
				}
			}
		} else if err := json.Unmarshal(val, fv.Addr().Interface()); err != nil {
			if f.Type == timeType {
				return fmt.Errorf("%s: %s", at, badTimestamp)
			}
			return fmt.Errorf("%s: %s", at, typeError(err))
		}
		if !strict {
			continue
		}
		if err := checkRule(f, fv, at, today); err != nil {
			return err
		}
	}
	return nil
}

func checkRule(f reflect.StructField, fv reflect.Value, at string, today rules.Date) error {
	if f.Type.Kind() == reflect.String && fv.String() == "" {
		return fmt.Errorf("%s: must not be empty", at)
	}
	if f.Type == dateType && fv.Interface().(rules.Date).IsZero() {
		return fmt.Errorf("%s: required", at)
	}
	if f.Type == timeType {
		t := fv.Interface().(time.Time)
		if t.IsZero() {
			return fmt.Errorf("%s: %s", at, badTimestamp)
		}
		if err := inRange(t); err != nil {
			return fmt.Errorf("%s: %s", at, err)
		}
	}
	rule := f.Tag.Get("cc")
	if rule == "countyModel" {
		rule = "oneof=" + rules.Independent + " " + rules.Dependent
	}
	switch {
	case rule == "":
	case rule == "past":
		if !today.IsZero() && fv.Interface().(rules.Date).After(today) {
			return fmt.Errorf("%s: in the future", at)
		}
	case rule == "nonempty":
		if fv.Len() == 0 {
			return fmt.Errorf("%s: must not be empty", at)
		}
	case rule == "nonnegative":
		if fv.Elem().Int() < 0 {
			return fmt.Errorf("%s: must not be negative", at)
		}
	case strings.HasPrefix(rule, "oneof="):
		allowed := strings.Fields(strings.TrimPrefix(rule, "oneof="))
		if !slices.Contains(allowed, fv.String()) {
			return fmt.Errorf("%s: must be one of %s", at, strings.Join(allowed, ", "))
		}
	default:
		panic("events: unknown cc rule " + rule)
	}
	return nil
}

// inRange checks a timestamp against the dates careclock accepts (rules.MinDate to
// rules.MaxDate), as ParseDate checks a date: "9999-12-31T00:00:00Z", a common "open-ended"
// sentinel, is a data error, not a deadline, and a clock counted from it could not even be stored
// as a search attribute. The error does not repeat the value.
func inRange(t time.Time) error {
	if d := rules.DateOf(t.UTC()); d.Before(rules.MinDate) || d.After(rules.MaxDate) {
		return fmt.Errorf("out of range (%s to %s)", rules.MinDate, rules.MaxDate)
	}
	return nil
}

// typeError describes a JSON decoding error without the offending value.
func typeError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "wrong type (want " + kindName(te.Type) + ")"
	}
	return err.Error()
}

func kindName(t reflect.Type) string {
	switch {
	case t == dateType:
		return "a YYYY-MM-DD string"
	case t.Kind() == reflect.Pointer:
		return kindName(t.Elem())
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "a whole number"
	case t.Kind() == reflect.Struct:
		return "an object"
	}
	return t.Kind().String()
}
