package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

type planOutput struct {
	Journeys []plannedJourney `json:"journeys"`
	// Signals and Queries say which open journeys an event that starts nothing would reach.
	Signals []string `json:"signals,omitempty"`
	Queries []string `json:"queries,omitempty"`
}

type plannedJourney struct {
	Journey    string          `json:"journey"`
	WorkflowID string          `json:"workflowId"`
	Deadline   rules.Date      `json:"deadline"`
	Events     []rules.Planned `json:"events"`
}

// plan prints, without starting anything, the journeys one inbound event would start and their
// scheduled events, computed by the code the workflows run.
func plan(args []string) error { return runPlan(args, os.Stdin, os.Stdout) }

func runPlan(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	nowFlag := fs.String("now", "", "the instant to plan at, RFC 3339 (default: now)")
	policyFlag := fs.String("policy", "", "policy file (default: CARECLOCK_POLICY_FILE, else the built-in policy)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("want one FILE, or - for standard input")
	}
	now := time.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			return fmt.Errorf("--now: want RFC 3339, such as 2026-11-30T10:00:00-08:00")
		}
		now = t
	}
	cfg, policy, err := configWithPolicy(*policyFlag)
	if err != nil {
		return err
	}
	keyer, err := cfg.Keyer(true)
	if err != nil {
		return err
	}
	raw, err := readFrom(fs.Arg(0), stdin)
	if err != nil {
		return err
	}
	ev, payload, err := events.Decode(raw, policy.Today(now))
	if err != nil {
		return fmt.Errorf("invalid event: %w", err)
	}
	route, err := workflows.RouteEvent(ev, payload, keyer, policy)
	if err != nil {
		return fmt.Errorf("%s: %w", ev.Type, err)
	}
	out := planOutput{Journeys: []plannedJourney{}, Signals: route.Signals, Queries: route.Queries}
	for _, s := range route.Starts {
		// What a journey publishes at once comes first, at now; then its dated events.
		planned := []rules.Planned{}
		for _, n := range s.Opening {
			planned = append(planned, rules.Planned{Type: n.Type, Date: n.On, At: now.In(policy.Zone())})
		}
		out.Journeys = append(out.Journeys, plannedJourney{
			Journey: s.Journey, WorkflowID: s.WorkflowID, Deadline: s.Deadline,
			Events: append(planned, policy.ForJourney(s.WorkflowID).Preview(s.Dues, now)...),
		})
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func readInput(name string) ([]byte, error) { return readFrom(name, os.Stdin) }

func readFrom(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

// configWithPolicy reads the configuration and the policy, from the --policy file when given.
func configWithPolicy(policyFile string) (config.Config, rules.Policy, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return config.Config{}, rules.Policy{}, err
	}
	if policyFile != "" {
		cfg.PolicyFile = policyFile
	}
	policy, err := cfg.Policy()
	return cfg, policy, err
}
