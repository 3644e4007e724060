package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// hoardKind takes `take` messages from "in", passes the first `pass` of
// them to "out", and then, the first time (no file at `marker` yet),
// fails: with an error (mode "error") or by blocking until it is killed
// (mode "block"). Later runs pass everything on.
func hoardKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "hoard",
		Life: plugins.Service,
		Attrs: []plugins.Attr{
			{Name: "take", Type: cty.Number, Default: cty.NumberIntVal(5)},
			{Name: "pass", Type: cty.Number, Default: cty.NumberIntVal(3)},
			{Name: "marker", Type: cty.String, Default: cty.StringVal("")},
			{Name: "mode", Type: cty.String, Default: cty.StringVal("error")},
		},
		Sockets: []plugins.SocketDecl{
			{Name: "in", Types: []socket.Type{socket.PULL}},
			{Name: "out", Types: []socket.Type{socket.PUSH}},
		},
		New: func(cfg plugins.Config) (plugins.Node, error) {
			var c struct {
				Take   int    `cty:"take"`
				Pass   int    `cty:"pass"`
				Marker string `cty:"marker"`
				Mode   string `cty:"mode"`
			}
			if err := cfg.Decode(&c); err != nil {
				return nil, err
			}
			return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
				in, out := env.Socket("in"), env.Socket("out")
				if _, err := os.Stat(c.Marker); errors.Is(err, os.ErrNotExist) {
					for i := range c.Take {
						m, err := in.Recv(ctx)
						if err != nil {
							return err
						}
						if i < c.Pass {
							if err := out.Send(ctx, m); err != nil {
								return err
							}
						}
					}
					if err := os.WriteFile(c.Marker, nil, 0o644); err != nil {
						return err
					}
					if c.Mode == "block" {
						<-ctx.Done()
						return nil
					}
					return fmt.Errorf("gave up holding %d messages", c.Take-c.Pass)
				}
				for {
					m, err := in.Recv(ctx)
					if err != nil {
						return err
					}
					if err := out.Send(ctx, m); err != nil {
						return err
					}
				}
			}), nil
		},
	}
}

// hoardPipeline is generate (endless) → hoard → count (endless).
func hoardPipeline(t *testing.T, mode, isolation string) *topology.Topology {
	tp := mkTopo(
		tnode{name: "gen", kind: "generate", sockets: []*topology.Socket{bindSock("out", "PUSH", "tcp://127.0.0.1:0")}},
		tnode{name: "hoard", kind: "hoard", sockets: []*topology.Socket{connSock("in", "PULL", "gen.out"), connSock("out", "PUSH", "count.in")}},
		tnode{name: "count", kind: "count", sockets: []*topology.Socket{bindSock("in", "PULL", "tcp://127.0.0.1:0")}},
	)
	tp.Nodes[1].Isolation = isolation
	setAttrs(tp, "gen", map[string]cty.Value{"rate": cty.NumberIntVal(2000)})
	setAttrs(tp, "hoard", map[string]cty.Value{
		"take": cty.NumberIntVal(5), "pass": cty.NumberIntVal(3),
		"marker": cty.StringVal(filepath.Join(t.TempDir(), "failed")), "mode": cty.StringVal(mode),
	})
	return tp
}

// pidLauncher records the pid of every process it launches, by instance.
type pidLauncher struct {
	Launcher
	mu   sync.Mutex
	pids map[string][]int
}

func (l *pidLauncher) Launch(ctx context.Context, p *topology.Plugin, baseDir string, spec plugins.Spec, out io.Writer, log *slog.Logger) (plugins.Actor, error) {
	a, err := l.Launcher.Launch(ctx, p, baseDir, spec, out, log)
	if err == nil {
		if pa, ok := a.(interface{ PID() int }); ok {
			l.mu.Lock()
			l.pids[spec.Name] = append(l.pids[spec.Name], pa.PID())
			l.mu.Unlock()
		}
	}
	return a, err
}

