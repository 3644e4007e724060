package runtime

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/pluginhost"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// TestMain doubles as a plugin: started by a pluginhost.Host (isolation =
// "process" tests) the test binary serves processKinds.
func TestMain(m *testing.M) {
	if pluginhost.IsChild() {
		plugins.Serve(processKinds()...)
		return
	}
	goleak.VerifyTestMain(m)
}

func TestRestartOnFailureThenFinish(t *testing.T) {
	var ev eventLog
	w := &fakeWorld{body: func(name string, attempt int, ctx context.Context) error {
		if attempt < 2 {
			return errBoom
		}
		return nil
	}}
	rt := New(mkTopo(tnode{name: "flaky", kind: "task"}), fastOpts(kindsRegistry(t), &ev))
	rt.opts.NewActor = w.factory
	if err := rt.Run(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := w.count("flaky"); got != 3 {
		t.Errorf("builds = %d, want 3", got)
	}
	st := rt.Status()[0]
	if st.Restarts != 2 || st.State != StateFinished {
		t.Errorf("status = %+v, want 2 restarts, finished", st)
	}
	fails := ev.of("flaky", EventFailed)
	if len(fails) != 2 || !strings.Contains(fails[0].Err.Error(), "flaky: boom") {
		t.Errorf("failed events = %v", fails)
	}
	// 2 actors closed, each counted 1 in / 2 out.
	if st.MsgsIn != 3 || st.MsgsOut != 6 {
		t.Errorf("msgs in/out = %d/%d, want 3/6", st.MsgsIn, st.MsgsOut)
	}
}

func TestBackoffDoublesAndCaps(t *testing.T) {
	var ev eventLog
	w := &fakeWorld{body: func(name string, attempt int, ctx context.Context) error {
		if attempt < 5 {
			return errBoom
		}
		return nil
	}}
	o := fastOpts(kindsRegistry(t), &ev)
	o.BackoffInitial, o.BackoffMax, o.MaxRestarts = time.Millisecond, 4*time.Millisecond, 10
	rt := New(mkTopo(tnode{name: "t", kind: "task"}), o)
	rt.opts.NewActor = w.factory
	if err := rt.Run(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var got []time.Duration
	for _, e := range ev.of("t", EventRestarting) {
		got = append(got, e.Delay)
	}
	want := []time.Duration{1, 2, 4, 4, 4}
	if len(got) != len(want) {
		t.Fatalf("delays = %v", got)
	}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays = %v, want %v ms", got, want)
		}
	}
}

func TestRestartNeverTaskFailsTopology(t *testing.T) {
	var ev eventLog
	w := &fakeWorld{body: func(name string, attempt int, ctx context.Context) error {
		if name == "bad" {
			return errBoom
		}
		<-ctx.Done()
		return nil
	}}
	rt := New(mkTopo(tnode{name: "bad", kind: "task", restart: "never"}, tnode{name: "svc", kind: "service"}), fastOpts(kindsRegistry(t), &ev))
	rt.opts.NewActor = w.factory
	err := rt.Run(testCtx(t, 5*time.Second))
	if !errors.Is(err, ErrNodeFailed) || !errors.Is(err, errBoom) || !strings.Contains(err.Error(), "bad: boom") {
		t.Fatalf("Run = %v, want ErrNodeFailed naming bad", err)
	}
	if w.count("bad") != 1 {
		t.Errorf("bad built %d times, want 1 (never restarts)", w.count("bad"))
	}
	if len(ev.of("svc", EventStopped)) != 1 {
		t.Errorf("svc not stopped")
	}
}

func TestRestartIntensityFailsTopologyNamingNode(t *testing.T) {
	var ev eventLog
	var svcRuns atomic.Int32
	w := &fakeWorld{body: func(name string, attempt int, ctx context.Context) error {
		switch name {
		case "crashy":
			return errBoom
		case "svc":
			svcRuns.Add(1)
		}
		<-ctx.Done()
		return nil
	}}
	o := fastOpts(kindsRegistry(t), &ev)
	o.MaxRestarts = 3
	rt := New(mkTopo(tnode{name: "crashy", kind: "service"}, tnode{name: "svc", kind: "service"}, tnode{name: "waiter", kind: "task"}), o)
	rt.opts.NewActor = w.factory
	err := rt.Run(testCtx(t, 5*time.Second))
	if !errors.Is(err, ErrRestartLimit) || !strings.HasPrefix(err.Error(), "crashy: ") {
		t.Fatalf("Run = %v, want ErrRestartLimit naming crashy", err)
	}
	if got := w.count("crashy"); got != 4 {
		t.Errorf("crashy built %d times, want 4 (1 + 3 restarts)", got)
	}
	if got := svcRuns.Load(); got != 1 {
		t.Errorf("sibling svc ran %d times, want 1 (never disturbed)", got)
	}
	for _, st := range rt.Status() {
		if st.Name == "svc" && (st.Restarts != 0 || st.State != StateStopped) {
			t.Errorf("svc status = %+v", st)
		}
	}
}

