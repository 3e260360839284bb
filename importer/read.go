package importer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/careclock/careclock/events"
)

// Item is one open item of the plan's export: an inbound event and where it was read.
type Item struct {
	// Input is the index of its file among the inputs; Line its line there (CSV: the row's first
	// line; JSON: the line its event starts on).
	Input, Line int
	// Event is the CloudEvent, as JSON: read as it is, or built from a CSV row.
	Event []byte
	// Row is the CSV row as read, written back to the refusals with the reason; nil for JSON.
	Row []string
	// Bad is why a CSV row could not be read into an event ("" when it could).
	Bad string
}

// Input is one file of the plan's export, read.
type Input struct {
	Path string
	// Header is a CSV file's header, nil for CloudEvents.
	Header []string
	Items  []Item
}

// Columns a CSV file may have besides its type's data fields.
const (
	ColumnID      = "id"
	ColumnSource  = "source"
	ColumnTime    = "time"
	ColumnRefusal = "refusal" // what a refusals file adds; ignored on reading, so it can be fed again
)

// Read reads one input file: a CSV of one event type (eventType, or the file's name without .csv:
// reimbursement.submitted.csv) when its name ends in .csv, else CloudEvents as `starter send`
// reads them (one JSON event, a JSON array of events, or one event per line). source is the
// CloudEvent source of events built from CSV rows without a source column; now their time.
//
// A file that cannot be read at all (no such file, a CSV header that names no field of its type)
// is an error; a row that cannot be read is an Item with Bad set, refused when it is imported.
func Read(path, eventType, source string, index int, now time.Time) (Input, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Input{}, err
	}
	in := Input{Path: path}
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		if eventType == "" {
			eventType = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		}
		in.Header, in.Items, err = readCSV(raw, eventType, source, index, now)
	} else {
		in.Items, err = readJSON(raw, index)
	}
	if err != nil {
		return Input{}, fmt.Errorf("%s: %w", path, err)
	}
	return in, nil
}

// readJSON reads CloudEvents: an array of them, or a stream of JSON values (one event per file,
// or one per line). Each is kept as it was written.
func readJSON(raw []byte, index int) ([]Item, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, fmt.Errorf("not a JSON array of events: %w", err)
		}
		items := make([]Item, len(list))
		for i, ev := range list {
			items[i] = Item{Input: index, Line: i + 1, Event: ev} // the event's place in the array
		}
		return items, nil
	}
	var items []Item
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		start := dec.InputOffset()
		var ev json.RawMessage
		err := dec.Decode(&ev)
		if errors.Is(err, io.EOF) {
			return items, nil
		}
		line := 1 + bytes.Count(raw[:start], []byte("\n")) + leadingNewlines(raw[start:])
		if err != nil {
			// The rest of the file cannot be told apart: what follows is one refusal.
			return append(items, Item{Input: index, Line: line, Event: bytes.TrimSpace(raw[start:]), Bad: "not JSON: " + err.Error()}), nil
		}
		items = append(items, Item{Input: index, Line: line, Event: ev})
	}
}

func leadingNewlines(b []byte) int {
	n := 0
	for _, c := range b {
		switch c {
		case '\n':
			n++
		case ' ', '\t', '\r':
		default:
			return n
		}
	}
	return n
}

// field is one column of a CSV file: a data field of its type, or an envelope attribute.
type field struct {
	name string
	kind reflect.Type // nil for an envelope attribute or the refusal column
}

// Fields lists the data fields of an inbound type in the order its data declares them, with
// whether each is required: the columns of its CSV file (docs/operations.md, Go-live).
func Fields(eventType string) (names []string, required []bool, err error) {
	data := events.NewData(eventType)
	if data == nil {
		return nil, nil, fmt.Errorf("%q is not an inbound event type; the types are %s", eventType, strings.Join(events.InboundTypes(), ", "))
	}
	t := reflect.TypeOf(data).Elem()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		names = append(names, name)
		required = append(required, !strings.Contains(opts, "omitempty"))
	}
	return names, required, nil
}

