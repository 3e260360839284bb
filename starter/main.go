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
  codec [--addr HOST:PORT] [--ui URL] [--tls-cert F --tls-key F]
                                            serve the payload codec for the Temporal UI (CARECLOCK_CODEC_TOKENS_FILE);
                                            with --ui, the UI too, behind the same token
  secrets --dir DIR [--nats-auth FILE] [--ui-token]
                                            create a deployment's missing keys, tokens and NATS seeds; write the
                                            NATS servers' authorization from the code's roles; print the UI token
  health URL                                exit 0 if a careclock /healthz answers 200 (container health checks)

operators (each prints a table, or JSON with --json, with a link to each journey in the UI):
  list [--journey J] [--status S] [--deadline-before D] [--deadline-after D] [--at-risk DAYS] [--all]
                                            open journeys, next event first
  describe WORKFLOW_ID                      a journey's facts, what it published, skipped, and what is ahead
  find --member ID                          every journey of one member (found by the member's keyed hash)

Configuration comes from the environment: see README.md, "Configuration".`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	commands := map[string]func([]string) error{
		"listen":   listen,
		"plan":     plan,
		"send":     send,
		"setup":    setup,
		"watch":    watch,
		"replan":   replan,
		"codec":    codec,
		"list":     list,
		"describe": describe,
		"find":     find,
		"secrets":  func(args []string) error { return secrets(args, os.Stdout) },
		"health":   func(args []string) error { return health(args, os.Stdout) },
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
