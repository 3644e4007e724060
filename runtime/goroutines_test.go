package runtime

import (
	"bytes"
	"context"
	"fmt"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestIdleNodeCostsTwoRuntimeGoroutines: a running idle node holds two
// goroutines of the runtime's own (its supervisor and its body), however
// many nodes run: the StopGrace watch is a callback armed when the body
// is told to stop, not a goroutine waiting for that (at 1,000 nodes each
// such goroutine is a stack per node to hold and for the GC to scan).
func TestIdleNodeCostsTwoRuntimeGoroutines(t *testing.T) {
	const pairs = 10
	topo := idleTopo(pairs, func(i int) string { return fmt.Sprintf("inproc://idle-goroutines-%d", i) })
	var mu sync.Mutex
	running := 0
	all := make(chan struct{})
	rt := New(topo, Options{Registry: builtinRegistry(t), OnEvent: func(e Event) {
		if e.Kind == EventRunning {
			mu.Lock()
			if running++; running == len(topo.Instances) {
				close(all)
			}
			mu.Unlock()
		}
	}})
	ctx, cancel := context.WithCancel(testCtx(t, 20*time.Second))
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- rt.Run(ctx) }()
	select {
	case <-all:
	case err := <-errc:
		t.Fatalf("Run returned before every node ran: %v", err)
	case <-ctx.Done():
		t.Fatal("not every node running after 20s")
	}
	// Goroutines whose stack runs through this package's code, but not
	// Run's own (the caller's, oklog/run's actors, the stats poller).
	var own int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		own = runtimeGoroutines(t)
		if own <= 2*len(topo.Instances) || time.Now().After(deadline) {
			break
		}
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if per := float64(own) / float64(len(topo.Instances)); own > 2*len(topo.Instances) {
		t.Errorf("%d runtime goroutines for %d idle nodes (%.1f per node), want at most 2 per node", own, len(topo.Instances), per)
	}
}

// runtimeGoroutines counts the goroutines with a frame of this package's
// supervisor (a node's supervisor, and goroutines it started).
func runtimeGoroutines(t *testing.T) int {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 2); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(g, "topo/runtime.(*supervisor).supervise") || strings.Contains(g, "topo/runtime.(*supervisor).runOnce") ||
			strings.Contains(g, "topo/runtime.(*supervisor).reportWaiting") || strings.Contains(g, "topo/runtime.(*supervisor).graceWatch") {
			n++
		}
	}
	return n
}