func readCSV(raw []byte, eventType, source string, index int, now time.Time) ([]string, []Item, error) {
	data := events.NewData(eventType)
	if data == nil {
		return nil, nil, fmt.Errorf("%q is not an inbound event type: name a CSV file after its type (reimbursement.submitted.csv) or give --type", eventType)
	}
	kinds := map[string]reflect.Type{}
	t := reflect.TypeOf(data).Elem()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		kinds[name] = t.Field(i).Type
	}
	r := csv.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	r.FieldsPerRecord = -1 // a short or long row is a bad row, not the end of the file
	header, err := r.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("no CSV header: %w", err)
	}
	cols := make([]field, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) // a spreadsheet's byte order mark
		header[i] = h
		switch k, ok := kinds[h]; {
		case ok:
			cols[i] = field{name: h, kind: k}
		case h == ColumnID || h == ColumnSource || h == ColumnTime || h == ColumnRefusal:
			cols[i] = field{name: h}
		default:
			names, _, _ := Fields(eventType)
			return nil, nil, fmt.Errorf("column %q is not a field of %s; its columns are %s, and optionally id, source, time",
				h, eventType, strings.Join(names, ", "))
		}
	}
	var items []Item
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			return header, items, nil
		}
		item := Item{Input: index, Row: row}
		if err == nil {
			item.Line, _ = r.FieldPos(0)
		}
		var parseErr *csv.ParseError
		switch {
		case errors.As(err, &parseErr):
			item.Line, item.Bad = parseErr.StartLine, "not CSV: "+parseErr.Err.Error()
		case err != nil:
			return nil, nil, err
		case len(row) != len(cols):
			item.Bad = fmt.Sprintf("%d columns; the header has %d", len(row), len(cols))
		default:
			item.Event, err = rowEvent(cols, row, eventType, source, now)
			if err != nil {
				item.Bad = err.Error()
			}
		}
		if item.Row == nil {
			item.Row = []string{}
		}
		items = append(items, item)
	}
}

// rowEvent builds the CloudEvent of a CSV row. Without an id column, its id is derived from its
// type and data, so that a rerun of the same row is the same event.
func rowEvent(cols []field, row []string, eventType, source string, now time.Time) ([]byte, error) {
	ev := map[string]any{"specversion": "1.0", "type": eventType, "source": source,
		"time": now.UTC().Format(time.RFC3339), "datacontenttype": "application/json"}
	data := map[string]any{}
	for i, c := range cols {
		v := strings.TrimSpace(row[i])
		if v == "" || c.name == ColumnRefusal {
			continue // an empty cell is a field left out: missing when it is required
		}
		if c.kind == nil {
			ev[c.name] = v
			continue
		}
		value, err := cell(c.kind, v)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.name, err)
		}
		data[c.name] = value
	}
	body, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	ev["data"] = json.RawMessage(body)
	if _, ok := ev[ColumnID]; !ok {
		sum := sha256.Sum256(slices.Concat([]byte(eventType), []byte{0}, body)) // map keys marshal sorted
		ev[ColumnID] = "import-" + hex.EncodeToString(sum[:16])
	}
	return json.Marshal(ev)
}

// cell is a CSV cell as the JSON value of a field of kind k: yes/no or true/false for a yes-no
// field, a whole number for a number, JSON for a list (a transition's providers), the text for
// the rest (dates and timestamps are checked when the event is read, as the listener does).
func cell(k reflect.Type, v string) (any, error) {
	if k.Kind() == reflect.Pointer {
		k = k.Elem()
	}
	switch k.Kind() {
	case reflect.Bool:
		switch strings.ToLower(v) {
		case "true", "yes", "y", "1":
			return true, nil
		case "false", "no", "n", "0":
			return false, nil
		}
		return nil, errors.New("must be yes or no (or true, false)")
	case reflect.Int64, reflect.Int:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errors.New("must be a whole number")
		}
		return n, nil
	case reflect.Slice, reflect.Map:
		if !json.Valid([]byte(v)) {
			return nil, errors.New("must be JSON, such as [{\"providerId\":\"P-1\",\"contracted\":true}]")
		}
		return json.RawMessage(v), nil
	}
	return v, nil
}
