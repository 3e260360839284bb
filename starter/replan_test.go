package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// fakeUpdater answers each journey's replan update as the test says.
type fakeUpdater struct {
	answers map[string]error
	ids     []string
}

func (f *fakeUpdater) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.ids = append(f.ids, o.UpdateID)
	err := f.answers[o.WorkflowID]
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return doneHandle{err: err}, nil // a refusal is the update's outcome
	}
	if err != nil {
		return nil, err
	}
	return doneHandle{}, nil
}

// doneHandle is a completed update with its outcome.
type doneHandle struct {
	client.WorkflowUpdateHandle
	err error
}

func (h doneHandle) Get(context.Context, any) error { return h.err }

// replan reports each journey that refused the policy with its reason and fails; journeys that
// ended meanwhile are counted, not failures; an unreachable Temporal stops the run.
func TestReplanReportsRefusals(t *testing.T) {
	f := &fakeUpdater{answers: map[string]error{
		"reimbursement-a": nil,
		"ageout-b":        serviceerror.NewNotFound("workflow execution already completed"),
		"coc-c":           temporal.NewApplicationError("reimbursement.dueDays: must be a whole number of days from 1 to 3650", ""),
	}}
	var out bytes.Buffer
	r := replanRun{id: "replan-1", out: &out}
	for _, id := range []string{"reimbursement-a", "ageout-b", "coc-c"} {
		if err := r.send(context.Background(), f, id); err != nil {
			t.Fatal(err)
		}
	}
	err := r.report()
	if err == nil || err.Error() != "1 journeys refused the policy; they keep the one they had" {
		t.Errorf("report: %v", err)
	}
	want := "re-planned 1 journeys (update replan-1); 1 ended meanwhile\n" +
		"1 journeys refused the policy:\n" +
		"  coc-c: reimbursement.dueDays: must be a whole number of days from 1 to 3650\n"
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
	if strings.Join(f.ids, " ") != "replan-1 replan-1 replan-1" {
		t.Errorf("update ids %v, want the run's one id for every journey", f.ids)
	}
	f.answers["down"] = serviceerror.NewUnavailable("connection refused")
	if err := r.send(context.Background(), f, "down"); !errors.As(err, new(*serviceerror.Unavailable)) {
		t.Errorf("Temporal unreachable: %v, want the error", err)
	}
}
