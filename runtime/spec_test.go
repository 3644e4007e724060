package runtime

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/topo-zmq/topo/internal/endpoint"
	"github.com/topo-zmq/topo/topology"
)

func pipelineTopo(workers int) *topology.Topology {
	return mkTopo(
		tnode{name: "ventilator", kind: "ventilator", sockets: []*topology.Socket{
			bindSock("out", "PUSH", "tcp://127.0.0.1:0"), connSock("sink", "PUSH", "sink.in")}},
		tnode{name: "worker", kind: "worker", count: workers, sockets: []*topology.Socket{
			connSock("in", "PULL", "ventilator.out"), connSock("out", "PUSH", "sink.in")}},
		tnode{name: "sink", kind: "sink", sockets: []*topology.Socket{bindSock("in", "PULL", "tcp://127.0.0.1:0")}},
	)
}

func TestExpectations(t *testing.T) {
	exp := expectations(pipelineTopo(4))
	want := map[string]int{"ventilator.out": 4, "ventilator.sink": 1, "sink.in": 5, "worker[0].in": 1, "worker[3].out": 1}
	for k, v := range want {
		inst, sock, _ := cutLast(k, ".")
		if got := exp[topology.SocketRef{Instance: inst, Socket: sock}]; got != v {
			t.Errorf("%s expects %d, want %d", k, got, v)
		}
	}

	pubsub := mkTopo(
		tnode{name: "pub", kind: "weather-publisher", sockets: []*topology.Socket{bindSock("out", "PUB", "inproc://w")}},
		tnode{name: "sub", kind: "weather-client", count: 2, sockets: []*topology.Socket{connSock("in", "SUB", "pub.out")}},
	)
	exp = expectations(pubsub)
	if got := exp[topology.SocketRef{Instance: "pub", Socket: "out"}]; got != 2 {
		t.Errorf("pub.out expects %d subscribers, want 2", got)
	}
	if got := exp[topology.SocketRef{Instance: "sub[1]", Socket: "in"}]; got != 1 {
		t.Errorf("sub[1].in expects %d, want 1", got)
	}
}

func TestConnectable(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://*:7555":         "tcp://127.0.0.1:7555",
		"tcp://0.0.0.0:1":      "tcp://127.0.0.1:1",
		"tcp://[::]:7":         "tcp://[::1]:7",
		"tcp://10.0.0.1:9":     "tcp://10.0.0.1:9",
		"ipc:///tmp/x.ipc":     "ipc:///tmp/x.ipc",
		"inproc://a":           "inproc://a",
		"tcp://127.0.0.1:4321": "tcp://127.0.0.1:4321",
	} {
		if got := endpoint.Connectable(in); got != want {
			t.Errorf("connectable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolveConnectsUsesActualEndpoints(t *testing.T) {
	topo := pipelineTopo(2)
	// As the loader writes it: the reference resolves to the declared bind.
	for _, in := range topo.Instances {
		for _, s := range in.Sockets {
			for i := range s.Connect {
				s.Connect[i].URL = "tcp://127.0.0.1:0"
			}
		}
	}
	bound := map[string]map[string][]string{
		"ventilator": {"out": {"tcp://127.0.0.1:40001"}},
		"sink":       {"in": {"tcp://127.0.0.1:40002"}},
	}
	byName := map[string]*topology.Instance{}
	for _, in := range topo.Instances {
		byName[in.Name] = in
	}
	got := resolveConnects(topo.Instances[1], byName, bound, nil)
	if g := strings.Join(got["in"], ","); g != "tcp://127.0.0.1:40001" {
		t.Errorf("worker[0].in connects %q", g)
	}
	if g := strings.Join(got["out"], ","); g != "tcp://127.0.0.1:40002" {
		t.Errorf("worker[0].out connects %q", g)
	}
	// A literal connect (no reference) is kept as written.
	lit := &topology.Instance{Name: "x", Sockets: []*topology.Socket{{Name: "in", Type: "SUB", Connect: []topology.Endpoint{{URL: "tcp://example.org:1"}}}}}
	if g := resolveConnects(lit, byName, bound, nil)["in"]; len(g) != 1 || g[0] != "tcp://example.org:1" {
		t.Errorf("literal connect = %v", g)
	}
}

// TestResolveConnectsOneRule: a reference to one of several binds of a
// socket connects to that bind's actual endpoint only, whatever host the
// bind names, because topology wrote the reference's URL with the rule
// resolveConnects matches it by (endpoint.Connectable). With the runtime's
// own rule, a "localhost" bind matched nothing and the connect went to every
// bind of the socket.
func TestResolveConnectsOneRule(t *testing.T) {
	pub := &topology.Instance{Name: "pub", Sockets: []*topology.Socket{bindSock("out", "PUB", "tcp://localhost:7001", "tcp://0.0.0.0:7002")}}
	byName := map[string]*topology.Instance{"pub": pub}
	bound := map[string]map[string][]string{"pub": {"out": {"tcp://127.0.0.1:7001", "tcp://0.0.0.0:7002"}}}
	for i, want := range []string{"tcp://127.0.0.1:7001", "tcp://127.0.0.1:7002"} {
		ref := endpoint.Connectable(pub.Sockets[0].Bind[i].URL) // as the loader writes node.pub.out[i]
		sub := &topology.Instance{Name: "sub", Sockets: []*topology.Socket{{Name: "in", Type: "SUB",
			Connect: []topology.Endpoint{{URL: ref, Ref: &topology.SocketRef{Instance: "pub", Socket: "out"}}}}}}
		if g := strings.Join(resolveConnects(sub, byName, bound, nil)["in"], ","); g != want {
			t.Errorf("a reference to bind %d (%s) connects %q, want %q", i, ref, g, want)
		}
	}
}

func TestPrefixWriterLines(t *testing.T) {
	var buf bytes.Buffer
	mux := &lineMux{w: &buf, width: 9}
	a, b := mux.writer("a"), mux.writer("worker[1]")
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); a.Write([]byte("hel")); a.Write([]byte("lo\n")) }()
		go func() { defer wg.Done(); b.Write([]byte("one\ntwo\n")) }()
	}
	wg.Wait()
	a.Write([]byte("partial"))
	a.Flush()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	counts := map[string]int{}
	for _, l := range lines {
		counts[l]++
	}
	if counts["worker[1] | one"] != 50 || counts["worker[1] | two"] != 50 || counts["a         | partial"] != 1 {
		t.Errorf("lines = %v", counts)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "a         | ") && !strings.HasPrefix(l, "worker[1] | ") {
			t.Errorf("unprefixed line %q", l)
		}
	}
}
