package builtin

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"

	"github.com/zclconf/go-cty/cty"
	"go.uber.org/goleak"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tnode is one node instance of a test topology.
type tnode struct {
	name    string
	kind    string
	attrs   map[string]cty.Value
	sockets []plugins.SocketSpec
	connect map[string][]string // socket name -> "node.socket" references
}

// result is what a test topology left behind.
type result struct {
	actors map[string]plugins.Actor // live during the run, for until
	out    map[string]*lockedbuf.Buffer
	stats  map[string]map[string]socket.Stats
}

func (r *result) output(name string) string { return r.out[name].String() }

type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// endpoint returns a bind endpoint on the transport: inproc (unique per
// test) or an ephemeral tcp port on 127.0.0.1.
func endpoint(t *testing.T, transport, name string) string {
	if transport == "inproc" {
		return "inproc://" + t.Name() + "/" + name
	}
	return "tcp://127.0.0.1:0"
}

// runTopology runs nodes the way the runtime does (bind all, connect all,
// then each node's Ready and Run) with NewActor and the built-in registry.
// It returns when every task node has finished, or, if until is set, when
// until reports true; then it stops the services and waits for them. Any
// node error fails the test. The whole run is bounded by timeout.
func runTopology(t *testing.T, timeout time.Duration, nodes []tnode, until func(*result) bool) *result {
	t.Helper()
	var reg plugins.Registry
	if err := Register(&reg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	log := slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var sc socket.Context
	defer sc.Close()

	res := &result{actors: map[string]plugins.Actor{}, out: map[string]*lockedbuf.Buffer{}, stats: map[string]map[string]socket.Stats{}}
	actors := make([]plugins.Actor, len(nodes))
	defer func() {
		for _, a := range actors {
			if a != nil {
				a.Close()
			}
		}
	}()
	kinds := make([]*plugins.Kind, len(nodes))
	for i, n := range nodes {
		k, ok := reg.Lookup(n.kind)
		if !ok {
			t.Fatalf("no kind %q", n.kind)
		}
		kinds[i] = k
		attrs := cty.EmptyObjectVal
		if len(n.attrs) > 0 {
			attrs = cty.ObjectVal(n.attrs)
		}
		res.out[n.name] = &lockedbuf.Buffer{}
		a, err := plugins.NewActor(k, plugins.Spec{Name: n.name, Kind: n.kind, Attrs: attrs, Sockets: n.sockets}, &sc, res.out[n.name], log)
		if err != nil {
			t.Fatal(err)
		}
		actors[i] = a
		res.actors[n.name] = a
	}
	bound := map[string][]string{}
	for i, a := range actors {
		eps, err := a.Bind(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for s, e := range eps {
			bound[nodes[i].name+"."+s] = e
		}
	}
	for i, a := range actors {
		conn := map[string][]string{}
		for s, refs := range nodes[i].connect {
			for _, ref := range refs {
				eps, ok := bound[ref]
				if !ok {
					t.Fatalf("%s: no bound endpoint %s", nodes[i].name, ref)
				}
				conn[s] = append(conn[s], eps...)
			}
		}
		if err := a.Connect(ctx, conn); err != nil {
			t.Fatal(err)
		}
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		errs     []error
		tasks    sync.WaitGroup
		anyTasks bool
	)
	for i, a := range actors {
		isTask := kinds[i].Life == plugins.Task
		if isTask {
			anyTasks = true
			tasks.Add(1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if isTask {
				defer tasks.Done()
			}
			err := a.Ready(runCtx)
			if err == nil {
				err = a.Run(runCtx)
			}
			if err != nil && runCtx.Err() == nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				stop()
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if until == nil && anyTasks {
			tasks.Wait()
			return
		}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
				if until != nil && until(res) {
					return
				}
			}
		}
	}()
	select {
	case <-done:
	case <-runCtx.Done():
	}
	timedOut := ctx.Err() != nil
	stop()
	wg.Wait()
	<-done
	for i, a := range actors {
		res.stats[nodes[i].name] = a.Stats()
	}
	for _, err := range errs {
		t.Error(err)
	}
	if timedOut {
		var b strings.Builder
		for _, n := range nodes {
			fmt.Fprintf(&b, "%s: %+v\n", n.name, res.stats[n.name])
		}
		t.Fatalf("topology did not finish within %v; stats:\n%s", timeout, b.String())
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	return res
}

func sock(name string, typ socket.Type, bind string, expect int) plugins.SocketSpec {
	s := plugins.SocketSpec{Name: name, Type: typ, Expect: expect}
	if bind != "" {
		s.Bind = []string{bind}
	}
	return s
}

var transports = []string{"inproc", "tcp"}
