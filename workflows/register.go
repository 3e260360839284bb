package workflows

import (
	"cmp"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/activities"
)

// Registry is the part of a Temporal worker that takes workflow registrations.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Register registers every journey under its journey name.
func Register(r Registry) {
	r.RegisterWorkflowWithOptions(CCSReferral, workflow.RegisterOptions{Name: JourneyCCSReferral})
	r.RegisterWorkflowWithOptions(CoC, workflow.RegisterOptions{Name: JourneyCoC})
	r.RegisterWorkflowWithOptions(AgeOut, workflow.RegisterOptions{Name: JourneyAgeOut})
	r.RegisterWorkflowWithOptions(Postpartum, workflow.RegisterOptions{Name: JourneyPostpartum})
	r.RegisterWorkflowWithOptions(Reimbursement, workflow.RegisterOptions{Name: JourneyReimbursement})
	r.RegisterWorkflowWithOptions(Authorization, workflow.RegisterOptions{Name: JourneyAuthorization})
	r.RegisterWorkflowWithOptions(Grievance, workflow.RegisterOptions{Name: JourneyGrievance})
	r.RegisterWorkflowWithOptions(Appeal, workflow.RegisterOptions{Name: JourneyAppeal})
	r.RegisterWorkflowWithOptions(Directory, workflow.RegisterOptions{Name: DirectoryMember})
	r.RegisterWorkflowWithOptions(Directory, workflow.RegisterOptions{Name: DirectoryProvider})
}

// NewWorker returns a worker on taskQueue with every journey and the activities registered.
func NewWorker(c client.Client, taskQueue string, a *activities.Activities, opts worker.Options) worker.Worker {
	w := worker.New(c, taskQueue, opts)
	Register(w)
	w.RegisterActivity(a)
	w.RegisterActivity(&DirectoryActivities{Client: c})
	return w
}

// WorkerOptions are careclock's worker settings:
//   - more pollers than the SDK's two per task type, so that a storm of timers due at one
//     instant is not held back by polling round trips;
//   - a sticky schedule-to-start timeout of 30 s (the SDK's is 5 s). When a storm queues more
//     workflow tasks on a worker's sticky queue than it is handed in 5 s, each of them times
//     out, is written again to the shared queue, and the extra writes slow the storm further
//     (docs/performance.md, Tuning). A worker that is gone costs no 30 s wait for new tasks:
//     the server stops using a sticky queue that has had no poller for 10 s;
//   - new journeys publish through activity tasks (PreferVersions).
func WorkerOptions() worker.Options {
	return worker.Options{
		MaxConcurrentWorkflowTaskPollers: 8,
		MaxConcurrentActivityTaskPollers: 8,
		StickyScheduleToStartTimeout:     30 * time.Second,
		PreferredVersionProvider:         PreferVersions(),
	}
}

// PreferVersions is the PreferredVersionProvider of careclock's workers: the version a new
// journey records for each change. It starts journeys at versionChangedUpserts, publishing
// through activity tasks. Publishing by local activity (versionLocalPublish) was an option
// until bench found it slower in storms on the dev stack and no faster on PostgreSQL
// (docs/performance.md); journeys started with it keep it, and the code stays for them.
func PreferVersions() worker.PreferredVersionProvider { return preferVersions(false) }

// preferVersions is PreferVersions, or with localPublish the preference of the workers that
// started journeys publishing by local activity (the tests' way to start such journeys).
func preferVersions(localPublish bool) worker.PreferredVersionProvider {
	return func(in worker.PreferredVersionProviderInput) *worker.VersionPreference {
		if in.ChangeID == changeLocalPublish && !localPublish {
			return &worker.VersionPreference{Version: versionChangedUpserts}
		}
		return nil // the newest version
	}
}

// DefaultCacheSize is how many journeys a worker process keeps in memory between their workflow
// tasks: the SDK's sticky cache, whose own default is 10,000. Each cached journey costs heap
// (docs/performance.md, Tuning), so the SDK's default would let a worker's memory grow with
// every journey it runs.
// A journey sleeps for days between tasks and is seldom still cached when it wakes; one that is
// not replays its history, a few dozen events, which is cheap.
const DefaultCacheSize = 2000

// SetCacheSize sets the process's journey cache (0: DefaultCacheSize). It applies to every
// worker in the process and must be called before the first is created.
func SetCacheSize(n int) { worker.SetStickyWorkflowCacheSize(cmp.Or(n, DefaultCacheSize)) }
