package builtin

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

// BenchmarkGenerateCount moves b.N 16-byte messages from a generate node to
// a count node, both run by NewActor, over inproc and tcp. Compare with
// BenchmarkHandWired, the same sockets driven by a bare loop.
func BenchmarkGenerateCount(b *testing.B) {
	for _, tr := range []string{"inproc", "tcp"} {
		b.Run(tr, func(b *testing.B) {
			var reg plugins.Registry
			if err := Register(&reg); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			var sc socket.Context
			defer sc.Close()
			ep := "tcp://127.0.0.1:0"
			if tr == "inproc" {
				ep = "inproc://bench-" + b.Name()
			}
			gk, _ := reg.Lookup("generate")
			ck, _ := reg.Lookup("count")
			n := cty.NumberIntVal(int64(b.N))
			gen, err := plugins.NewActor(gk, plugins.Spec{Name: "gen", Attrs: cty.ObjectVal(map[string]cty.Value{"messages": n}),
				Sockets: []plugins.SocketSpec{{Name: "out", Type: socket.PUSH, Bind: []string{ep}, Expect: 1}}}, &sc, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer gen.Close()
			cnt, err := plugins.NewActor(ck, plugins.Spec{Name: "count", Attrs: cty.ObjectVal(map[string]cty.Value{"expect": n}),
				Sockets: []plugins.SocketSpec{{Name: "in", Type: socket.PULL, Expect: 1}}}, &sc, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer cnt.Close()
			eps, err := gen.Bind(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := cnt.Bind(ctx); err != nil {
				b.Fatal(err)
			}
			if err := cnt.Connect(ctx, map[string][]string{"in": eps["out"]}); err != nil {
				b.Fatal(err)
			}
			for _, a := range []plugins.Actor{gen, cnt} {
				if err := a.Ready(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(16)
			b.ResetTimer()
			errc := make(chan error, 1)
			go func() { errc <- gen.Run(ctx) }()
			if err := cnt.Run(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkHandWired is the baseline: the same PUSH/PULL pair and 16-byte
// messages, no actor, no node.
func BenchmarkHandWired(b *testing.B) {
	for _, tr := range []string{"inproc", "tcp"} {
		b.Run(tr, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			var sc socket.Context
			defer sc.Close()
			push, _ := sc.NewSocket(socket.PUSH, socket.Options{})
			pull, _ := sc.NewSocket(socket.PULL, socket.Options{})
			defer push.Close()
			defer pull.Close()
			ep := "tcp://127.0.0.1:0"
			if tr == "inproc" {
				ep = fmt.Sprintf("inproc://hand-%s", b.Name())
			}
			if err := push.Bind(ep); err != nil {
				b.Fatal(err)
			}
			if err := pull.Connect(push.Endpoints()[0]); err != nil {
				b.Fatal(err)
			}
			if err := push.WaitPeers(ctx, 1); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(16)
			b.ResetTimer()
			errc := make(chan error, 1)
			go func() {
				for i := 0; i < b.N; i++ {
					if err := push.Send(ctx, socket.Msg{make([]byte, 16)}); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			for i := 0; i < b.N; i++ {
				if _, err := pull.Recv(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
