package runtime

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"
)

// TestBindsInPlanStartOrder: the runtime creates and binds instances in
// the topology's StartOrder (what `topo plan` prints), not in file order:
// here the connecting client comes first in the file and the bound server
// first in the start order.
func TestBindsInPlanStartOrder(t *testing.T) {
	src := `
node "hello-client" {
  type     = "hello-client"
  requests = 2
  socket "out" {
    type    = "REQ"
    connect = [node.hello-server.in]
  }
}
node "hello-server" {
  type = "hello-server"
  socket "in" {
    type = "REP"
    bind = ["tcp://127.0.0.1:0"]
  }
}
`
	reg := builtinRegistry(t)
	var ev eventLog
	var out lockedbuf.Buffer
	rt, err := Load(context.Background(), "order.hcl", []byte(src), Options{Registry: reg, Stdout: &out, OnEvent: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	topo := rt.Topology()
	if want := []string{"hello-server", "hello-client"}; !slices.Equal(topo.StartOrder, want) {
		t.Fatalf("StartOrder %v, want %v", topo.StartOrder, want)
	}
	if err := rt.Run(testCtx(t, 10*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var starting []string
	ev.mu.Lock()
	for _, e := range ev.evs {
		if e.Kind == EventStarting && !slices.Contains(starting, e.Instance) {
			starting = append(starting, e.Instance)
		}
	}
	ev.mu.Unlock()
	if !slices.Equal(starting, topo.StartOrder) {
		t.Errorf("instances started (bound) in order %v, plan says %v", starting, topo.StartOrder)
	}
}
