package runtime

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
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

// TestConnectsOnceWhatItConnectsToIsBound: binding and connecting overlap.
// An instance connects, in start order, as soon as it and every instance
// it connects to have bound, not after the last instance binds: here the
// client's connection to the server is up (handshake done) before the
// instance after it in the start order binds.
func TestConnectsOnceWhatItConnectsToIsBound(t *testing.T) {
	topo := mkTopo(
		tnode{name: "server", kind: "print", sockets: []*topology.Socket{bindSock("in", "PULL", "tcp://127.0.0.1:0")}},
		tnode{name: "client", kind: "worker", sockets: []*topology.Socket{bindSock("in", "PULL", "tcp://127.0.0.1:0"), connSock("out", "PUSH", "server.in")}},
		tnode{name: "late", kind: "print", sockets: []*topology.Socket{bindSock("in", "PULL", "tcp://127.0.0.1:0")}},
	)
	topo.StartOrder = []string{"server", "client", "late"}
	var mu sync.Mutex
	actors := map[string]plugins.Actor{}
	peersBeforeLate := -1 // the server's peers when late's Bind began
	newActor := func(k *plugins.Kind, spec plugins.Spec, sc *socket.Context, out io.Writer, log *slog.Logger) (plugins.Actor, error) {
		a, err := plugins.NewActor(k, spec, sc, out, log)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		actors[spec.Name] = a
		mu.Unlock()
		if spec.Name != "late" {
			return a, nil
		}
		return bindHook{a, func() {
			mu.Lock()
			server := actors["server"]
			mu.Unlock()
			// The client connected before this Bind, or never will
			// before it: wait for its handshake, bounded.
			peers := 0
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if peers = server.Stats()["in"].Peers; peers > 0 {
					break
				}
			}
			mu.Lock()
			peersBeforeLate = peers
			mu.Unlock()
		}}, nil
	}
	var ev eventLog
	o := fastOpts(builtinRegistry(t), &ev)
	o.NewActor = newActor
	var out lockedbuf.Buffer
	o.Stdout = &out
	running := make(chan struct{})
	var once sync.Once
	o.OnEvent = func(e Event) {
		ev.add(e)
		if e.Kind == EventRunning && countRunning(&ev) == 3 {
			once.Do(func() { close(running) })
		}
	}
	ctx, cancel := context.WithCancel(testCtx(t, 20*time.Second))
	errc := make(chan error, 1)
	go func() { errc <- New(topo, o).Run(ctx) }()
	select {
	case <-running:
	case err := <-errc:
		t.Fatalf("Run returned before every node ran: %v", err)
	case <-ctx.Done():
		t.Fatal("not every node running after 20s")
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if peersBeforeLate != 1 {
		t.Errorf("the server had %d peers when late (after the client in the start order) began binding; want 1: the client connects once the server is bound", peersBeforeLate)
	}
}

// bindHook is an Actor whose Bind runs before first.
type bindHook struct {
	plugins.Actor
	before func()
}

func (b bindHook) Bind(ctx context.Context) (map[string][]string, error) {
	b.before()
	return b.Actor.Bind(ctx)
}

func countRunning(ev *eventLog) int {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	seen := map[string]bool{}
	for _, e := range ev.evs {
		if e.Kind == EventRunning {
			seen[e.Instance] = true
		}
	}
	return len(seen)
}
