package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/careclock/careclock/config"
	"github.com/careclock/careclock/connect"
	"github.com/careclock/careclock/rules"
	"github.com/careclock/careclock/workflows"
)

// replan sends the dated policy to running journeys, each as an update (workflows.UpdateReplan).
// A journey keeps the policy it started with until it receives one this way; it then takes the
// block in force on its starting fact's date and re-plans from its facts (events already published are not sent again). A journey whose policy does not read
// refuses it with the reason, and replan names it. Each run of replan has an update id of its
// own, so sending policy A, then B, then A again leaves every journey on A; a retried call
// within one run is applied once.
type replanCmd struct {
	Journey string `placeholder:"JOURNEY" help:"Only journeys of this type: ${journeys} (default: every journey)."`
}

func (c replanCmd) Run(cfg *config.Config, st *streams) error {
	if c.Journey != "" && !slices.Contains(workflows.Journeys, c.Journey) {
		return fmt.Errorf("--journey: want one of %v", workflows.Journeys)
	}
	book, err := cfg.Policies()
	if err != nil {
		return err
	}
	// The whole dated policy, every block with every value: each journey takes the block in
	// force on its own starting fact's date.
	data, err := rules.MarshalBook(book)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	id := fmt.Sprintf("replan-%s-%s", time.Now().UTC().Format("20060102T150405.000000000Z"), hex.EncodeToString(sum[:8]))
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
	r := replanRun{id: id, policy: data, out: st.out}
	for _, j := range found {
		if err := r.send(ctx, tc, j.WorkflowID); err != nil {
			return fmt.Errorf("after %d of %d: %s: %w", r.done+r.ended+len(r.refused), len(found), j.WorkflowID, err)
		}
		if n := r.done + r.ended + len(r.refused); n%100 == 0 {
			fmt.Fprintf(st.out, "re-planned %d of %d journeys…\n", n, len(found))
		}
	}
	return r.report()
}

// replanRun is one run of replan: its update id, the policy, and what each journey answered.
type replanRun struct {
	id     string
	policy json.RawMessage
	out    io.Writer
	// done counts the journeys that took the policy, ended those that ended meanwhile.
	done, ended int
	// refused names each journey that refused it, with the reason.
	refused []string
}

// updater is the part of client.Client replan uses.
type updater interface {
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
}

// send gives one journey the policy and records its answer; an error is one that stops the run
// (Temporal unreachable).
func (r *replanRun) send(ctx context.Context, tc updater, workflowID string) error {
	h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateID: r.id, UpdateName: workflows.UpdateReplan,
		Args: []any{r.policy}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	var notFound *serviceerror.NotFound
	var app *temporal.ApplicationError
	switch {
	case err == nil:
		r.done++
	case errors.As(err, &notFound):
		r.ended++ // it ended between the list and the update
	case errors.As(err, &app):
		r.refused = append(r.refused, workflowID+": "+app.Message())
	default:
		return err
	}
	return nil
}

// report prints what the run did; an error when any journey refused the policy.
func (r *replanRun) report() error {
	fmt.Fprintf(r.out, "re-planned %d journeys (update %s)", r.done, r.id)
	if r.ended > 0 {
		fmt.Fprintf(r.out, "; %d ended meanwhile", r.ended)
	}
	fmt.Fprintln(r.out)
	if len(r.refused) == 0 {
		return nil
	}
	fmt.Fprintf(r.out, "%d journeys refused the policy:\n", len(r.refused))
	for _, line := range r.refused {
		fmt.Fprintln(r.out, "  "+line)
	}
	return fmt.Errorf("%d journeys refused the policy; they keep the one they had", len(r.refused))
}
