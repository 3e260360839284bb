// Command starter is careclock's front door: it runs the enrollment listener, previews the plan
// of an inbound event, sends events to NATS, sets up streams and search attributes, and answers
// operators' questions about journeys.
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/willabides/kongplete"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/workflows"
)

const description = `careclock's front door. Every flag is also an environment variable, shown beside it; "starter COMMAND -h" shows a command's own flags.`

// commandLine is starter's commands, with every setting of config as flags shared by all.
type commandLine struct {
	config.Config `embed:""`

	Listen listenCmd `cmd:"" group:"Run" help:"Run the enrollment listener (enrollment.> → journeys) until interrupted."`
	Codec  codecCmd  `cmd:"" group:"Run" help:"Serve the payload codec for the Temporal UI; with --ui, the UI too, behind the same token."`

	Setup   setupCmd   `cmd:"" group:"Set up" help:"Register the namespace and search attributes, and create the NATS streams (idempotent)."`
	Secrets secretsCmd `cmd:"" group:"Set up" help:"Create a deployment's missing keys, tokens and NATS seeds; write the NATS servers' authorization."`
	Health  healthCmd  `cmd:"" group:"Set up" help:"Exit 0 if a careclock /healthz answers 200 (container health checks)."`
	Backup  backupCmd  `cmd:"" group:"Set up" help:"Write a stream's messages to a file encrypted with the payload key (nats stream backup writes them in clear)."`
	Restore restoreCmd `cmd:"" group:"Set up" help:"Publish a backup's messages again, in order, with their headers."`

	Plan   planCmd   `cmd:"" group:"Events" help:"Print the journeys an event would start, with their dated events, without starting anything."`
	Send   sendCmd   `cmd:"" group:"Events" help:"Publish inbound events (CloudEvents JSON) to NATS."`
	Import importCmd `cmd:"" group:"Events" help:"Take in the plan's open work at go-live (CloudEvents or CSV): start its journeys without sending what fell due before the go-live date."`
	Watch  watchCmd  `cmd:"" group:"Events" help:"Print what arrives on a subject (journey events, dead letters) until interrupted."`
	Replan replanCmd `cmd:"" group:"Events" help:"Send the current policy to running journeys, which re-plan."`

	List     listCmd     `cmd:"" group:"Operators" help:"Open journeys, next event first, with a link to each in the UI."`
	Describe describeCmd `cmd:"" group:"Operators" help:"A journey's facts, what it published and skipped, and what is ahead."`
	Find     findCmd     `cmd:"" group:"Operators" help:"Every journey of members whose ids are read from standard input (one per line), or --member."`
	Report   reportCmd   `cmd:"" group:"Operators" help:"Deadlines met on time and late, by journey and month or quarter: a table, CSV, JSON or one HTML page."`
	Audit    auditCmd    `cmd:"" group:"Operators" help:"Who saw a journey, or what a person saw: every decode of PHI recorded for a signed-in operator (the AUDIT stream)."`

	InstallCompletions kongplete.InstallCompletions `cmd:"" help:"Print the shell code that completes starter's commands and flags (bash, zsh or fish, your login shell); add it to your shell's start-up file."`
}

// vars are the values starter's help quotes.
var vars = kong.Vars{"journeys": strings.Join(workflows.Journeys, ", "), "statuses": strings.Join(workflows.Statuses, ", "),
	"listLimit": strconv.Itoa(workflows.ListLimit)}

// streams are a command's standard input and output.
type streams struct {
	in  io.Reader
	out io.Writer
}

func main() {
	var cli commandLine
	ctx := config.Parse(&cli, "starter", description, vars)
	if err := ctx.Run(&cli.Config, &streams{os.Stdin, os.Stdout}); err != nil {
		fmt.Fprintf(os.Stderr, "starter %s: %v\n", strings.Fields(ctx.Command())[0], err)
		os.Exit(1)
	}
}

// runStarter runs starter's command line args with the given standard input and output (tests).
func runStarter(args []string, in io.Reader, out io.Writer) error {
	var cli commandLine
	ctx, err := config.ParseArgs(&cli, "starter", description, args, out, func(int) {}, vars)
	if err != nil {
		return err
	}
	return ctx.Run(&cli.Config, &streams{in, out})
}
