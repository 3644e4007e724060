package main

import (
	"context"
	"fmt"
	"regexp"
	goruntime "runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/internal/lockedbuf"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/topology"
)

func registry() (*plugins.Registry, error) {
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		return nil, err
	}
	return &reg, nil
}

func bindSock(name, typ, ep string) *topology.Socket {
	return &topology.Socket{Name: name, Type: typ, Bind: []topology.Endpoint{{URL: ep}}}
}

func connSock(name, typ, inst, sock string) *topology.Socket {
	return &topology.Socket{Name: name, Type: typ, Connect: []topology.Endpoint{{URL: "ref:" + inst + "." + sock,
		Ref: &topology.SocketRef{Instance: inst, Socket: sock}}}}
}

// epFor is the bind endpoint of the i-th bound socket of a topology.
func epFor(transport string, i int) string {
	if transport == "inproc" {
		return fmt.Sprintf("inproc://curve-%d", i)
	}
	return "tcp://127.0.0.1:0"
}

func addEdge(t *topology.Topology, from *topology.Instance, fromSock string, to *topology.Instance, toSock, ct, bt string) {
	t.Edges = append(t.Edges, &topology.Edge{Connect: topology.SocketRef{Instance: from.Name, Socket: fromSock},
		Bind: topology.SocketRef{Instance: to.Name, Socket: toSock}, ConnectType: ct, BindType: bt})
}

// idleTopology is nodes/2 `print` nodes (PULL bound) each fed by its own
// `proxy` node (PULL bound frontend, PUSH backend connected to the print):
// every node a goroutine, every edge connected, nothing flowing.
func idleTopology(nodes int, transport string) *topology.Topology {
	pairs := max(1, nodes/2)
	t := &topology.Topology{}
	pn := &topology.Node{Name: "print", Kind: "print", Count: pairs, Isolation: "goroutine"}
	xn := &topology.Node{Name: "proxy", Kind: "proxy", Count: pairs, Isolation: "goroutine"}
	t.Nodes = []*topology.Node{pn, xn}
	for i := 0; i < pairs; i++ {
		p := &topology.Instance{Name: fmt.Sprintf("print[%d]", i), Node: pn, Index: i, Attrs: cty.EmptyObjectVal,
			Sockets: []*topology.Socket{bindSock("in", "PULL", epFor(transport, 2*i))}}
		x := &topology.Instance{Name: fmt.Sprintf("proxy[%d]", i), Node: xn, Index: i, Attrs: cty.EmptyObjectVal,
			Sockets: []*topology.Socket{bindSock("frontend", "PULL", epFor(transport, 2*i+1)), connSock("backend", "PUSH", p.Name, "in")}}
		t.Instances = append(t.Instances, p, x)
		addEdge(t, x, "backend", p, "in", "PUSH", "PULL")
	}
	return t
}

// topoSize runs a -nodes topology with the real runtime and reports the
// time from Run to every node running (EventRunning), RSS and Go heap per
// node, and the shutdown time; each time also as the process's CPU time
// (user + system), the figure that means something on a shared machine.
func topoSize(c config) (map[string]any, error) {
	reg, err := registry()
	if err != nil {
		return nil, err
	}
	topo := idleTopology(c.nodes, c.transport)
	var mu sync.Mutex
	running := 0
	all := make(chan struct{})
	rt := runtime.New(topo, runtime.Options{Registry: reg, OnEvent: func(e runtime.Event) {
		if e.Kind == runtime.EventRunning {
			mu.Lock()
			if running++; running == len(topo.Instances) {
				close(all)
			}
			mu.Unlock()
		}
	}})
	h0, r0, g0 := heapInuse(), rssKB(), goruntime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	c0 := cpuTime()
	start := time.Now()
	go func() { errc <- rt.Run(ctx) }()
	select {
	case <-all:
	case err := <-errc:
		return nil, fmt.Errorf("Run returned before every node ran: %v", err)
	case <-time.After(c.idle):
		cancel()
		<-errc
		return nil, fmt.Errorf("not every node running after %v", c.idle)
	}
	ready, c1 := time.Since(start), cpuTime()
	time.Sleep(200 * time.Millisecond)
	h1, r1, g1 := heapInuse(), rssKB(), goruntime.NumGoroutine()
	stop, c2 := time.Now(), cpuTime()
	cancel()
	err = <-errc
	shutdown, c3 := time.Since(stop), cpuTime()
	nn := float64(len(topo.Instances))
	return map[string]any{"nodes": len(topo.Instances), "transport": c.transport,
		"running_ms": float64(ready.Microseconds()) / 1e3, "shutdown_ms": float64(shutdown.Microseconds()) / 1e3,
		"running_cpu_ms": float64((c1 - c0).Microseconds()) / 1e3, "shutdown_cpu_ms": float64((c3 - c2).Microseconds()) / 1e3,
		"rss_bytes_per_node": float64(r1-r0) * 1024 / nn, "heap_bytes_per_node": float64(int64(h1)-int64(h0)) / nn,
		"goroutines_per_node": float64(g1-g0) / nn}, err
}

