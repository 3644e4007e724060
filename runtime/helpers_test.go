package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// tnode declares one node of a hand-built topology.
type tnode struct {
	name, kind string
	count      int // 0: no count
	restart    string
	dependsOn  []string
	sockets    []*topology.Socket
}

// mkTopo builds a Topology by hand (the loader is tested elsewhere), with
// edges for every connect that references a socket by "instance.socket".
func mkTopo(nodes ...tnode) *topology.Topology {
	t := &topology.Topology{}
	for _, tn := range nodes {
		n := &topology.Node{Name: tn.name, Kind: tn.kind, Count: -1, Restart: tn.restart, Isolation: "goroutine", DependsOn: tn.dependsOn}
		t.Nodes = append(t.Nodes, n)
		reps := 1
		if tn.count > 0 {
			n.Count, reps = tn.count, tn.count
		}
		for i := 0; i < reps; i++ {
			name := tn.name
			if tn.count > 0 {
				name = fmt.Sprintf("%s[%d]", tn.name, i)
			}
			in := &topology.Instance{Name: name, Node: n, Index: i, Attrs: cty.EmptyObjectVal}
			for _, s := range tn.sockets {
				cp := *s
				in.Sockets = append(in.Sockets, &cp)
			}
			t.Instances = append(t.Instances, in)
		}
	}
	byName := map[string]*topology.Instance{}
	for _, in := range t.Instances {
		byName[in.Name] = in
	}
	for _, in := range t.Instances {
		for _, s := range in.Sockets {
			for _, c := range s.Connect {
				if c.Ref == nil {
					continue
				}
				target := byName[c.Ref.Instance].Socket(c.Ref.Socket)
				t.Edges = append(t.Edges, &topology.Edge{
					Connect: topology.SocketRef{Instance: in.Name, Socket: s.Name}, Bind: *c.Ref,
					ConnectType: s.Type, BindType: target.Type, Endpoint: c.URL,
				})
			}
		}
	}
	return t
}

func bindSock(name, typ string, eps ...string) *topology.Socket {
	s := &topology.Socket{Name: name, Type: typ}
	for _, e := range eps {
		s.Bind = append(s.Bind, topology.Endpoint{URL: e})
	}
	return s
}

func connSock(name, typ string, refs ...string) *topology.Socket {
	s := &topology.Socket{Name: name, Type: typ}
	for _, r := range refs {
		inst, sock, _ := cutLast(r, ".")
		s.Connect = append(s.Connect, topology.Endpoint{URL: "ref:" + r, Ref: &topology.SocketRef{Instance: inst, Socket: sock}})
	}
	return s
}

func cutLast(s, sep string) (string, string, bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// fakeActor is a plugins.Actor whose body is a function; it opens no socket.
type fakeActor struct {
	spec    plugins.Spec
	run     func(ctx context.Context) error
	ready   func(ctx context.Context) error
	bindErr error
	mu      sync.Mutex
	closed  bool
}

func (a *fakeActor) Bind(ctx context.Context) (map[string][]string, error) {
	if a.bindErr != nil {
		return nil, a.bindErr
	}
	out := map[string][]string{}
	for _, s := range a.spec.Sockets {
		out[s.Name] = s.Bind
	}
	return out, nil
}
func (a *fakeActor) Connect(ctx context.Context, eps map[string][]string) error { return nil }
func (a *fakeActor) Ready(ctx context.Context) error {
	if a.ready != nil {
		return a.ready(ctx)
	}
	return nil
}
func (a *fakeActor) Run(ctx context.Context) error { return a.run(ctx) }
func (a *fakeActor) Stats() map[string]socket.Stats {
	return map[string]socket.Stats{"x": {MsgsIn: 1, MsgsOut: 2}}
}
func (a *fakeActor) Close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	return nil
}

// fakeWorld counts actor builds per instance and runs bodies from a table.
type fakeWorld struct {
	mu     sync.Mutex
	builds map[string]int
	body   func(name string, attempt int, ctx context.Context) error
}

func (w *fakeWorld) factory(k *plugins.Kind, spec plugins.Spec, sc *socket.Context, out io.Writer, log *slog.Logger) (plugins.Actor, error) {
	w.mu.Lock()
	if w.builds == nil {
		w.builds = map[string]int{}
	}
	attempt := w.builds[spec.Name]
	w.builds[spec.Name]++
	w.mu.Unlock()
	return &fakeActor{spec: spec, run: func(ctx context.Context) error { return w.body(spec.Name, attempt, ctx) }}, nil
}

func (w *fakeWorld) count(name string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.builds[name]
}

// kindsRegistry registers a task kind "task" and a service kind "service"
// whose New is never used by fake actors (but must exist to register).
func kindsRegistry(t testing.TB) *plugins.Registry {
	t.Helper()
	var reg plugins.Registry
	nop := func(cfg plugins.Config) (plugins.Node, error) {
		return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error { return nil }), nil
	}
	reg.MustRegister(
		&plugins.Kind{Name: "task", Life: plugins.Task, New: nop},
		&plugins.Kind{Name: "service", Life: plugins.Service, New: nop},
	)
	return &reg
}

// eventLog records events, safe for concurrent use.
type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) add(e Event) { l.mu.Lock(); l.evs = append(l.evs, e); l.mu.Unlock() }
func (l *eventLog) of(inst string, k EventKind) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for _, e := range l.evs {
		if e.Instance == inst && e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

var errBoom = errors.New("boom")

// fastOpts are supervision knobs that keep tests quick.
func fastOpts(reg *plugins.Registry, ev *eventLog) Options {
	return Options{
		Registry: reg, OnEvent: ev.add,
		BackoffInitial: time.Millisecond, BackoffMax: 8 * time.Millisecond,
		MaxRestarts: 5, IntensityWindow: 10 * time.Second,
		ShutdownTimeout: 2 * time.Second, StatsInterval: 20 * time.Millisecond,
	}
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
