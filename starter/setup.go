package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/careclock/careclock/config"
)

// setup creates the NATS streams and registers careclock's search attributes in the Temporal
// namespace. It is idempotent; run it once per environment and after upgrades.
func setup(args []string) error {
	if len(args) > 0 {
		return errors.New("setup takes no arguments")
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	log := cfg.Logger("setup")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts, err := config.TemporalOptions(log)
	if err != nil {
		return err
	}
	tc, err := config.Dial(ctx, opts)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := config.EnsureSearchAttributes(ctx, tc, namespaceOf(opts.Namespace)); err != nil {
		return err
	}
	nc, js, err := cfg.ConnectNATS(config.RoleAdmin, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := config.EnsureStreams(ctx, js, cfg.StreamReplicas); err != nil {
		return err
	}
	fmt.Println("streams and search attributes are in place")
	return nil
}

func namespaceOf(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}
