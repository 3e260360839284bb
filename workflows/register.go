package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// Registry is the part of a Temporal worker that takes workflow registrations.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Register registers every journey under its journey name.
func Register(r Registry) {
	r.RegisterWorkflowWithOptions(Reimbursement, workflow.RegisterOptions{Name: JourneyReimbursement})
}
