// Command starter is careclock's front door: it runs the enrollment listener, previews the plan
// of an inbound event, sends events to NATS and sets up streams and search attributes.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: starter COMMAND [flags]

commands:
  listen                                    run the enrollment listener (enrollment.> → journeys)
  plan [--now RFC3339] [--policy FILE] FILE|-  print the journeys an event would start, with their dated events
  send FILE...                              publish inbound events (CloudEvents JSON) to NATS
  setup                                     create the NATS streams and register the search attributes
  watch [--subject journeys.>]              print what arrives on a subject (journey events, dead letters)
  replan [--journey NAME] [--policy FILE]   send the current policy to running journeys, which re-plan

Configuration comes from the environment: see README.md, "Configuration".`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	commands := map[string]func([]string) error{
		"listen": listen,
		"plan":   plan,
		"send":   send,
		"setup":  setup,
		"watch":  watch,
		"replan": replan,
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "starter: unknown command %q\n%s\n", os.Args[1], usage)
		os.Exit(2)
	}
	if err := cmd(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "starter %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
