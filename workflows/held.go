package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/careclock/careclock/events"
)

// changeFutureFacts versions when a fact dated in the future takes effect (docs/rules.md, Time:
// a fact takes effect on its own date, not on its arrival). From versionFutureFacts a journey
// holds such an event and applies it at the start of its date, so that what falls due before it
// still goes out (a disenrollment effective in 20 days leaves the notice due in 10 published).
// Before it, the journey applied it on arrival. Asked only when a fact dated in the future
// arrives, the one case where the answer differs.
const (
	changeFutureFacts  = "future-facts"
	versionFutureFacts = workflow.Version(1)
)

// HeldFact is an inbound event a journey holds until the instant its fact takes effect.
type HeldFact struct {
	At    time.Time    `json:"at"`
	Event events.Event `json:"event"`
}

// holdsFutureFacts reports whether the journey holds a fact dated in the future until its date.
func (r *runner[F, PF]) holdsFutureFacts(ctx workflow.Context) bool {
	return r.versions.get(ctx, changeFutureFacts, versionFutureFacts) >= versionFutureFacts
}

// hold keeps ev until at, after the facts held that take effect no later.
func (r *runner[F, PF]) hold(ctx workflow.Context, ev events.Event, at time.Time) {
	i := slices.IndexFunc(r.s.Held, func(h HeldFact) bool { return h.At.After(at) })
	if i < 0 {
		i = len(r.s.Held)
	}
	r.s.Held = slices.Insert(r.s.Held, i, HeldFact{At: at, Event: ev})
	workflow.GetLogger(ctx).Info("inbound event dated in the future; held until its date", "type", ev.Type, "takes effect", at)
}

// applyHeld applies, in order, the held facts whose instant has come.
func (r *runner[F, PF]) applyHeld(ctx workflow.Context) error {
	for len(r.s.Held) > 0 && !r.s.Held[0].At.After(workflow.Now(ctx)) {
		h := r.s.Held[0]
		r.s.Held = r.s.Held[1:]
		if r.ended() {
			continue // the journey ended before the fact's date
		}
		if err := r.applyFact(ctx, h.Event); err != nil {
			return err
		}
	}
	return nil
}
