package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// Block is the policy in force from a date (docs/rules.md, Rules in force on a date): every value,
// as the blocks dated up to From made it. The first block of a Book is from the beginning of time
// (a zero From).
type Block struct {
	From Date `json:"from,omitzero"`
	Policy
}

// Book is the policy as a list of blocks, in date order: the values in force on a date are those
// of the last block from on or before it. A journey takes the block in force on its starting
// fact's date and keeps it (State.PolicyFrom), so a rule that changes on a date reaches the facts
// dated from it, whenever careclock hears of them and whenever the plan deploys a new file.
type Book []Block

// change is one dated change of the built-in policy: the date, the values that change on it as
// a policy file would write them, and why.
type change struct {
	from   Date
	values string
	source string
}

// builtInChanges are the dated changes of docs/rules.md, in date order. DefaultPolicy holds the
// values before the first of them.
var builtInChanges = []change{
	{
		from:   NewDate(2026, 1, 1),
		values: `{"authorization": {"standardMaxDays": 7}}`,
		source: "42 CFR §438.210(d) as amended by CMS-0057-F: a standard decision within 7 calendar days",
	},
}

// DefaultBook is the built-in policy: DefaultPolicy from the beginning, then the dated changes of
// docs/rules.md.
func DefaultBook() Book {
	b, err := buildBook(nil)
	if err != nil {
		panic(fmt.Sprintf("built-in policy: %v", err)) // tested: the built-in changes read
	}
	return b
}

// BookOf is a book of one block: p, in force from from for every date (a journey that starts
// another hands it its own policy).
func BookOf(p Policy, from Date) Book { return Book{{From: from, Policy: p}} }

// On returns the block in force on d: the last one from on or before it (the first block for a
// date before every block).
func (b Book) On(d Date) Block {
	i := sort.Search(len(b), func(i int) bool { return b[i].From.After(d) })
	return b[max(i-1, 0)]
}

// At returns the block in force on the date of the instant t in the book's zone, which no block
// changes.
func (b Book) At(t time.Time) Block { return b.On(b[0].Today(t)) }

// BlockName names the block in force from a date, for operators: the date, or "beginning" for
// the first block.
func BlockName(from Date) string {
	if from.IsZero() {
		return "beginning"
	}
	return from.String()
}

// Latest is the block in force from the last date the book names: today's rules, for what is
// not about one journey (the report's zone, `starter list`'s dates).
func (b Book) Latest() Policy { return b[len(b)-1].Policy }

// bookFile is a policy file of dated blocks: {"blocks": [{"from": "2027-01-01", …}, …]}.
type bookFile struct {
	Blocks []json.RawMessage `json:"blocks"`
}

// patch is one block of a policy file: its date and the values it sets, as written.
type patch struct {
	from   Date
	values []byte
	// builtIn marks a change of the built-in policy, which a file's block of the same date
	// comes after.
	builtIn bool
	source  string
}

