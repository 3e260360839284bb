package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The bare workflows: one that returns at once, and one that sleeps until an instant, then runs
// one activity that does nothing but count.
func noop(workflow.Context) error { return nil }

func timerNoop(ctx workflow.Context, at time.Time) error {
	if err := workflow.Sleep(ctx, max(at.Sub(workflow.Now(ctx)), time.Millisecond)); err != nil {
		return err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	return workflow.ExecuteActivity(ctx, "Count").Get(ctx, nil)
}

const (
	rawQueue     = "bench-raw"
	journeyQueue = "careclock"
	// listenerConsumer is the durable consumer of bench's listener.
	listenerConsumer = "careclock-listener"
)

var counted atomic.Int64

// startRawWorker starts the bare workflows' worker with the options of careclock's worker on
// this stack, after stopping the one it started before.
func (b *bench) startRawWorker() error {
	if b.rawWorker != nil {
		b.rawWorker.Stop()
		b.rawWorker = nil
	}
	w := worker.New(b.s.Client, rawQueue, b.s.WorkerOptions())
	w.RegisterWorkflowWithOptions(noop, workflow.RegisterOptions{Name: "noop"})
	w.RegisterWorkflowWithOptions(timerNoop, workflow.RegisterOptions{Name: "timerNoop"})
	w.RegisterActivityWithOptions(func(context.Context) error { counted.Add(1); return nil }, activity.RegisterOptions{Name: "Count"})
	if err := w.Start(); err != nil {
		return err
	}
	b.rawWorker = w
	return nil
}

// startAll starts n bare workflows with c in flight and returns how long it took.
func (b *bench) startAll(ctx context.Context, n int, prefix, workflowType string, args ...any) (time.Duration, error) {
	return b.inFlight(n, func(i int) error {
		_, err := b.s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: rawID(prefix, i), TaskQueue: rawQueue,
		}, workflowType, args...)
		return err
	})
}

// rawID is the workflow id startAll gives the i-th bare workflow it starts with prefix.
func rawID(prefix string, i int) string { return fmt.Sprintf("%s-%d", prefix, i) }

// inFlight calls start for 0 to n-1 with c calls in flight, stops at the first error, and returns
// how long it took.
func (b *bench) inFlight(n int, start func(i int) error) (time.Duration, error) {
	begin := time.Now()
	ids := make(chan int)
	errs := make(chan error, b.c)
	var wg sync.WaitGroup
	for range b.c {
		wg.Go(func() {
			for i := range ids {
				if err := start(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for i := range n {
		select {
		case ids <- i:
		case err = <-errs:
			break feed
		}
	}
	close(ids)
	wg.Wait()
	close(errs)
	return time.Since(begin), errors.Join(err, <-errs)
}