var countRateRe = regexp.MustCompile(`Received (\d+) messages in ([0-9.]+) s \((\d+) msgs/s\)`)

// proxyChain runs generate → proxy × hops → count (PULL/PUSH streamers,
// every node a goroutine) with the real runtime and reports count's rate
// (first to last message).
func proxyChain(c config) (map[string]any, error) {
	reg, err := registry()
	if err != nil {
		return nil, err
	}
	t := &topology.Topology{}
	mk := func(name, kind string, attrs map[string]cty.Value, socks ...*topology.Socket) *topology.Instance {
		n := &topology.Node{Name: name, Kind: kind, Count: -1, Isolation: "goroutine"}
		t.Nodes = append(t.Nodes, n)
		a := cty.EmptyObjectVal
		if attrs != nil {
			a = cty.ObjectVal(attrs)
		}
		in := &topology.Instance{Name: name, Node: n, Attrs: a, Sockets: socks}
		t.Instances = append(t.Instances, in)
		return in
	}
	count := mk("count", "count", map[string]cty.Value{"expect": cty.NumberIntVal(int64(c.n))},
		bindSock("in", "PULL", epFor(c.transport, 0)))
	next, nextSock := count, "in"
	for i := c.hops; i >= 1; i-- {
		name := fmt.Sprintf("proxy%d", i)
		x := mk(name, "proxy", nil, bindSock("frontend", "PULL", epFor(c.transport, i)), connSock("backend", "PUSH", next.Name, nextSock))
		addEdge(t, x, "backend", next, nextSock, "PUSH", "PULL")
		next, nextSock = x, "frontend"
	}
	gen := mk("generate", "generate", map[string]cty.Value{"messages": cty.NumberIntVal(int64(c.n)),
		"size": cty.NumberIntVal(int64(c.size)), "rate": cty.NumberIntVal(0)}, connSock("out", "PUSH", next.Name, nextSock))
	addEdge(t, gen, "out", next, nextSock, "PUSH", "PULL")

	var out lockedbuf.Buffer
	rt := runtime.New(t, runtime.Options{Registry: reg, Stdout: &out})
	ctx, cancel := context.WithTimeout(context.Background(), c.idle+time.Minute)
	defer cancel()
	if err := rt.Run(ctx); err != nil {
		return nil, err
	}
	m := countRateRe.FindStringSubmatch(out.String())
	if m == nil {
		return nil, fmt.Errorf("no rate in count's output %q", out.String())
	}
	n, _ := strconv.Atoi(m[1])
	el, _ := strconv.ParseFloat(m[2], 64)
	res := map[string]any{"hops": c.hops, "transport": c.transport, "count": n, "expect": c.n, "gaps": 0, "elapsed_s": el}
	res["msgs_per_s"], _ = strconv.ParseFloat(m[3], 64)
	return res, nil
}

// cpuTime is the process's user and system CPU time so far (0 if
// getrusage fails).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
