package socket

import (
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// idlePeers connects n hand-written ZMTP peers (NULL, as PUSH) to the tcp
// endpoint ep and completes their handshakes; they never send again. They
// are closed at the end of the test.
func idlePeers(tb testing.TB, ep string, n int) []net.Conn {
	tb.Helper()
	addr := strings.TrimPrefix(ep, "tcp://")
	hs := append(greeting(), frame0(flagCommand, readyBody("PUSH"))...)
	peers := make([]net.Conn, 0, n)
	tb.Cleanup(func() {
		for _, c := range peers {
			_ = c.Close()
		}
	})
	g := make([]byte, 64+128)
	for i := 0; i < n; i++ {
		nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			tb.Fatal(err)
		}
		peers = append(peers, nc)
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := nc.Write(hs); err != nil {
			tb.Fatal(err)
		}
		// The greeting and the start of READY: the peer never reads again.
		if _, err := io.ReadAtLeast(nc, g, 64+2); err != nil {
			tb.Fatal(err)
		}
	}
	return peers
}

func frame0(flags byte, body []byte) []byte {
	return append([]byte{flags, byte(len(body))}, body...)
}

// heapPerIdleConn binds a PULL, connects n idle peers to it and returns the
// Go heap and goroutine stack memory in use (after a GC) per connection,
// the peers' own included.
func heapPerIdleConn(tb testing.TB, n int) (heap, stack float64, s *Socket) {
	zc := &Context{}
	tb.Cleanup(func() { _ = zc.Close() })
	s, err := zc.NewSocket(PULL, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Bind("tcp://127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	idlePeers(tb, s.Endpoints()[0], n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.WaitPeers(ctx, n); err != nil {
		tb.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	return float64(int64(m1.HeapInuse)-int64(m0.HeapInuse)) / float64(n),
		float64(int64(m1.StackInuse)-int64(m0.StackInuse)) / float64(n), s
}

// TestIdleConnsHoldNoBuffers: a connection with nothing in flight holds
// neither of its 64 KiB buffers (bufpool.go); it held both, 136 KB of heap
// per idle peer. A peer that was idle is still read and written.
func TestIdleConnsHoldNoBuffers(t *testing.T) {
	heap, stack, s := heapPerIdleConn(t, 200)
	t.Logf("per idle connection: heap %.0f B, goroutine stacks %.0f B", heap, stack)
	if heap > 32<<10 {
		t.Fatalf("an idle connection holds %.0f B of heap, want at most 32 KiB (its buffers go back to the pool)", heap)
	}
	// The socket still serves a live peer, and so do the idle ones.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	push, err := s.ctx.NewSocket(PUSH, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := push.Connect(s.Endpoints()[0]); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := push.Send(ctx, Msg{[]byte("live")}); err != nil {
			t.Fatal(err)
		}
		m, err := s.Recv(ctx)
		if err != nil || string(m[0]) != "live" {
			t.Fatalf("Recv after idle: %q %v", m, err)
		}
		time.Sleep(20 * time.Millisecond) // idle again between messages
	}
}

// BenchmarkIdleConns: b.N idle peers connected to one bound PULL, as the
// cost curves' "conns" curve holds them: heap-B/conn and stack-B/conn are
// what the process holds per idle connection after a GC.
//
//	go test -run XXX -bench IdleConns -benchtime 2000x ./runtime/socket/
func BenchmarkIdleConns(b *testing.B) {
	heap, stack, _ := heapPerIdleConn(b, b.N)
	b.ReportMetric(heap, "heap-B/conn")
	b.ReportMetric(stack, "stack-B/conn")
}

// TestIdleConnHoldsOneGoroutine: with nothing to write and no heartbeat, a
// connection keeps only its reader goroutine; the writer starts again when
// there is something to send, every time the connection went idle, and
// Close still flushes what is queued (linger) on connections whose writer
// had ended.
func TestIdleConnHoldsOneGoroutine(t *testing.T) {
	const n = 50
	zc := &Context{}
	defer zc.Close()
	push, err := zc.NewSocket(PUSH, Options{Linger: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := push.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g0 := runtime.NumGoroutine()
	pulls := make([]*Socket, n)
	for i := range pulls {
		if pulls[i], err = zc.NewSocket(PULL, Options{}); err != nil {
			t.Fatal(err)
		}
		if err := pulls[i].Connect(push.Endpoints()[0]); err != nil {
			t.Fatal(err)
		}
	}
	if err := push.WaitPeers(ctx, n); err != nil {
		t.Fatal(err)
	}
	for _, p := range pulls {
		if err := p.WaitPeers(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	// Each pair is two connections, one per side (the PULL's reader is
	// its connector goroutine): with one goroutine per idle connection
	// that is 2 goroutines per pair, with a writer kept on each it was 4.
	perPair := func() float64 {
		var g int
		for i := 0; i < 100; i++ { // writers that just flushed are ending
			if g = runtime.NumGoroutine() - g0; g <= 2*n {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		return float64(g) / n
	}
	if g := perPair(); g > 2 {
		t.Fatalf("%.2f goroutines per idle PUSH-PULL pair, want at most 2 (a reader per connection, no writer)", g)
	}
	for round := 0; round < 3; round++ {
		for i := 0; i < n; i++ {
			if err := push.Send(ctx, Msg{[]byte("after idle")}); err != nil {
				t.Fatal(err)
			}
		}
		for i, p := range pulls { // round robin: one each
			m, err := p.Recv(ctx)
			if err != nil || string(m[0]) != "after idle" {
				t.Fatalf("round %d pull %d: %q %v", round, i, m, err)
			}
		}
		if g := perPair(); g > 2 {
			t.Fatalf("round %d: %.2f goroutines per pair once idle again, want at most 2", round, g)
		}
	}
	// Queued while every writer is idle, then Close: linger flushes them.
	for i := 0; i < 2*n; i++ {
		if err := push.Send(ctx, Msg{[]byte("linger")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := push.Close(); err != nil {
		t.Fatal(err)
	}
	for i, p := range pulls {
		for k := 0; k < 2; k++ {
			m, err := p.Recv(ctx)
			if err != nil || string(m[0]) != "linger" {
				t.Fatalf("pull %d message %d after Close: %q %v", i, k, m, err)
			}
		}
		_ = p.Close()
	}
}
