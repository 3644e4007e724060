package pluginhost

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/topo-zmq/topo/examples/plugin/text"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

// benchPipeline pushes b.N 16-byte messages from a test PUSH through one
// "upper" node to a test PULL, over tcp loopback, and reports msgs/s. The
// node is either in-process (plugins.NewActor, a goroutine node) or in a
// plugin process (Host.Launch): the sockets and the kind are the same.
func benchPipeline(b *testing.B, launch func(ctx context.Context, spec plugins.Spec) (plugins.Actor, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var sctx socket.Context
	defer sctx.Close()
	src, _ := sctx.NewSocket(socket.PUSH, socket.Options{})
	defer src.Close()
	sink, _ := sctx.NewSocket(socket.PULL, socket.Options{})
	defer sink.Close()
	if err := src.Bind("tcp://127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	if err := sink.Bind("tcp://127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	spec := plugins.Spec{Name: "upper", Kind: "upper", Sockets: []plugins.SocketSpec{
		{Name: "in", Type: socket.PULL, Expect: 1},
		{Name: "out", Type: socket.PUSH, Expect: 1},
	}}
	a, err := launch(ctx, spec)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Bind(ctx); err != nil {
		b.Fatal(err)
	}
	if err := a.Connect(ctx, map[string][]string{"in": src.Endpoints(), "out": sink.Endpoints()}); err != nil {
		b.Fatal(err)
	}
	if err := a.Ready(ctx); err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	// Warm up the path.
	for range 1000 {
		src.Send(ctx, socket.Msg{make([]byte, 16)})
		if _, err := sink.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
	payload := make([]byte, 16)
	b.ResetTimer()
	start := time.Now()
	sendErr := make(chan error, 1)
	go func() {
		for range b.N {
			if err := src.Send(ctx, socket.Msg{payload}); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- nil
	}()
	for range b.N {
		if _, err := sink.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.StopTimer()
	if err := <-sendErr; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkThroughput compares the same kind as a goroutine node and as a
// plugin node (target: plugin ≥ 90% of goroutine).
//
//	go test -run '^$' -bench Throughput -benchtime 200000x ./runtime/pluginhost
func BenchmarkThroughput(b *testing.B) {
	b.Run("goroutine", func(b *testing.B) {
		benchPipeline(b, func(ctx context.Context, spec plugins.Spec) (plugins.Actor, error) {
			var sc socket.Context
			b.Cleanup(func() { sc.Close() })
			return plugins.NewActor(text.Upper(), spec, &sc, io.Discard, nil)
		})
	})
	b.Run("plugin", func(b *testing.B) {
		var env []string
		if v := os.Getenv("BENCH_PLUGIN_GOMAXPROCS"); v != "" {
			env = append(env, "GOMAXPROCS="+v)
		}
		h := newHost(b, Options{Env: env})
		benchPipeline(b, func(ctx context.Context, spec plugins.Spec) (plugins.Actor, error) {
			return h.Launch(ctx, nil, "", spec, io.Discard, nil)
		})
	})
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