func TestSiblingUnaffectedByRestarts(t *testing.T) {
	var ev eventLog
	release := make(chan struct{})
	w := &fakeWorld{body: func(name string, attempt int, ctx context.Context) error {
		switch name {
		case "crashy":
			if attempt < 3 {
				return errBoom
			}
			close(release)
			<-ctx.Done()
			return nil
		case "client":
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}}
	rt := New(mkTopo(tnode{name: "crashy", kind: "service"}, tnode{name: "client", kind: "task"}), fastOpts(kindsRegistry(t), &ev))
	rt.opts.NewActor = w.factory
	if err := rt.Run(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if w.count("client") != 1 || len(ev.of("client", EventFailed)) != 0 {
		t.Errorf("client built %d times / failed %d times; want 1 / 0", w.count("client"), len(ev.of("client", EventFailed)))
	}
	if st := rt.Status(); st[0].Restarts != 3 {
		t.Errorf("crashy restarts = %d, want 3", st[0].Restarts)
	}
}

func TestRestartAlways(t *testing.T) {
	var ev eventLog
	var svcDone atomic.Int32
	w := &fakeWorld{body: func(name string, attempt int, ctx context.Context) error {
		if name == "svc" {
			if attempt < 2 {
				return nil // a service returning early is restarted under "always"
			}
			svcDone.Store(1)
			<-ctx.Done()
			return nil
		}
		for svcDone.Load() == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
		return nil
	}}
	rt := New(mkTopo(tnode{name: "svc", kind: "service", restart: "always"}, tnode{name: "task", kind: "task"}), fastOpts(kindsRegistry(t), &ev))
	rt.opts.NewActor = w.factory
	if err := rt.Run(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := w.count("svc"); got != 3 {
		t.Errorf("svc built %d times, want 3", got)
	}
}

func TestServiceNeverFailureReportedAtEnd(t *testing.T) {
	var ev eventLog
	w := &fakeWorld{body: func(name string, attempt int, ctx context.Context) error {
		if name == "svc" {
			return errBoom
		}
		time.Sleep(20 * time.Millisecond)
		return nil
	}}
	rt := New(mkTopo(tnode{name: "svc", kind: "service", restart: "never"}, tnode{name: "task", kind: "task"}), fastOpts(kindsRegistry(t), &ev))
	rt.opts.NewActor = w.factory
	err := rt.Run(testCtx(t, 5*time.Second))
	if !errors.Is(err, ErrNodeFailed) || !strings.Contains(err.Error(), "svc: boom") {
		t.Fatalf("Run = %v, want svc reported failed", err)
	}
	if len(ev.of("task", EventFinished)) != 1 {
		t.Errorf("task did not finish despite sibling failure")
	}
}

func TestTasksCompleteThenServicesStop(t *testing.T) {
	var ev eventLog
	var stoppedByCtx atomic.Int32
	w := &fakeWorld{body: func(name string, attempt int, ctx context.Context) error {
		if name == "client" {
			time.Sleep(10 * time.Millisecond)
			return nil
		}
		<-ctx.Done()
		stoppedByCtx.Add(1)
		return ctx.Err()
	}}
	rt := New(mkTopo(tnode{name: "server", kind: "service", count: 3}, tnode{name: "client", kind: "task"}), fastOpts(kindsRegistry(t), &ev))
	rt.opts.NewActor = w.factory
	if err := rt.Run(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if stoppedByCtx.Load() != 3 {
		t.Errorf("services stopped through ctx: %d, want 3", stoppedByCtx.Load())
	}
	for _, st := range rt.Status() {
		want := StateStopped
		if st.Name == "client" {
			want = StateFinished
		}
		if st.State != want {
			t.Errorf("%s: state %s, want %s", st.Name, st.State, want)
		}
	}
}

func TestNoTasksRunsUntilCancel(t *testing.T) {
	var ev eventLog
	w := &fakeWorld{body: func(name string, attempt int, ctx context.Context) error {
		<-ctx.Done()
		return nil
	}}
	rt := New(mkTopo(tnode{name: "a", kind: "service"}, tnode{name: "b", kind: "service"}), fastOpts(kindsRegistry(t), &ev))
	rt.opts.NewActor = w.factory
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- rt.Run(ctx) }()
	select {
	case err := <-errc:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	start := time.Now()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run after cancel = %v, want nil (an interruption is not a failure)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("shutdown took %s, want < 1s", d)
	}
}

func TestShutdownTimeoutNamesStuckNode(t *testing.T) {
	var ev eventLog
	release := make(chan struct{})
	w := &fakeWorld{body: func(name string, attempt int, ctx context.Context) error {
		if name == "stuck" {
			<-release // ignores ctx
			return nil
		}
		<-ctx.Done()
		return nil
	}}
	o := fastOpts(kindsRegistry(t), &ev)
	o.ShutdownTimeout = 100 * time.Millisecond
	rt := New(mkTopo(tnode{name: "stuck", kind: "service"}, tnode{name: "fine", kind: "service"}), o)
	rt.opts.NewActor = w.factory
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := rt.Run(ctx)
	close(release)
	if !errors.Is(err, ErrShutdownTimeout) || !strings.Contains(err.Error(), "stuck") || strings.Contains(err.Error(), "fine") {
		t.Fatalf("Run = %v, want ErrShutdownTimeout naming only stuck", err)
	}
	// Let the released body's goroutine finish before goleak looks.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && len(ev.of("stuck", EventStopped)) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPanicInFakeActorReportedWithName(t *testing.T) {
	var ev eventLog
	w := &fakeWorld{body: func(name string, attempt int, ctx context.Context) error {
		if attempt == 0 {
			panic("kaboom")
		}
		return nil
	}}
	rt := New(mkTopo(tnode{name: "p", kind: "task"}), fastOpts(kindsRegistry(t), &ev))
	rt.opts.NewActor = w.factory
	if err := rt.Run(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	f := ev.of("p", EventFailed)
	if len(f) != 1 || !strings.Contains(f[0].Err.Error(), "p: panic: kaboom") {
		t.Fatalf("failed events = %v", f)
	}
}

func TestDependsOnOrdersBodies(t *testing.T) {
	var ev eventLog
	var dbUp atomic.Int32
	w := &fakeWorld{body: func(name string, attempt int, ctx context.Context) error {
		if name == "db" {
			time.Sleep(30 * time.Millisecond)
			dbUp.Store(1)
			<-ctx.Done()
			return nil
		}
		return nil
	}}
	_ = w
	rt := New(mkTopo(tnode{name: "db", kind: "service"}, tnode{name: "app", kind: "task", dependsOn: []string{"db"}}), fastOpts(kindsRegistry(t), &ev))
	rt.opts.NewActor = w.factory
	if err := rt.Run(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	dbRun := ev.of("db", EventRunning)[0].Time
	appRun := ev.of("app", EventRunning)[0].Time
	if appRun.Before(dbRun) {
		t.Errorf("app started at %v before db at %v", appRun, dbRun)
	}
}

func TestUnknownKind(t *testing.T) {
	rt := New(mkTopo(tnode{name: "x", kind: "nope"}), Options{Registry: kindsRegistry(t)})
	err := rt.Run(testCtx(t, 5*time.Second))
	if err == nil || !strings.Contains(err.Error(), `x: unknown kind "nope"`) {
		t.Fatalf("Run = %v", err)
	}
}

func TestRunTwice(t *testing.T) {
	w := &fakeWorld{body: func(string, int, context.Context) error { return nil }}
	rt := New(mkTopo(tnode{name: "t", kind: "task"}), Options{Registry: kindsRegistry(t)})
	rt.opts.NewActor = w.factory
	if err := rt.Run(testCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := rt.Run(testCtx(t, 5*time.Second)); !errors.Is(err, ErrAlreadyRun) {
		t.Fatalf("second Run = %v", err)
	}
}

func TestReadyTimeoutStartsAnywayAndNamesSocket(t *testing.T) {
	var ev eventLog
	topo := mkTopo(
		tnode{name: "pub", kind: "service", sockets: []*topology.Socket{bindSock("out", "PUB", "inproc://p")}},
		tnode{name: "sub", kind: "task", sockets: []*topology.Socket{connSock("in", "SUB", "pub.out")}},
	)
	ran := make(chan struct{}, 2)
	pubRunning := make(chan struct{})
	o := fastOpts(kindsRegistry(t), &ev)
	o.ReadyTimeout = 50 * time.Millisecond
	rt := New(topo, o)
	rt.opts.NewActor = func(k *plugins.Kind, spec plugins.Spec, sc *socket.Context, out io.Writer, log *slog.Logger) (plugins.Actor, error) {
		return &fakeActor{spec: spec,
			ready: func(ctx context.Context) error {
				if spec.Name == "pub" { // its subscriber never subscribes
					<-ctx.Done()
					return ctx.Err()
				}
				return nil
			},
			run: func(ctx context.Context) error {
				ran <- struct{}{}
				if spec.Name == "pub" {
					close(pubRunning)
					<-ctx.Done()
					return nil
				}
				select { // the subscriber waits for the publisher's body
				case <-pubRunning:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}}, nil
	}
	start := time.Now()
	if err := rt.Run(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(ran) != 2 {
		t.Fatalf("%d bodies ran, want 2", len(ran))
	}
	r := ev.of("pub", EventReady)
	if len(r) != 1 || len(r[0].Waiting) != 1 || !strings.Contains(r[0].Waiting[0], "out: 0/1 subscribers") {
		t.Fatalf("pub ready events = %+v", r)
	}
	if r[0].Time.Sub(start) < 50*time.Millisecond {
		t.Errorf("pub started before the readiness timeout")
	}
}