func (l *pidLauncher) pid(name string, i int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pids[name]) <= i {
		return 0
	}
	return l.pids[name][i]
}

// runHoard runs hoardPipeline until hoard has started a second time, then
// stops, and returns hoard's status. kill, if set,
// is called (once) when the first hoard has taken its messages.
func runHoard(t *testing.T, mode, isolation string, o Options, kill func()) NodeStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runs := make(chan struct{}, 4)
	o.OnEvent = func(e Event) {
		if e.Instance == "hoard" && e.Kind == EventRunning {
			runs <- struct{}{}
		}
	}
	rt := New(hoardPipeline(t, mode, isolation), o)
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	wait := func(what string, ok func() bool) {
		for !ok() {
			select {
			case err := <-done:
				t.Fatalf("Run returned %v while waiting for %s; status %+v", err, what, rt.Status())
			case <-ctx.Done():
				t.Fatalf("timed out waiting for %s; status %+v", what, rt.Status())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	status := func() NodeStatus { return rt.Status()[1] }
	wait("the first run", func() bool { return len(runs) >= 1 })
	if kill != nil {
		wait("hoard to take its messages", func() bool { return status().MsgsIn >= 5 })
		kill()
	}
	wait("the second run", func() bool { return len(runs) >= 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	return status()
}

// TestHeldGoroutineNodeFailing: a worker-like node that fails holding
// messages reports them in Held (exact for a goroutine node), and its
// restart in Restarts.
func TestHeldGoroutineNodeFailing(t *testing.T) {
	o := Options{Registry: processRegistry(t), BackoffInitial: 10 * time.Millisecond, StatsInterval: time.Hour}
	st := runHoard(t, "error", "goroutine", o, nil)
	if st.Restarts != 1 || st.Held != 2 || st.Approx {
		t.Errorf("hoard: restarts %d, held %d, approx %v; want 1, 2, false (%+v)", st.Restarts, st.Held, st.Approx, st)
	}
}

// TestHeldProcessNodeFailingCountsExact: a process node whose body fails
// while its process lives is asked for its counts before the process is
// stopped: with no stats poll at all in between (StatsInterval an hour)
// its figures are still exact and not approximate.
func TestHeldProcessNodeFailingCountsExact(t *testing.T) {
	o := Options{Registry: processRegistry(t), Launcher: selfLauncher(), BackoffInitial: 10 * time.Millisecond, StatsInterval: time.Hour}
	st := runHoard(t, "error", "process", o, nil)
	if st.Restarts != 1 || st.Held != 2 || st.Approx {
		t.Errorf("hoard: restarts %d, held %d, approx %v; want 1, 2, false (%+v)", st.Restarts, st.Held, st.Approx, st)
	}
	if st.MsgsIn < 5 || st.MsgsOut < 3 {
		t.Errorf("hoard: %d in, %d out: the first process's counts were lost", st.MsgsIn, st.MsgsOut)
	}
}

// TestHeldProcessNodeKilled: a process node SIGKILLed while holding
// messages is restarted; its figures are marked approximate and Held
// says what it held by its last counts.
func TestHeldProcessNodeKilled(t *testing.T) {
	l := &pidLauncher{Launcher: selfLauncher(), pids: map[string][]int{}}
	o := Options{Registry: processRegistry(t), Launcher: l, BackoffInitial: 10 * time.Millisecond, StatsInterval: 20 * time.Millisecond}
	st := runHoard(t, "block", "process", o, func() {
		if pid := l.pid("hoard", 0); pid <= 0 {
			t.Fatal("no pid for hoard")
		} else if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	})
	if st.Restarts != 1 || !st.Approx || st.Held != 2 {
		t.Errorf("hoard: restarts %d, held %d, approx %v; want 1, 2, true (%+v)", st.Restarts, st.Held, st.Approx, st)
	}
}
