package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/activities"
	"github.com/careclock/careclock/events"
	"github.com/careclock/careclock/rules"
)

// localPublishOptions publish a journey event from the workflow task that decided it. Retries
// stay in the worker (each backoff is shorter than the workflow task timeout); after 30 s the
// event is handed over to the publish activity, which retries on the server without limit.
var localPublishOptions = workflow.LocalActivityOptions{
	ScheduleToCloseTimeout: 30 * time.Second,
	StartToCloseTimeout:    10 * time.Second,
	RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 4 * time.Second},
}

var publishOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	// Publishing retries until NATS is back: a journey event is never given up on. Its id is
	// deterministic, so a retry after a lost acknowledgement is dropped by JetStream.
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
}

// act publishes a journey's notices and starts the journeys they name, in order. seq tells apart
// the notices of different inbound events (0 for the journey's opening notices).
func (r *runner[F, PF]) act(ctx workflow.Context, notices []Notice, seq int) error {
	deadline := r.facts().deadline(r.s.Policy)
	for i, n := range notices {
		if n.Start != nil {
			if err := r.startJourney(ctx, *n.Start); err != nil {
				return err
			}
			continue
		}
		key := fmt.Sprintf("%s@%s#%d.%d", n.Type, n.On, seq, i)
		if n.On.Before(r.s.GoLive) {
			r.s.Skipped = append(r.s.Skipped, Record{Key: key, Type: n.Type, On: n.On, At: workflow.Now(ctx), BeforeGoLive: true})
			workflow.GetLogger(ctx).Info("notice skipped: dated before go-live", "event", n.Type, "date", n.On.String())
			continue
		}
		o := events.Occurrence{
			Type: n.Type, On: n.On, Deadline: deadline, At: workflow.Now(ctx), Fields: n.Fields, Key: key,
		}
		if err := r.publish(ctx, o); err != nil {
			return err
		}
	}
	if status := r.facts().ended(); status != "" {
		r.s.Status = status
	}
	return nil
}

func (r *runner[F, PF]) publishDue(ctx workflow.Context, due []rules.Occurrence) error {
	for _, o := range due {
		var fields map[string]any
		if o.Fields != nil {
			fields = o.Fields(o.On)
		}
		err := r.publish(ctx, events.Occurrence{
			Type: o.Type, Key: o.Key(), On: o.On, Deadline: o.Deadline, Late: o.Late, At: o.At, Fields: fields,
		})
		if err != nil {
			return err
		}
		if o.Final {
			r.s.Status = StatusClosed
			return nil
		}
	}
	return nil
}

func (r *runner[F, PF]) publish(ctx workflow.Context, o events.Occurrence) error {
	o.Journey = r.journey
	o.WorkflowID = workflow.GetInfo(ctx).WorkflowExecution.ID
	o.MemberID = r.facts().memberID()
	o.DeadlineAt = r.deadlineAt()
	o.ID = r.eventID(ctx, o)
	r.stamp(ctx, &o)
	ev := events.NewJourneyEvent(o)
	if err := r.send(ctx, ev); err != nil {
		return fmt.Errorf("publish %s: %w", o.Type, err)
	}
	r.s.Published = append(r.s.Published, Record{Key: o.Key, Type: o.Type, On: o.On, At: o.At, Late: o.Late})
	return nil
}

// deadlineAt is the journey's deadline instant when its clock is one, else zero.
func (r *runner[F, PF]) deadlineAt() time.Time { return deadlineAt(r.facts(), r.s.Policy) }

// eventID is the id of the journey event o: events.JourneyEventID from versionNumberedIDs,
// else "" (NewJourneyEvent's old form). A journey started before the change asks GetVersion at
// its first publication in a new workflow task; its recorded history, replayed, keeps the old form.
func (r *runner[F, PF]) eventID(ctx workflow.Context, o events.Occurrence) string {
	if r.version >= versionLocalPublish {
		return ""
	}
	if r.versions.get(ctx, changeEventIDs, versionNumberedIDs) < versionNumberedIDs {
		return ""
	}
	n := 1
	for _, p := range r.s.Published {
		if p.Type == o.Type && p.On == o.On {
			n++
		}
	}
	return events.JourneyEventIDOfRun(o.WorkflowID, o.Type, o.On, n, r.s.Run)
}

// stamp sets the instant the event is published, from versionPublishTime (changeEventTime). A
// journey started before the change asks GetVersion at its first publication in a new workflow
// task; its recorded history, replayed, keeps the old meaning.
func (r *runner[F, PF]) stamp(ctx workflow.Context, o *events.Occurrence) {
	if r.version >= versionLocalPublish {
		return
	}
	if r.versions.get(ctx, changeEventTime, versionPublishTime) >= versionPublishTime {
		o.PublishedAt = workflow.Now(ctx).In(r.s.Policy.Zone())
	}
}

// send publishes a journey event: at versionLocalPublish by a local activity first, and
// through the publish activity if that fails; before it, through the publish activity. Both
// carry the event's id as Nats-Msg-Id, so an event the local activity stored before it failed
// is not stored again.
func (r *runner[F, PF]) send(ctx workflow.Context, ev events.JourneyEvent) error {
	var a *activities.Activities
	if r.version >= versionLocalPublish {
		err := workflow.ExecuteLocalActivity(ctx, a.Publish, ev).Get(ctx, nil)
		var cancelled *temporal.CanceledError
		if err == nil || errors.As(err, &cancelled) {
			return err
		}
		workflow.GetLogger(ctx).Warn("journey event not published in the workflow task; handing it to the publish activity",
			"event", ev.Type, "error", err)
	}
	return workflow.ExecuteActivity(ctx, a.Publish, ev).Get(ctx, nil)
}

func record(o rules.Occurrence) Record {
	return Record{Key: o.Key(), Type: o.Type, On: o.On, At: o.At, Late: o.Late, Superseded: o.Superseded, Closed: o.Closed, BeforeGoLive: o.BeforeGoLive}
}
