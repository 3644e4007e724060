package pluginhost

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/topo-zmq/topo/examples/plugin/text"
	"github.com/topo-zmq/topo/internal/benchpair"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

// pipelineRate pushes n messages of msgSize() bytes from a test PUSH through
// one "upper" node to a test PULL, over tcp loopback, and returns the rate in
// msgs/s from the first send to the last receive. The node is either
// in-process (plugins.NewActor, a goroutine node) or in a plugin process
// (Host.Launch): the sockets and the kind are the same.
func pipelineRate(n int, launch func(ctx context.Context, spec plugins.Spec) (plugins.Actor, error)) (float64, error) {
	r, _, err := pipelineRun(n, launch)
	return r, err
}

// cpuCost is what a pipelineRun cost per message: CPU time and context
// switches of the test process and of the plugin process (0 for a
// goroutine node).
type cpuCost struct {
	hostNs, pluginNs, hostSw, pluginSw float64
	// read and write system calls per message, both processes
	reads, writes float64
}

// pipelineRun is pipelineRate that also measures cpuCost.
func pipelineRun(n int, launch func(ctx context.Context, spec plugins.Spec) (plugins.Actor, error)) (float64, cpuCost, error) {
	var cost cpuCost
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var sctx socket.Context
	defer sctx.Close()
	src, _ := sctx.NewSocket(socket.PUSH, socket.Options{})
	defer src.Close()
	sink, _ := sctx.NewSocket(socket.PULL, socket.Options{})
	defer sink.Close()
	if err := src.Bind("tcp://127.0.0.1:0"); err != nil {
		return 0, cost, err
	}
	if err := sink.Bind("tcp://127.0.0.1:0"); err != nil {
		return 0, cost, err
	}
	spec := plugins.Spec{Name: "upper", Kind: "upper", Sockets: []plugins.SocketSpec{
		{Name: "in", Type: socket.PULL, Expect: 1},
		{Name: "out", Type: socket.PUSH, Expect: 1},
	}}
	a, err := launch(ctx, spec)
	if err != nil {
		return 0, cost, err
	}
	defer a.Close()
	if _, err := a.Bind(ctx); err != nil {
		return 0, cost, err
	}
	if err := a.Connect(ctx, map[string][]string{"in": src.Endpoints(), "out": sink.Endpoints()}); err != nil {
		return 0, cost, err
	}
	if err := a.Ready(ctx); err != nil {
		return 0, cost, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	// Warm up the path.
	for range 1000 {
		if err := src.Send(ctx, socket.Msg{make([]byte, 16)}); err != nil {
			return 0, cost, err
		}
		if _, err := sink.Recv(ctx); err != nil {
			return 0, cost, err
		}
	}
	payload := make([]byte, msgSize())
	pid := 0
	if p, ok := a.(interface{ PID() int }); ok {
		pid = p.PID()
	}
	h0, hs0 := procCPU(os.Getpid())
	p0, ps0 := procCPU(pid)
	hr0, hw0 := procSyscalls(os.Getpid())
	pr0, pw0 := procSyscalls(pid)
	start := time.Now()
	sendErr := make(chan error, 1)
	go func() {
		for range n {
			if err := src.Send(ctx, socket.Msg{payload}); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- nil
	}()
	for range n {
		if _, err := sink.Recv(ctx); err != nil {
			return 0, cost, err
		}
	}
	el := time.Since(start)
	h1, hs1 := procCPU(os.Getpid())
	p1, ps1 := procCPU(pid)
	hr1, hw1 := procSyscalls(os.Getpid())
	pr1, pw1 := procSyscalls(pid)
	cost = cpuCost{float64(h1-h0) / float64(n), float64(p1-p0) / float64(n), float64(hs1-hs0) / float64(n), float64(ps1-ps0) / float64(n),
		float64(hr1-hr0+pr1-pr0) / float64(n), float64(hw1-hw0+pw1-pw0) / float64(n)}
	if err := <-sendErr; err != nil {
		return 0, cost, err
	}
	stop()
	if err := <-done; err != nil {
		return 0, cost, err
	}
	return float64(n) / el.Seconds(), cost, nil
}

// msgSize is the benchmark's message size: BENCH_MSG_SIZE bytes, default 16.
func msgSize() int {
	if v, err := strconv.Atoi(os.Getenv("BENCH_MSG_SIZE")); err == nil && v > 0 {
		return v
	}
	return 16
}

func goroutineNode(ctx context.Context, spec plugins.Spec) (plugins.Actor, error) {
	sc := &socket.Context{}
	a, err := plugins.NewActor(text.Upper(), spec, sc, io.Discard, nil)
	if err != nil {
		sc.Close()
		return nil, err
	}
	return closingActor{a, sc}, nil
}

// closingActor closes the goroutine node's socket context with the node.
type closingActor struct {
	plugins.Actor
	sc *socket.Context
}

func (c closingActor) Close() error {
	err := c.Actor.Close()
	c.sc.Close()
	return err
}

func pluginNode(b *testing.B) func(ctx context.Context, spec plugins.Spec) (plugins.Actor, error) {
	// BENCH_PLUGIN_GOMAXPROCS=N, and BENCH_PLUGIN_ENV="K=V K=V", go into the
	// plugin processes' environment.
	env := strings.Fields(os.Getenv("BENCH_PLUGIN_ENV"))
	if v := os.Getenv("BENCH_PLUGIN_GOMAXPROCS"); v != "" {
		env = append(env, "GOMAXPROCS="+v)
	}
	h := newHost(b, Options{Env: env})
	return func(ctx context.Context, spec plugins.Spec) (plugins.Actor, error) {
		return h.Launch(ctx, nil, "", spec, io.Discard, nil)
	}
}

// BenchmarkThroughput measures the same kind as a goroutine node and as a
// plugin node, b.N messages each (target: plugin ≥ 90% of goroutine; see
// BenchmarkThroughputPaired for the ratio). Besides the rate it reports what
// a message cost: CPU time and context switches of the test process and of
// the plugin process, and read/write system calls of both (from /proc).
// BENCH_PLUGIN_CPUPROFILE=PATH profiles the plugin processes (PATH.PID).
//
//	go test -run '^$' -bench 'Throughput/' -benchtime 2000000x ./runtime/pluginhost
func BenchmarkThroughput(b *testing.B) {
	for _, v := range []struct {
		name   string
		launch func(*testing.B) func(context.Context, plugins.Spec) (plugins.Actor, error)
	}{
		{"goroutine", func(*testing.B) func(context.Context, plugins.Spec) (plugins.Actor, error) { return goroutineNode }},
		{"plugin", pluginNode},
	} {
		b.Run(v.name, func(b *testing.B) {
			launch := v.launch(b)
			b.ResetTimer()
			r, cost, err := pipelineRun(b.N, launch)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r, "msgs/s")
			b.ReportMetric(cost.hostNs, "host-cpu-ns/msg")
			b.ReportMetric(cost.pluginNs, "plugin-cpu-ns/msg")
			b.ReportMetric(cost.hostSw*1000, "host-switches/kmsg")
			b.ReportMetric(cost.pluginSw*1000, "plugin-switches/kmsg")
			b.ReportMetric(cost.reads*1000, "reads/kmsg")
			b.ReportMetric(cost.writes*1000, "writes/kmsg")
		})
	}
}

// BenchmarkThroughputPaired runs the plugin node and the goroutine node
// alternately, b.N pairs of 1,000,000 messages (PAIRED_MSGS overrides), and
// reports the median of the per-pair ratios plugin ÷ goroutine.
//
//	go test -run '^$' -bench ThroughputPaired -benchtime 10x ./runtime/pluginhost
func BenchmarkThroughputPaired(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("PAIRED_MSGS")); err == nil && v > 0 {
		n = v
	}
	plugin := pluginNode(b)
	rate := func(launch func(context.Context, plugins.Spec) (plugins.Actor, error)) func() float64 {
		return func() float64 {
			r, err := pipelineRate(n, launch)
			if err != nil {
				b.Fatal(err)
			}
			return r
		}
	}
	benchpair.Run(b, rate(plugin), rate(goroutineNode))
}

// BenchmarkStartToReady measures Launch (process start, go-plugin
// handshake with AutoMTLS, Describe) + Bind + Connect + Ready of a plugin
// node, then Close.
//
//	go test -run '^$' -bench StartToReady ./runtime/pluginhost
func BenchmarkStartToReady(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h := newHost(b, Options{})
	spec := plugins.Spec{Name: "upper", Kind: "upper", Sockets: []plugins.SocketSpec{
		{Name: "in", Type: socket.PULL, Bind: []string{"tcp://127.0.0.1:0"}},
		{Name: "out", Type: socket.PUSH},
	}}
	var ready, closing time.Duration
	for range b.N {
		t0 := time.Now()
		a, err := h.Launch(ctx, nil, "", spec, io.Discard, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Bind(ctx); err != nil {
			b.Fatal(err)
		}
		if err := a.Connect(ctx, nil); err != nil {
			b.Fatal(err)
		}
		if err := a.Ready(ctx); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		a.Close()
		ready += t1.Sub(t0)
		closing += time.Since(t1)
	}
	b.ReportMetric(float64(ready.Milliseconds())/float64(b.N), "ms-to-ready")
	b.ReportMetric(float64(closing.Milliseconds())/float64(b.N), "ms-to-close")
}