// LoadBook reads the policy file at path over the built-in book (no file: the built-in book).
func LoadBook(path string) (Book, error) {
	if path == "" {
		return DefaultBook(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	book, err := ParseBook(b)
	if err != nil {
		return nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	return book, nil
}

// ParseBook reads a policy file over the built-in book. The file is either dated blocks,
// {"blocks": [{"from": "YYYY-MM-DD", …values…}, …]}, where a block without from is in force from
// the beginning, or, as files were written before policies were dated, one object of values: one
// block from the beginning. Such a file is refused when it sets a value that a built-in block
// changes on a later date, since it cannot say whether it means its value before that date or
// after; the error says how to write it as blocks.
func ParseBook(b []byte) (Book, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if _, dated := probe["blocks"]; !dated {
		if err := undatedConflicts(b); err != nil {
			return nil, err
		}
		return buildBook([]patch{{values: b}})
	}
	var f bookFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("dated policy: %w (a dated policy file holds only \"blocks\")", err)
	}
	if len(f.Blocks) == 0 {
		return nil, errors.New("blocks: empty (leave the file out for the built-in policy)")
	}
	var patches []patch
	for i, raw := range f.Blocks {
		from, rest, err := splitBlock(i, raw)
		if err != nil {
			return nil, err
		}
		p := patch{from: from, values: rest}
		if i > 0 && p.from.Before(patches[i-1].from) {
			return nil, fmt.Errorf("blocks[%d].from: %s is before the block above it (%s): list blocks in date order", i, p.from, patches[i-1].from)
		}
		patches = append(patches, p)
	}
	return buildBook(patches)
}

// buildBook applies the built-in changes and the file's patches in date order over
// DefaultPolicy (a built-in change before a file's block of the same date), one block per date,
// and validates each block.
func buildBook(file []patch) (Book, error) {
	all := make([]patch, 0, len(builtInChanges)+len(file))
	for _, c := range builtInChanges {
		all = append(all, patch{from: c.from, values: []byte(c.values), builtIn: true, source: c.source})
	}
	all = append(all, file...)
	slices.SortStableFunc(all, func(a, b patch) int {
		if c := a.from.Compare(b.from); c != 0 {
			return c
		}
		if a.builtIn == b.builtIn {
			return 0
		}
		if a.builtIn {
			return -1
		}
		return 1
	})
	book := Book{{Policy: DefaultPolicy()}}
	for _, p := range all {
		last := &book[len(book)-1]
		next, err := ParsePolicyOver(last.Policy, p.values)
		if err != nil {
			if p.from.IsZero() {
				return nil, err
			}
			return nil, fmt.Errorf("block from %s: %w", p.from, err)
		}
		if next.Timezone != book[0].Timezone {
			return nil, fmt.Errorf("block from %s: timezone: a block may not change the zone (%s before it)", p.from, book[0].Timezone)
		}
		if p.from == last.From {
			last.Policy = next
			continue
		}
		book = append(book, Block{From: p.from, Policy: next})
	}
	return book, nil
}

// undatedConflicts refuses an undated policy file that sets a value a built-in block changes.
func undatedConflicts(b []byte) error {
	set, err := keysSet(b)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range builtInChanges {
		changed, err := keysSet([]byte(c.values))
		if err != nil {
			return err
		}
		for _, k := range changed {
			if slices.Contains(set, k) {
				errs = append(errs, fmt.Errorf(
					"%s: the built-in policy changes it on %s (%s), and a policy file without dates cannot say which "+
						"value it means on which date. Write the file as dated blocks: "+
						`{"blocks": [{…your values, in force from the beginning…}, {"from": "%s", %s}]}`+
						" (docs/configuration.md, Dated policy)",
					k, c.from, c.source, c.from, nested(k, "N")))
			}
		}
	}
	return errors.Join(errs...)
}

// keysSet lists the dotted keys of the values a policy JSON object sets (authorization.standardMaxDays).
func keysSet(b []byte) ([]string, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			out = append(out, prefix+k)
		}
	}
	walk("", m)
	slices.Sort(out)
	return out, nil
}

// nested writes a dotted key as the JSON object that sets it: "a.b", "N" → "a": {"b": N}.
func nested(key, value string) string {
	parts := strings.Split(key, ".")
	s := fmt.Sprintf("%q: %s", parts[len(parts)-1], value)
	for i := len(parts) - 2; i >= 0; i-- {
		s = fmt.Sprintf("%q: {%s}", parts[i], s)
	}
	return s
}

// MarshalBook is the book as a replan sends it: every block with every value, so that a journey
// reads it the same whatever defaults the code that replays it has.
func MarshalBook(b Book) ([]byte, error) {
	return json.Marshal(struct {
		Blocks Book `json:"blocks"`
	}{b})
}

// ReadBookOver reads a replan's policy over a journey's own policy base: a book (MarshalBook),
// or a single policy as `starter replan` sent before policies were dated (one block from the
// beginning). Each block is read over base, so a key it leaves out keeps the journey's value.
func ReadBookOver(base Policy, b []byte) (Book, error) {
	var probe struct {
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, err
	}
	if probe.Blocks == nil {
		p, err := ParsePolicyOver(base, b)
		if err != nil {
			return nil, err
		}
		return BookOf(p, Date{}), nil
	}
	var book Book
	for i, raw := range probe.Blocks {
		from, rest, err := splitBlock(i, raw)
		if err != nil {
			return nil, err
		}
		p, err := ParsePolicyOver(base, rest)
		if err != nil {
			return nil, fmt.Errorf("block from %s: %w", from, err)
		}
		if i > 0 && !from.After(book[i-1].From) {
			return nil, fmt.Errorf("blocks[%d].from: %s is not after the block above it", i, from)
		}
		book = append(book, Block{From: from, Policy: p})
	}
	if len(book) == 0 {
		return nil, errors.New("blocks: empty")
	}
	return book, nil
}

// splitBlock reads the i-th block of a dated policy: its from (zero when it has none: the
// beginning) and its values without it.
func splitBlock(i int, raw json.RawMessage) (Date, []byte, error) {
	var head struct {
		From Date `json:"from"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return Date{}, nil, fmt.Errorf("blocks[%d].from: %w", i, err)
	}
	var values map[string]json.RawMessage
	if err := json.Unmarshal(raw, &values); err != nil {
		return Date{}, nil, fmt.Errorf("blocks[%d]: %w", i, err)
	}
	delete(values, "from")
	rest, err := json.Marshal(values)
	return head.From, rest, err
}
