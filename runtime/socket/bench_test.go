package socket

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"
)

// Benchmarks run both ends in this process. Throughput benchmarks send b.N
// messages from one goroutine and receive them in another, and report
// msgs/s; ns/op and allocs/op are per message (both ends together).
//
//	go test -run XXX -bench . -benchtime 2000000x ./runtime/socket/

func benchPair(b *testing.B, st, rt Type, ep string, so, ro Options) (*Context, *Socket, *Socket) {
	b.Helper()
	zc := &Context{}
	snd, err := zc.NewSocket(st, so)
	if err != nil {
		b.Fatal(err)
	}
	rcv, err := zc.NewSocket(rt, ro)
	if err != nil {
		b.Fatal(err)
	}
	if err := rcv.Bind(ep); err != nil {
		b.Fatal(err)
	}
	if err := snd.Connect(rcv.Endpoints()[0]); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = zc.Close() })
	return zc, snd, rcv
}

func benchThroughput(b *testing.B, st, rt Type, ep string, size int, so, ro Options, setup func(snd, rcv *Socket), sendN int, payload func(i int) Msg) {
	_, snd, rcv := benchPair(b, st, rt, ep, so, ro)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if setup != nil {
		setup(snd, rcv)
	}
	if err := rcv.WaitPeers(ctx, 1); err != nil {
		b.Fatal(err)
	}
	if st == PUB {
		if err := snd.WaitPeers(ctx, 1); err != nil {
			b.Fatal(err)
		}
	}
	msgs := make([]Msg, 1024)
	for i := range msgs {
		msgs[i] = payload(i)
	}
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < sendN; i++ {
			if err := snd.Send(ctx, msgs[i&1023]); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i := 0; i < b.N; i++ {
		if _, err := rcv.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.StopTimer()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
}

func fixed(size int) func(int) Msg {
	return func(i int) Msg {
		p := make([]byte, size)
		binary.LittleEndian.PutUint32(p, uint32(i))
		return Msg{p}
	}
}

func BenchmarkPushPullTCP16(b *testing.B) {
	benchThroughput(b, PUSH, PULL, "tcp://127.0.0.1:0", 16, Options{}, Options{}, nil, b.N, fixed(16))
}

func BenchmarkPushPullTCP1K(b *testing.B) {
	benchThroughput(b, PUSH, PULL, "tcp://127.0.0.1:0", 1024, Options{}, Options{}, nil, b.N, fixed(1024))
}

func BenchmarkPushPullIPC16(b *testing.B) {
	benchThroughput(b, PUSH, PULL, "ipc://"+b.TempDir()+"/b.sock", 16, Options{}, Options{}, nil, b.N, fixed(16))
}

func BenchmarkPushPullInproc16(b *testing.B) {
	benchThroughput(b, PUSH, PULL, "inproc://bench", 16, Options{}, Options{}, nil, b.N, fixed(16))
}

// BenchmarkPubSubTCP16Filter: PUB alternates topics wx/zz, SUB subscribes to
// wx; the rate is of delivered messages (half of those published). HWMs are
// unbounded so nothing is dropped, as in zmqbench.
func BenchmarkPubSubTCP16Filter(b *testing.B) {
	benchThroughput(b, PUB, SUB, "tcp://127.0.0.1:0", 16, Options{SendHWM: -1}, Options{RecvHWM: -1},
		func(snd, rcv *Socket) { _ = rcv.Subscribe([]byte("wx")) }, 2*b.N, wxzz)
}

// wxzz is message i of the filter benchmarks' stream: 16 bytes, topic wx
// for even i and zz for odd.
func wxzz(i int) Msg {
	p := make([]byte, 16)
	copy(p, "wx")
	if i%2 == 1 {
		copy(p, "zz")
	}
	return Msg{p}
}

// BenchmarkPubSubTCP16Filter1000Prefixes is BenchmarkPubSubTCP16Filter with
// 999 more distinct prefixes no message matches (the cost curves' subs
// point at 1,000): the large-set match on both sides.
func BenchmarkPubSubTCP16Filter1000Prefixes(b *testing.B) {
	subscribe := func(snd, rcv *Socket) {
		_ = rcv.Subscribe([]byte("wx"))
		for i := 1; i < 1000; i++ {
			_ = rcv.Subscribe(fmt.Appendf(nil, "q%07d", i))
		}
		time.Sleep(300 * time.Millisecond) // the PUB has them all before the first send
	}
	benchThroughput(b, PUB, SUB, "tcp://127.0.0.1:0", 16, Options{SendHWM: -1}, Options{RecvHWM: -1}, subscribe, 2*b.N, wxzz)
}

// BenchmarkReqRepTCP16 measures 16-byte round trips; ns/op is the mean round
// trip, and p50/p99 are reported in µs.
func BenchmarkReqRepTCP16(b *testing.B) {
	_, req, rep := benchPair(b, REQ, REP, "tcp://127.0.0.1:0", Options{}, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := rep.Recv(ctx)
			if err != nil {
				return
			}
			if rep.Send(ctx, m) != nil {
				return
			}
		}
	}()
	m := Msg{make([]byte, 16)}
	for i := 0; i < 1000; i++ { // warm-up
		if err := req.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
		if _, err := req.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := req.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
		if _, err := req.Recv(ctx); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	el := time.Since(start)
	b.StopTimer()
	_ = rep.Close()
	<-done
	sortDurations(lat)
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

func sortDurations(d []time.Duration) {
	// small insertion-free sort via the standard library would need slices;
	// keep it simple and allocation-free for the benchmark's own bookkeeping.
	quick(d, 0, len(d)-1)
}

func quick(d []time.Duration, lo, hi int) {
	for lo < hi {
		p := d[(lo+hi)/2]
		i, j := lo, hi
		for i <= j {
			for d[i] < p {
				i++
			}
			for d[j] > p {
				j--
			}
			if i <= j {
				d[i], d[j] = d[j], d[i]
				i++
				j--
			}
		}
		if j-lo < hi-i {
			quick(d, lo, j)
			lo = i
		} else {
			quick(d, i, hi)
			hi = j
		}
	}
}

// BenchmarkSubscribe: b.N distinct Subscribe calls on one unconnected SUB
// (the cost curves' "s to subscribe"); ns/op is per call.
func BenchmarkSubscribe(b *testing.B) {
	zc := &Context{}
	s, err := zc.NewSocket(SUB, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	keys := make([][]byte, b.N)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "q%07d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, k := range keys {
		if err := s.Subscribe(k); err != nil {
			b.Fatal(err)
		}
	}
}
