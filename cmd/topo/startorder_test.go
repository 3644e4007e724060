package main

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/topo-zmq/topo/runtime"
)

// TestPlanStartOrderIsApplyOrder: the start order `topo plan -json`
// prints is the order in which a run binds the instances (its "starting"
// events), for a file whose order differs from it.
func TestPlanStartOrderIsApplyOrder(t *testing.T) {
	src := `
node "sink" {
  type   = "count"
  expect = 4
  socket "in" {
    type    = "PULL"
    connect = [node.gen.out]
  }
}
node "gen" {
  type     = "generate"
  messages = 4
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:0"]
  }
}
`
	r := runCLI(t, src, nil, "plan", "-json", "-")
	var plan struct {
		StartOrder []string `json:"start_order"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); r.code != 0 || err != nil {
		t.Fatalf("plan: %v %v", err, r)
	}
	if plan.StartOrder[0] != "gen" {
		t.Fatalf("plan start order %v: want the binder gen first (the test needs an order unlike the file's)", plan.StartOrder)
	}
	reg, err := builtinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var bound []string
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rt, err := runtime.Load(ctx, "order.hcl", []byte(src), runtime.Options{Registry: reg, Stdout: io.Discard, OnEvent: func(e runtime.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == runtime.EventStarting && !slices.Contains(bound, e.Instance) {
			bound = append(bound, e.Instance)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	err = rt.Run(ctx)
	if err != nil || ctx.Err() != nil {
		t.Fatalf("run: %v (deadline: %v)", err, ctx.Err())
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(bound, plan.StartOrder) {
		t.Errorf("apply bound %v, plan says %v", bound, plan.StartOrder)
	}
}
