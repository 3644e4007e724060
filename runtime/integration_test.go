package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// These tests run built-in kinds on real sockets (tcp on 127.0.0.1 with
// ephemeral ports, ipc under t.TempDir(), inproc).

func builtinRegistry(t testing.TB) *plugins.Registry {
	t.Helper()
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		t.Fatal(err)
	}
	return &reg
}

func setAttrs(t *topology.Topology, node string, attrs map[string]cty.Value) {
	for _, in := range t.Instances {
		if in.Node.Name == node {
			in.Attrs = cty.ObjectVal(attrs)
		}
	}
}

// pipeline builds ventilator → workers → sink over the given bind endpoints.
func pipeline(workers, tasks int, ventEP, sinkEP string) *topology.Topology {
	t := mkTopo(
		tnode{name: "ventilator", kind: "ventilator", sockets: []*topology.Socket{
			bindSock("out", "PUSH", ventEP), connSock("sink", "PUSH", "sink.in")}},
		tnode{name: "worker", kind: "worker", count: workers, sockets: []*topology.Socket{
			connSock("in", "PULL", "ventilator.out"), connSock("out", "PUSH", "sink.in")}},
		tnode{name: "sink", kind: "sink", sockets: []*topology.Socket{bindSock("in", "PULL", sinkEP)}},
	)
	setAttrs(t, "ventilator", map[string]cty.Value{"tasks": cty.NumberIntVal(int64(tasks)), "max_work": cty.StringVal("5ms")})
	setAttrs(t, "sink", map[string]cty.Value{"tasks": cty.NumberIntVal(int64(tasks))})
	return t
}

func TestPipelineWaitsForWorkersAndSharesFairly(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, vent, sink string }{
		{"tcp", "tcp://127.0.0.1:0", "tcp://127.0.0.1:0"},
		{"ipc", "ipc://" + filepath.Join(dir, "vent.ipc"), "ipc://" + filepath.Join(dir, "sink.ipc")},
		{"inproc", "inproc://vent", "inproc://sink"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const workers, tasks = 4, 100
			var out lockedbuf.Buffer
			rt := New(pipeline(workers, tasks, tc.vent, tc.sink), Options{Registry: builtinRegistry(t), Stdout: &out})
			if err := rt.Run(testCtx(t, 20*time.Second)); err != nil {
				t.Fatalf("Run: %v\noutput:\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "ventilator | Total expected cost:") || !strings.Contains(out.String(), "sink       | Total elapsed time:") {
				t.Errorf("output:\n%s", out.String())
			}
			for _, st := range rt.Status() {
				if !strings.HasPrefix(st.Name, "worker[") {
					continue
				}
				// 25% ± 5% of the tasks each: the ventilator waited for all four.
				if st.MsgsIn < tasks*20/100 || st.MsgsIn > tasks*30/100 {
					t.Errorf("%s got %d of %d tasks, want 25%% ± 5%%", st.Name, st.MsgsIn, tasks)
				}
			}
		})
	}
}

