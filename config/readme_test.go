package config

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's configuration table from the declarations")

const (
	tableStart = "<!-- settings: generated from config.Config; TestREADMEConfigurationTable holds it to the code -->"
	tableEnd   = "<!-- /settings -->"
)

// settingsTable is the README's configuration table, made from the declarations.
func settingsTable(t *testing.T) string {
	t.Helper()
	flags, err := Declared()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
	for _, f := range flags {
		def := "—"
		if f.HasDefault && f.Default != "" {
			def = "`" + f.Default + "`"
		}
		b.WriteString("| `--" + f.Name + "` | `" + f.Tag.Envs[0] + "` | " + def + " | " + f.Help + " |\n")
	}
	return b.String()
}

// The README's configuration table is the declarations: a setting added, renamed or given a new
// default fails here until the README says so (go test ./config -run README -update-readme).
func TestREADMEConfigurationTable(t *testing.T) {
	const path = "../README.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	before, rest, ok := strings.Cut(readme, tableStart+"\n")
	inside, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md: no %q … %q", tableStart, tableEnd)
	}
	want := settingsTable(t)
	if inside == want {
		return
	}
	if *updateREADME {
		if err := os.WriteFile(path, []byte(before+tableStart+"\n"+want+tableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's configuration table is not the declarations; run go test ./config -run README -update-readme. Want:\n%s", want)
}

// Needs names only declared settings, or the SDK's own Temporal variables.
func TestNeedsAreDeclared(t *testing.T) {
	flags, err := Declared()
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, f := range flags {
		declared[f.Tag.Envs[0]] = true
	}
	for _, p := range []string{ProcessWorker, ProcessListener, ProcessCodec, ProcessSetup} {
		for _, need := range Needs(p) {
			for name := range strings.SplitSeq(need, "|") {
				if !declared[name] {
					t.Errorf("%s needs %s, which Config does not declare", p, name)
				}
			}
		}
	}
}
