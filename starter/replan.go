package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/workflows"
)

// replan sends a policy to running journeys. A journey keeps the policy it started with until it
// receives one this way; it then re-plans from its facts (events already published are not sent
// again). The event id is a hash of the policy, so sending the same policy twice changes nothing.
type replanCmd struct {
	Journey string `placeholder:"JOURNEY" help:"Only journeys of this type: ${journeys} (default: every journey)."`
}

func (c replanCmd) Run(cfg *config.Config, st *streams) error {
	if c.Journey != "" && !slices.Contains(workflows.Journeys, c.Journey) {
		return fmt.Errorf("--journey: want one of %v", workflows.Journeys)
	}
	policy, err := cfg.Policy()
	if err != nil {
		return err
	}
	data, err := json.Marshal(policy)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	ev := events.Event{
		SpecVersion: "1.0", ID: "policy-" + hex.EncodeToString(sum[:16]), Source: "/careclock/starter/replan",
		Type: workflows.EventPolicyChanged, Time: time.Now().UTC().Format(time.RFC3339), Data: data,
	}
	log := cfg.Logger("starter")
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	tc, err := connect.Temporal(ctx, *cfg, log, nil)
	if err != nil {
		return err
	}
	defer tc.Close()

	found, err := workflows.List(ctx, tc, workflows.Filter{Journey: c.Journey, Open: true}, nil)
	if err != nil {
		return err
	}
	done := 0
	for _, j := range found {
		if err := tc.SignalWorkflow(ctx, j.WorkflowID, "", workflows.SignalEvent, ev); err != nil {
			return fmt.Errorf("after %d of %d: signal %s: %w", done, len(found), j.WorkflowID, err)
		}
		done++
		if done%100 == 0 {
			fmt.Fprintf(st.out, "re-planned %d of %d journeys…\n", done, len(found))
		}
	}
	fmt.Fprintf(st.out, "re-planned %d journeys with policy %s\n", done, ev.ID)
	return nil
}
