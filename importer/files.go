package importer

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// AttributeRefusal is the CloudEvent extension attribute a refused event carries its reason in,
// in a refusals file (CloudEvents ignore attributes they do not know, so the file can be fed
// again as it is).
const AttributeRefusal = "careclockrefusal"

// Refusals writes refused items to a directory: each into a file named after its input, in the
// input's own format with the reason added (a CSV's refusal column, a CloudEvent's
// careclockrefusal attribute), so that the plan corrects the file and imports it again.
type Refusals struct {
	dir    string
	inputs []Input
	append bool
	mu     sync.Mutex
	files  map[int]*refusalFile
}

type refusalFile struct {
	f   *os.File
	csv *csv.Writer
	// refusal is the index of the refusal column in a CSV's rows.
	refusal int
}

// NewRefusals returns the refusals of inputs, written to dir. appendTo keeps the refusals a
// stopped import wrote (a resumed import); otherwise each file starts empty.
func NewRefusals(dir string, inputs []Input, appendTo bool) (*Refusals, error) {
	seen := map[string]string{}
	for _, in := range inputs {
		name := filepath.Base(in.Path)
		if other, ok := seen[name]; ok {
			return nil, fmt.Errorf("%s and %s would share one refusals file, %s: rename one", other, in.Path, name)
		}
		seen[name] = in.Path
	}
	return &Refusals{dir: dir, inputs: inputs, append: appendTo, files: map[int]*refusalFile{}}, nil
}

// Path is where an input's refusals go.
func (r *Refusals) Path(input int) string {
	return filepath.Join(r.dir, filepath.Base(r.inputs[input].Path))
}

// Refuse writes one refused item with its reason.
func (r *Refusals) Refuse(it Item, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rf, err := r.open(it.Input)
	if err != nil {
		return err
	}
	if rf.csv != nil {
		row := slices.Clone(it.Row)
		for len(row) <= rf.refusal {
			row = append(row, "")
		}
		row[rf.refusal] = reason
		if err := rf.csv.Write(row); err != nil {
			return err
		}
		rf.csv.Flush()
		return rf.csv.Error()
	}
	var ev map[string]json.RawMessage
	if json.Unmarshal(it.Event, &ev) != nil || ev == nil {
		// Not a JSON object: kept as text beside the reason.
		text, err := json.Marshal(string(it.Event))
		if err != nil {
			return err
		}
		ev = map[string]json.RawMessage{"careclocktext": text}
	}
	why, err := json.Marshal(reason)
	if err != nil {
		return err
	}
	ev[AttributeRefusal] = why
	line, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = rf.f.Write(append(line, '\n'))
	return err
}

func (r *Refusals) open(input int) (*refusalFile, error) {
	if rf, ok := r.files[input]; ok {
		return rf, nil
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return nil, err
	}
	path := r.Path(input)
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if r.append {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	// The plan's data: readable by its owner only.
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, err
	}
	rf := &refusalFile{f: f}
	if header := r.inputs[input].Header; header != nil {
		rf.csv = csv.NewWriter(f)
		rf.refusal = slices.Index(header, ColumnRefusal)
		if rf.refusal < 0 {
			header = append(slices.Clone(header), ColumnRefusal)
			rf.refusal = len(header) - 1
		}
		if st, err := f.Stat(); err == nil && st.Size() == 0 {
			if err := rf.csv.Write(header); err != nil {
				return nil, errors.Join(err, f.Close())
			}
		}
	}
	r.files[input] = rf
	return rf, nil
}

// Files lists the refusals files written, sorted.
func (r *Refusals) Files() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for i := range r.files {
		out = append(out, r.Path(i))
	}
	slices.Sort(out)
	return out
}

// Close closes every refusals file.
func (r *Refusals) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, rf := range r.files {
		if rf.csv != nil {
			rf.csv.Flush()
			errs = append(errs, rf.csv.Error())
		}
		errs = append(errs, rf.f.Close())
	}
	return errors.Join(errs...)
}

// Checkpoint is where an interrupted import resumes: the items settled from the first on, for one
// set of inputs and one go-live date.
type Checkpoint struct {
	// Import identifies the inputs (their names and contents, the CSV type) and the go-live date.
	Import string     `json:"import"`
	GoLive rules.Date `json:"goLive"`
	Done   int        `json:"done"`
}

// ImportID identifies an import by its inputs, their CSV type and the go-live date.
func ImportID(inputs []Input, eventType string, goLive rules.Date) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", eventType, goLive)
	for _, in := range inputs {
		raw, err := os.ReadFile(in.Path)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(in.Path), len(raw))
		h.Write(raw)
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// LoadCheckpoint reads the checkpoint at path: zero Done when there is none, an error when it is
// another import's.
func LoadCheckpoint(path, id string) (Checkpoint, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Checkpoint{Import: id}, nil
	}
	if err != nil {
		return Checkpoint{}, err
	}
	var c Checkpoint
	if err := json.Unmarshal(raw, &c); err != nil {
		return Checkpoint{}, fmt.Errorf("%s: not a checkpoint: %w", path, err)
	}
	if c.Import != id {
		return Checkpoint{}, fmt.Errorf("%s is the checkpoint of another import (other files, another CSV type or go-live %s): finish that import, or remove it, or give --restart", path, c.GoLive)
	}
	return c, nil
}

// Save writes the checkpoint whole or not at all.
func (c Checkpoint) Save(path string) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// StartingTypes are the inbound types that start journeys: the CSV files a plan exports.
var StartingTypes = []string{
	events.MemberEnrolled, events.CCSReferralSubmitted, events.WCMTransitioned, events.CoCRequested,
	events.PregnancyEnded, events.ReimbursementSubmitted, events.AuthorizationRequested,
	events.GrievanceReceived, events.AppealReceived,
}

// Kinds lists the starting event types, each with its CSV columns: what docs/operations.md shows.
func Kinds(types []string) (string, error) {
	var b strings.Builder
	for _, t := range types {
		names, required, err := Fields(t)
		if err != nil {
			return "", err
		}
		cols := make([]string, len(names))
		for i, n := range names {
			cols[i] = n
			if !required[i] {
				cols[i] += "?"
			}
		}
		fmt.Fprintf(&b, "%s: %s\n", t, strings.Join(cols, ","))
	}
	return b.String(), nil
}
