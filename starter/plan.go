package main

import (
	"encoding/json"
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
	// Signals and Directories say which open journeys an event that starts nothing would reach:
	// those it signals by id, and the directory (of a member or provider) that hands a
	// member-wide fact to the journeys it concerns.
	Signals     []string `json:"signals,omitempty"`
	Directories []string `json:"directories,omitempty"`
}

type plannedJourney struct {
	Journey    string `json:"journey"`
	WorkflowID string `json:"workflowId"`
	// PolicyFrom names the policy block the journey takes: the date it is in force from
	// ("beginning" for the first), on the date of the fact that starts the journey.
	PolicyFrom string     `json:"policyFrom"`
	Deadline   rules.Date `json:"deadline"`
	// DeadlineAt is the deadline instant of a journey whose clock is one (an expedited
	// authorization), in the policy's zone.
	DeadlineAt time.Time       `json:"deadlineAt,omitzero"`
	Events     []rules.Planned `json:"events"`
}

type planCmd struct {
	Now  string `placeholder:"RFC3339" help:"The instant to plan at, such as 2026-11-30T10:00:00-08:00 (default: now)."`
	File string `arg:"" help:"The event (CloudEvents JSON); - for standard input."`
}

// Run prints, without starting anything, the journeys one inbound event would start and their
// scheduled events, computed by the code the workflows run.
func (c planCmd) Run(cfg *config.Config, st *streams) error {
	stdout := st.out
	now := time.Now()
	if c.Now != "" {
		t, err := time.Parse(time.RFC3339, c.Now)
		if err != nil {
			return fmt.Errorf("--now: want RFC 3339, such as 2026-11-30T10:00:00-08:00")
		}
		now = t
	}
	book, err := cfg.Policies()
	if err != nil {
		return err
	}
	policy := book.Latest()
	keyer, err := cfg.Keyer(true)
	if err != nil {
		return err
	}
	raw, err := readFrom(c.File, st.in)
	if err != nil {
		return err
	}
	ev, payload, err := events.Decode(raw, policy.Today(now))
	if err != nil {
		return fmt.Errorf("invalid event: %w", err)
	}
	route, err := workflows.RouteEvent(ev, payload, keyer, book)
	if err != nil {
		return fmt.Errorf("%s: %w", ev.Type, err)
	}
	out := planOutput{Journeys: []plannedJourney{}, Signals: route.Signals}
	for _, d := range route.Directories {
		out.Directories = append(out.Directories, d.WorkflowID())
	}
	for _, s := range route.Starts {
		// What a journey publishes at once comes first, at now; then its dated events.
		planned := []rules.Planned{}
		for _, n := range s.Opening {
			planned = append(planned, rules.Planned{Type: n.Type, Date: n.On, At: now.In(policy.Zone())})
		}
		out.Journeys = append(out.Journeys, plannedJourney{
			Journey: s.Journey, WorkflowID: s.WorkflowID, PolicyFrom: rules.BlockName(s.PolicyFrom), Deadline: s.Deadline, DeadlineAt: s.DeadlineAt,
			Events: append(planned, s.Policy().Preview(s.Dues, now)...),
		})
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// readFrom reads the file name, or in for -.
func readFrom(name string, in io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(in)
	}
	return os.ReadFile(name)
}
