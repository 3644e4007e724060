package runtime

import (
	"context"
	"fmt"
	"regexp"
	goruntime "runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/internal/benchpair"
	"github.com/topo-zmq/topo/internal/endpoint"
	"github.com/topo-zmq/topo/internal/lockedbuf"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// benchMsgs is how many 16-byte messages one iteration moves.
const benchMsgs = 1_000_000

func genCountTopo(ep string, msgs int) *topology.Topology {
	t := mkTopo(
		tnode{name: "count", kind: "count", sockets: []*topology.Socket{bindSock("in", "PULL", ep)}},
		tnode{name: "generate", kind: "generate", sockets: []*topology.Socket{connSock("out", "PUSH", "count.in")}},
	)
	setAttrs(t, "generate", map[string]cty.Value{"messages": cty.NumberIntVal(int64(msgs)), "size": cty.NumberIntVal(16), "rate": cty.NumberIntVal(0)})
	setAttrs(t, "count", map[string]cty.Value{"expect": cty.NumberIntVal(int64(msgs))})
	return t
}

// BenchmarkGenerateCount compares the same PUSH→PULL transfer run as a
// topo topology (generate → count) and wired by hand in Go, over tcp and
// inproc. Each iteration moves benchMsgs 16-byte messages. Two rates:
// msgs/s is end to end, set-up and shutdown included (the runtime binds,
// waits for readiness and stops its nodes; hand-wired does less);
// steady-msgs/s is from the first to the last message received, which is
// what issue 4's overhead target compares: count reports it, and the
// hand-wired receiver measures it the same way.
func BenchmarkGenerateCount(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr.name+"/runtime", func(b *testing.B) {
			reg := builtinRegistry(b)
			series(b, func() float64 { return viaRuntime(b, reg, tr.ep) })
		})
		b.Run(tr.name+"/hand-wired", func(b *testing.B) {
			series(b, func() float64 { return byHand(b, tr.ep) })
		})
	}
}

// series runs one benchMsgs transfer per iteration and reports the
// end-to-end rate and the mean steady rate returned by transfer.
func series(b *testing.B, transfer func() float64) {
	var steady float64
	start := time.Now()
	for i := 0; i < b.N; i++ {
		steady += transfer()
	}
	b.ReportMetric(float64(benchMsgs*b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(steady/float64(b.N), "steady-msgs/s")
}

// BenchmarkGenerateCountPaired runs the runtime and the hand-wired
// transfer alternately, b.N pairs, and reports the median of the paired
// steady-state ratios (runtime ÷ hand-wired): on a machine whose speed
// drifts from one minute to the next, pairs taken seconds apart compare
// like with like, where BenchmarkGenerateCount's separate series do not.
func BenchmarkGenerateCountPaired(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr.name, func(b *testing.B) {
			reg := builtinRegistry(b)
			benchpair.Run(b,
				func() float64 { return viaRuntime(b, reg, tr.ep) },
				func() float64 { return byHand(b, tr.ep) })
		})
	}
}

var benchTransports = []struct{ name, ep string }{
	{"tcp", "tcp://127.0.0.1:0"},
	{"inproc", "inproc://bench"},
}

var countRateRe = regexp.MustCompile(`\((\d+) msgs/s\)`)

// viaRuntime runs the generate → count topology once and returns count's
// steady rate (first to last message received).
func viaRuntime(b *testing.B, reg *plugins.Registry, ep string) float64 {
	var out lockedbuf.Buffer
	rt := New(genCountTopo(ep, benchMsgs), Options{Registry: reg, Stdout: &out})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err := rt.Run(ctx)
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	m := countRateRe.FindStringSubmatch(out.String())
	if m == nil {
		b.Fatalf("no rate in count's output: %q", out.String())
	}
	r, _ := strconv.ParseFloat(m[1], 64)
	return r
}

