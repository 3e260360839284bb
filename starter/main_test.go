package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/careclock/careclock/config"
)

// starter -h and starter COMMAND -h exit 0 and show every flag and argument the command takes:
// the usage is generated from the same declarations the parser reads.
func TestEveryCommandHasHelp(t *testing.T) {
	var cli commandLine
	k, err := kong.New(&cli, vars)
	if err != nil {
		t.Fatal(err)
	}
	commands := [][]string{{}}
	for _, n := range k.Model.Children {
		commands = append(commands, []string{n.Name})
	}
	if len(commands) != 19 {
		t.Fatalf("%d commands", len(commands)-1)
	}
	for _, node := range append([]*kong.Node{k.Model.Node}, k.Model.Children...) {
		args := []string{"-h"}
		if node.Type == kong.CommandNode {
			args = []string{node.Name, "-h"}
		}
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out bytes.Buffer
			code := -1
			var cli commandLine
			_, _ = config.ParseArgs(&cli, "starter", description, args, &out, func(c int) {
				if code < 0 {
					code = c
				}
			}, vars)
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out.String())
			}
			for _, f := range node.Flags {
				if !f.Hidden && !strings.Contains(out.String(), "--"+f.Name) {
					t.Errorf("no --%s in:\n%s", f.Name, out.String())
				}
			}
			for _, p := range node.Positional {
				if !strings.Contains(out.String(), "<"+p.Name+">") {
					t.Errorf("no <%s> in:\n%s", p.Name, out.String())
				}
			}
			for _, c := range node.Children {
				if !strings.Contains(out.String(), c.Name) {
					t.Errorf("no %s in:\n%s", c.Name, out.String())
				}
			}
			if strings.Contains(out.String(), "${") {
				t.Errorf("uninterpolated help:\n%s", out.String())
			}
		})
	}
}

// A usage error names the problem and is not a run.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"bogus"}, {"find", "--bogus"}, {"send"}, {"plan"}, {"secrets"}, {"describe"}} {
		var out bytes.Buffer
		if err := runStarter(args, strings.NewReader(""), &out); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