func TestHelloOverIPC(t *testing.T) {
	ep := "ipc://" + filepath.Join(t.TempDir(), "hello.ipc")
	topo := mkTopo(
		tnode{name: "hello-server", kind: "hello-server", sockets: []*topology.Socket{bindSock("in", "REP", ep)}},
		tnode{name: "hello-client", kind: "hello-client", sockets: []*topology.Socket{connSock("out", "REQ", "hello-server.in")}},
	)
	var out lockedbuf.Buffer
	var ev eventLog
	rt := New(topo, Options{Registry: builtinRegistry(t), Stdout: &out, OnEvent: ev.add})
	if err := rt.Run(testCtx(t, 10*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for i := 0; i < 10; i++ {
		if want := fmt.Sprintf("hello-client | Received reply %d [ World ]", i); !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "hello-server | Received request: Hello"); n != 10 {
		t.Errorf("server saw %d requests, want 10", n)
	}
	if len(ev.of("hello-server", EventStopped)) != 1 || len(ev.of("hello-client", EventFinished)) != 1 {
		t.Errorf("lifecycle events: %v", ev.evs)
	}
}

func TestWeatherSubscriptionBeforePublish(t *testing.T) {
	topo := mkTopo(
		tnode{name: "pub", kind: "weather-publisher", sockets: []*topology.Socket{bindSock("out", "PUB", "tcp://127.0.0.1:0")}},
		tnode{name: "client", kind: "weather-client", sockets: []*topology.Socket{connSock("in", "SUB", "pub.out")}},
	)
	setAttrs(topo, "client", map[string]cty.Value{"zip": cty.StringVal("1"), "updates": cty.NumberIntVal(5)})
	var out lockedbuf.Buffer
	rt := New(topo, Options{Registry: builtinRegistry(t), Stdout: &out, ReadyTimeout: 5 * time.Second})
	start := time.Now()
	if err := rt.Run(testCtx(t, 20*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.Contains(out.String(), "client | Average temperature for zipcode '1' was") {
		t.Errorf("output:\n%s", out.String())
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %s: the publisher waited for the readiness timeout instead of the subscription", d)
	}
}

func TestPortInUseNamesNodeSocketEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep := "tcp://" + l.Addr().String()
	topo := mkTopo(
		tnode{name: "hello-server", kind: "hello-server", sockets: []*topology.Socket{bindSock("in", "REP", ep)}},
		tnode{name: "hello-client", kind: "hello-client", sockets: []*topology.Socket{connSock("out", "REQ", "hello-server.in")}},
	)
	rt := New(topo, Options{Registry: builtinRegistry(t)})
	err = rt.Run(testCtx(t, 10*time.Second))
	if !errors.Is(err, socket.ErrAddrInUse) {
		t.Fatalf("Run = %v, want ErrAddrInUse", err)
	}
	for _, want := range []string{"hello-server", `"in"`, ep} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func panicKind() *plugins.Kind {
	return &plugins.Kind{Name: "panicker", Life: plugins.Task, New: func(cfg plugins.Config) (plugins.Node, error) {
		return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
			var m map[string]int
			m["x"]++ // nil map write: a real runtime panic
			return nil
		}), nil
	}}
}

func TestNodePanicReportedWithNameAndRestarted(t *testing.T) {
	reg := builtinRegistry(t)
	reg.MustRegister(panicKind())
	var ev eventLog
	o := fastOpts(reg, &ev)
	o.MaxRestarts = 2
	rt := New(mkTopo(tnode{name: "bomb", kind: "panicker"}), o)
	err := rt.Run(testCtx(t, 10*time.Second))
	if !errors.Is(err, ErrRestartLimit) || !strings.HasPrefix(err.Error(), "bomb: ") || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("Run = %v, want restart limit naming bomb and the panic", err)
	}
	f := ev.of("bomb", EventFailed)
	if len(f) != 3 || !errors.Is(f[0].Err, plugins.ErrPanic) || !strings.HasPrefix(f[0].Err.Error(), "bomb: ") {
		t.Fatalf("failed events = %v", f)
	}
}

// wedgeOnce is a task whose first run deadlocks on a socket receive that
// ignores ctx (only closing the socket ends it) and says so in Health;
// later runs finish at once.
type wedgeOnce struct {
	runs   *atomic.Int32 // shared by every instance the kind builds
	wedged atomic.Bool
}

func (w *wedgeOnce) Run(ctx context.Context, env plugins.Env) error {
	if w.runs.Add(1) > 1 {
		return nil
	}
	w.wedged.Store(true)
	_, err := env.Socket("in").Recv(context.Background())
	return err
}

func (w *wedgeOnce) Health(context.Context) error {
	if w.wedged.Load() {
		return errors.New("deadlocked on socket in")
	}
	return nil
}

// TestGoroutineNodeHealthRestarts: a goroutine node whose Health
// (plugins.HealthChecker) fails HealthMisses times in a row is stopped —
// here only closing its sockets after StopGrace unblocks it — fails with
// an error naming it and wrapping plugins.ErrUnhealthy, and is restarted.
func TestGoroutineNodeHealthRestarts(t *testing.T) {
	var runs atomic.Int32
	reg := builtinRegistry(t)
	reg.MustRegister(&plugins.Kind{
		Name:    "wedge-once",
		Life:    plugins.Task,
		Sockets: []plugins.SocketDecl{{Name: "in", Types: []socket.Type{socket.PULL}}},
		New:     func(plugins.Config) (plugins.Node, error) { return &wedgeOnce{runs: &runs}, nil },
	})
	var ev eventLog
	o := fastOpts(reg, &ev)
	o.HealthInterval, o.HealthMisses, o.StopGrace = 20*time.Millisecond, 3, 50*time.Millisecond
	rt := New(mkTopo(tnode{name: "stuck", kind: "wedge-once", sockets: []*topology.Socket{bindSock("in", "PULL", "inproc://stuck")}}), o)
	start := time.Now()
	if err := rt.Run(testCtx(t, 10*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v (3 misses at 20ms, 50ms grace)", took)
	}
	f := ev.of("stuck", EventFailed)
	if len(f) != 1 || !errors.Is(f[0].Err, plugins.ErrUnhealthy) ||
		!strings.HasPrefix(f[0].Err.Error(), "stuck: node reported unhealthy: 3 checks in a row failed (every 20ms; last: deadlocked on socket in)") {
		t.Fatalf("failed events = %v", f)
	}
	if st := rt.Status()[0]; st.Restarts != 1 || st.State != StateFinished || runs.Load() != 2 {
		t.Errorf("status = %+v after %d runs", st, runs.Load())
	}
}

func TestShutdownUnderOneSecond(t *testing.T) {
	topo := pipeline(4, 1, "tcp://127.0.0.1:0", "tcp://127.0.0.1:0")
	// Services only: the workers, plus a hello-server with a client that
	// never comes (its connect endpoint is external).
	topo = mkTopo(
		tnode{name: "server", kind: "hello-server", count: 3, sockets: []*topology.Socket{bindSock("in", "REP", "tcp://127.0.0.1:0")}},
		tnode{name: "worker", kind: "worker", count: 4, sockets: []*topology.Socket{
			{Name: "in", Type: "PULL", Connect: []topology.Endpoint{{URL: "inproc://nobody"}}},
			{Name: "out", Type: "PUSH", Connect: []topology.Endpoint{{URL: "inproc://nobody2"}}}}},
	)
	var ev eventLog
	rt := New(topo, Options{Registry: builtinRegistry(t), OnEvent: ev.add})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- rt.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(ev.of("worker[3]", EventRunning)) == 0 || len(ev.of("server[2]", EventRunning)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nodes did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("shutdown took %s, want < 1s", d)
	}
}

// A restarted node binds the endpoints its first incarnation actually bound
// (an ephemeral port stays the same), and its peers reconnect on their own.
func TestRestartedBinderKeepsEndpointAndPeersReconnect(t *testing.T) {
	var incarnation atomic.Int32
	var ports sync.Map
	reg := builtinRegistry(t)
	reg.MustRegister(
		&plugins.Kind{Name: "ticker", Life: plugins.Service,
			Sockets: []plugins.SocketDecl{{Name: "out", Types: []socket.Type{socket.PUSH}}},
			New: func(cfg plugins.Config) (plugins.Node, error) {
				return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
					for {
						if err := env.Socket("out").Send(ctx, socket.Msg{[]byte("tick")}); err != nil {
							return err
						}
						select {
						case <-ctx.Done():
							return nil
						case <-time.After(time.Millisecond):
						}
					}
				}), nil
			}},
		&plugins.Kind{Name: "flaky", Life: plugins.Task,
			Sockets: []plugins.SocketDecl{{Name: "in", Types: []socket.Type{socket.PULL}}},
			New: func(cfg plugins.Config) (plugins.Node, error) {
				return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
					n := incarnation.Add(1)
					ports.Store(n, strings.Join(env.Socket("in").Endpoints(), ","))
					for range 5 {
						if _, err := env.Socket("in").Recv(ctx); err != nil {
							return err
						}
					}
					if n == 1 {
						return errors.New("first incarnation gives up")
					}
					return nil
				}), nil
			}},
	)
	topo := mkTopo(
		tnode{name: "flaky", kind: "flaky", sockets: []*topology.Socket{bindSock("in", "PULL", "tcp://127.0.0.1:0")}},
		tnode{name: "ticker", kind: "ticker", sockets: []*topology.Socket{connSock("out", "PUSH", "flaky.in")}},
	)
	var ev eventLog
	rt := New(topo, fastOpts(reg, &ev))
	if err := rt.Run(testCtx(t, 15*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	p1, _ := ports.Load(int32(1))
	p2, _ := ports.Load(int32(2))
	if p1 == nil || p1 != p2 || strings.HasSuffix(p1.(string), ":0") {
		t.Errorf("endpoints: first %v, after restart %v; want the same ephemeral port", p1, p2)
	}
	if st := rt.Status(); st[0].Restarts != 1 || st[1].Restarts != 0 {
		t.Errorf("restarts: flaky %d, ticker %d; want 1, 0", st[0].Restarts, st[1].Restarts)
	}
}