// byHand runs handWired once and returns its steady rate.
func byHand(b *testing.B, ep string) float64 {
	r, err := handWired(ep, benchMsgs)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// handWired is generate → count written directly against runtime/socket:
// the same sockets, the same wait for the peer, the same message size. It
// returns the receive rate from the first to the last message, timed as
// count times it.
func handWired(ep string, n int) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var sc socket.Context
	defer sc.Close()
	pull, err := sc.NewSocket(socket.PULL, socket.Options{})
	if err != nil {
		return 0, err
	}
	defer pull.Close()
	if err := pull.Bind(ep); err != nil {
		return 0, err
	}
	push, err := sc.NewSocket(socket.PUSH, socket.Options{})
	if err != nil {
		return 0, err
	}
	defer push.Close()
	if err := push.Connect(endpoint.Connectable(pull.Endpoints()[0])); err != nil {
		return 0, err
	}
	if err := push.WaitPeers(ctx, 1); err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	var sendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Messages are carved out of batch buffers, as generate does.
		const batch = 1024
		var msgs socket.Msg
		for i := 0; i < n; i++ {
			k := i % batch
			if k == 0 {
				data := make([]byte, 16*batch)
				msgs = make(socket.Msg, batch)
				for j := range msgs {
					msgs[j] = data[j*16 : (j+1)*16 : (j+1)*16]
				}
			}
			if err := push.Send(ctx, msgs[k:k+1:k+1]); err != nil {
				sendErr = err
				return
			}
		}
	}()
	var first time.Time
	for i := 0; i < n; i++ {
		if _, err := pull.Recv(ctx); err != nil {
			return 0, err
		}
		if i == 0 {
			first = time.Now()
		}
	}
	el := time.Since(first)
	wg.Wait()
	if sendErr != nil {
		return 0, sendErr
	}
	return float64(n-1) / el.Seconds(), nil
}

// idleTopo is 100 workers (PULL bound, idle) each pushing to its own print
// node: 200 nodes, 100 edges, nothing flowing.
func idleTopo(pairs int, ep func(i int) string) *topology.Topology {
	t := &topology.Topology{}
	wn := &topology.Node{Name: "worker", Kind: "worker", Count: pairs, Isolation: "goroutine"}
	pn := &topology.Node{Name: "print", Kind: "print", Count: pairs, Isolation: "goroutine"}
	t.Nodes = []*topology.Node{wn, pn}
	for i := 0; i < pairs; i++ {
		p := &topology.Instance{Name: fmt.Sprintf("print[%d]", i), Node: pn, Index: i, Attrs: cty.EmptyObjectVal,
			Sockets: []*topology.Socket{bindSock("in", "PULL", ep(2*i))}}
		w := &topology.Instance{Name: fmt.Sprintf("worker[%d]", i), Node: wn, Index: i, Attrs: cty.EmptyObjectVal,
			Sockets: []*topology.Socket{bindSock("in", "PULL", ep(2*i+1)), connSock("out", "PUSH", p.Name+".in")}}
		t.Instances = append(t.Instances, w, p)
		t.Edges = append(t.Edges, &topology.Edge{Connect: topology.SocketRef{Instance: w.Name, Socket: "out"},
			Bind: topology.SocketRef{Instance: p.Name, Socket: "in"}, ConnectType: "PUSH", BindType: "PULL"})
	}
	return t
}

// Benchmark200Nodes measures, for a 200-node topology: the time from Run
// to every node running with its edges connected, the memory an idle node
// costs (heap in use, after GC), and the shutdown time.
func Benchmark200Nodes(b *testing.B) {
	for _, tr := range []string{"tcp", "inproc"} {
		b.Run(tr, func(b *testing.B) {
			ep := func(int) string { return "tcp://127.0.0.1:0" }
			if tr == "inproc" {
				ep = func(i int) string { return fmt.Sprintf("inproc://n%d", i) }
			}
			reg := builtinRegistry(b)
			var ready, shutdown time.Duration
			var perNode float64
			var gorPerNode float64
			for i := 0; i < b.N; i++ {
				topo := idleTopo(100, ep)
				var mu sync.Mutex
				running := 0
				all := make(chan struct{})
				rt := New(topo, Options{Registry: reg, OnEvent: func(e Event) {
					if e.Kind == EventRunning {
						mu.Lock()
						if running++; running == len(topo.Instances) {
							close(all)
						}
						mu.Unlock()
					}
				}})
				goruntime.GC()
				var before, after goruntime.MemStats
				goruntime.ReadMemStats(&before)
				g0 := goruntime.NumGoroutine()
				ctx, cancel := context.WithCancel(context.Background())
				errc := make(chan error, 1)
				start := time.Now()
				go func() { errc <- rt.Run(ctx) }()
				select {
				case <-all:
				case err := <-errc:
					b.Fatalf("Run returned early: %v", err)
				case <-time.After(30 * time.Second):
					b.Fatal("not all nodes running after 30s")
				}
				ready += time.Since(start)
				goruntime.GC()
				goruntime.ReadMemStats(&after)
				perNode += float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / float64(len(topo.Instances))
				gorPerNode += float64(goruntime.NumGoroutine()-g0) / float64(len(topo.Instances))
				stop := time.Now()
				cancel()
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
				shutdown += time.Since(stop)
			}
			n := float64(b.N)
			b.ReportMetric(float64(ready.Milliseconds())/n, "ms-to-running")
			b.ReportMetric(perNode/n/1024, "KiB/idle-node")
			b.ReportMetric(gorPerNode/n, "goroutines/node")
			b.ReportMetric(float64(shutdown.Milliseconds())/n, "ms-shutdown")
		})
	}
}
