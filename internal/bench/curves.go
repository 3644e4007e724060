package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/topo-zmq/topo/runtime/socket"
)

// curveFlags are the flags of the cost-curve roles (scripts/curves.sh).
type curveFlags struct {
	conns     int    // sockets (connections) one process holds
	peers     int    // sender waits for this many peers before sending
	subs      int    // SUB: distinct prefixes
	stamp     bool   // sender writes its send time (UnixNano) into bytes 10..18
	nodes     int    // topo-size: nodes
	hops      int    // proxy-chain: proxy nodes between generate and count
	transport string // topo-size, proxy-chain: tcp or inproc
	hold      time.Duration
	rate      float64 // push/pub: messages per second, 0 = flat out
}

func (f *curveFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.conns, "conns", 1, "pull-many, sub-many, req-many, idle-peers: sockets in this process")
	fs.IntVar(&f.peers, "peers", 1, "push/pub: wait for this many peers (PUB: subscriptions) before sending; idle-hold: idle peers to wait for")
	fs.IntVar(&f.subs, "subs", 1, "sub: subscribe -sub plus subs-1 distinct prefixes no message matches")
	fs.BoolVar(&f.stamp, "stamp", false, "push/pub: write the send time into each message (for sub-many's latency; -size >= 18)")
	fs.IntVar(&f.nodes, "nodes", 10, "topo-size: nodes in the topology (even)")
	fs.IntVar(&f.hops, "hops", 1, "proxy-chain: proxy nodes between generate and count")
	fs.StringVar(&f.transport, "transport", "tcp", "topo-size, proxy-chain: tcp or inproc")
	fs.Float64Var(&f.rate, "rate", 0, "push/pub: send at most this many messages per second (0: flat out)")
	fs.DurationVar(&f.hold, "hold", 60*time.Second, "idle-peers: keep the connections this long")
}

// curveRole runs the roles of the cost curves; ok is false for an unknown role.
func curveRole(c config) (res map[string]any, err error, ok bool) {
	switch c.role {
	case "raw-recv":
		res, err = rawRecv(c)
	case "raw-send":
		res, err = rawSend(c)
	case "pull-many", "sub-many":
		res, err = recvMany(c)
	case "req-many":
		res, err = reqMany(c)
	case "idle-peers":
		res, err = idlePeers(c)
	case "idle-hold":
		res, err = idleHold(c)
	case "topo-size":
		res, err = topoSize(c)
	case "proxy-chain":
		res, err = proxyChain(c)
	default:
		return nil, nil, false
	}
	return res, err, true
}

// rssKB is this process's resident set (VmRSS) in KiB, 0 if unknown.
func rssKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func heapInuse() uint64 {
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// prefixN appends the i-th distinct subscription prefix of -subs (never
// "wx" or "zz") to b: the sub role writes them all into one buffer before
// it starts the clock, as cbench-curves does (Subscribe copies what it
// keeps).
func prefixN(b []byte, i int) []byte { return fmt.Appendf(b, "q%07d", i) }

// wallBase is this process's wall clock at start, with its monotonic
// reading: wallNanos adds the monotonic clock's advance since, so a stamp
// or a receive time costs one clock read, as cbench's wall_ns (one
// clock_gettime) does; time.Now reads two clocks, and on the 2-vCPU
// machines here took half again as long (53 ns against 36), a third of a
// flat-out PUB's time.
var wallBase = time.Now()

// wallNanos is the wall clock in Unix nanoseconds from one monotonic read.
func wallNanos() int64 { return wallBase.UnixNano() + int64(time.Since(wallBase)) }

func stamp(b []byte) {
	if len(b) >= 18 {
		binary.BigEndian.PutUint64(b[10:18], uint64(wallNanos()))
	}
}

// rawRecv / rawSend: raw Go net.Conn with a 4-byte length prefix, one
// Write (header and body as net.Buffers) per message: the ceiling for the
// size curve. Messages up to 64 MiB. rawSend resends one buffer, changing
// only its sequence number; with -fill it first copies the whole payload
// into it, as the push role does with -reuse (newReuser), so that the two
// senders do the same work per message.
func rawRecv(c config) (map[string]any, error) {
	ln, err := net.Listen("tcp", strings.TrimPrefix(c.ep, "tcp://"))
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(c.idle + 5*time.Second))
	conn, err := ln.Accept()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	r := bufio.NewReaderSize(conn, 64<<10)
	var hdr [4]byte
	body := make([]byte, c.size)
	var start time.Time
	count, gaps := 0, 0
	var next uint64
	for count < c.n {
		_ = conn.SetReadDeadline(time.Now().Add(c.idle))
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return map[string]any{"count": count}, fmt.Errorf("read header: %w", err)
		}
		sz := int(binary.BigEndian.Uint32(hdr[:]))
		if sz > 64<<20 {
			return nil, fmt.Errorf("frame too large: %d", sz)
		}
		if sz > len(body) {
			body = make([]byte, sz)
		}
		if _, err := io.ReadFull(r, body[:sz]); err != nil {
			return map[string]any{"count": count}, fmt.Errorf("read body: %w", err)
		}
		count++
		if count == 1 {
			start = time.Now()
		}
		if seq, ok := seqOf(body[:sz]); ok {
			if seq != next {
				gaps++
			}
			next = seq + 1
		}
	}
	el := time.Since(start).Seconds()
	return map[string]any{"count": count, "expect": c.n, "gaps": gaps, "elapsed_s": el,
		"msgs_per_s": float64(count) / el, "mbit_per_s": float64(count) * float64(c.size) * 8 / el / 1e6}, nil
}

func rawSend(c config) (map[string]any, error) {
	var conn net.Conn
	var err error
	deadline := time.Now().Add(c.idle)
	for {
		conn, err = net.Dial("tcp", strings.TrimPrefix(c.ep, "tcp://"))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	body := make([]byte, c.size)
	hdr := make([]byte, 4)
	binary.BigEndian.PutUint32(hdr, uint32(c.size))
	var tmpl []byte
	if c.fill {
		tmpl = payload(c.size)
	}
	copy(body, "pp")
	for i := 0; i < c.n; i++ {
		if tmpl != nil {
			copy(body, tmpl)
			copy(body, "pp")
		}
		binary.BigEndian.PutUint64(body[2:10], uint64(i))
		bufs := net.Buffers{hdr, body}
		if _, err := bufs.WriteTo(conn); err != nil {
			return map[string]any{"sent": i}, err
		}
	}
	return map[string]any{"sent": c.n}, nil
}

// recvMany: -conns PULL (pull-many) or SUB (sub-many) sockets in this
// process, each connected to -ep, receive together. pull-many expects -n
// in all (the binder's PUSH round-robins); sub-many expects (n+1)/2 per SUB
// (filter -sub on the alternating wx/zz stream) and, with a stamping PUB,
// reports the send-to-receive latency percentiles over every delivery.
func recvMany(c config) (map[string]any, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var zctx socket.Context
	defer zctx.Close()
	t, expect := socket.PULL, c.n
	if c.role == "sub-many" {
		t, expect = socket.SUB, c.conns*((c.n+1)/2)
	}
	socks := make([]*socket.Socket, 0, c.conns)
	defer func() {
		for _, s := range socks {
			_ = s.Close()
		}
	}()
	for i := 0; i < c.conns; i++ {
		s, err := open(&zctx, c, t)
		if err != nil {
			return nil, err
		}
		socks = append(socks, s)
		if t == socket.SUB {
			if err := s.Subscribe([]byte(c.sub)); err != nil {
				return nil, err
			}
		}
	}
	var count atomic.Int64
	var first atomic.Int64 // UnixNano of the first message anywhere
	fired, stop := watchdog(&count, c.idle, cancel)
	defer stop()
	lats := make([][]time.Duration, c.conns)
	var wg sync.WaitGroup
	var lastEnd atomic.Int64 // UnixNano of the message that completed expect
	slots := make([]pullSlot, c.conns)
	base := time.Now()
	for i, s := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if t == socket.SUB {
				recvSub(ctx, s, (c.n+1)/2, &count, &first, &lastEnd, &lats[i])
				return
			}
			recvPull(ctx, s, base, &slots[i])
		}()
	}
	if t == socket.PULL {
		// The PULLs count on their own (as cbench's loop does); this
		// sums them, for the watchdog and to stop them once expect came.
		go func() {
			tk := time.NewTicker(time.Millisecond)
			defer tk.Stop()
			for {
				var sum int64
				for i := range slots {
					sum += slots[i].n.Load()
				}
				count.Store(sum)
				if sum >= int64(expect) {
					cancel() // every PULL goroutine may be waiting; stop them
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
				}
			}
		}()
	}
	wg.Wait()
	if t == socket.PULL {
		var sum int64
		for i := range slots {
			sl := &slots[i]
			sum += sl.n.Load()
			if sl.n.Load() > 0 {
				if f := base.Add(sl.first).UnixNano(); first.Load() == 0 || f < first.Load() {
					first.Store(f)
				}
				lastEnd.Store(max(lastEnd.Load(), base.Add(sl.last).UnixNano()))
			}
		}
		count.Store(sum)
	}
	n := int(count.Load())
	res := map[string]any{"count": n, "expect": expect, "gaps": 0, "conns": c.conns}
	if f, l := first.Load(), lastEnd.Load(); f != 0 && l > f {
		el := time.Duration(l - f).Seconds()
		res["elapsed_s"] = el
		res["msgs_per_s"] = float64(n) / el
		res["mbit_per_s"] = float64(n) * float64(c.size) * 8 / el / 1e6
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	if len(all) > 0 {
		ls := latencyStats(all, 1, 0)
		res["p50_us"], res["p99_us"], res["max_us"] = ls["p50_us"], ls["p99_us"], ls["max_us"]
	}
	if n < expect {
		if fired.Load() {
			return res, fmt.Errorf("idle timeout after %v with %d/%d messages", c.idle, n, expect)
		}
		return res, fmt.Errorf("%d/%d messages", n, expect)
	}
	return res, nil
}

// recvSub is one SUB of sub-many: it receives per messages and records
// each one's send-to-receive latency, doing per message what cbench's
// sub-many does (one clock read, a store into a preallocated array, a
// count of its own): the shared count, which the watchdog watches, moves
// every 256 messages, and lastEnd keeps the latest SUB's last message.
func recvSub(ctx context.Context, s *socket.Socket, per int, count, first, lastEnd *atomic.Int64, lats *[]time.Duration) {
	l := make([]time.Duration, 0, per)
	k := 0
	var now int64
	for ; k < per; k++ {
		msg, err := s.Recv(ctx)
		if err != nil {
			break
		}
		now = wallNanos() // one clock read, as cbench's wall_ns
		if k == 0 && first.Load() == 0 {
			first.CompareAndSwap(0, now)
		}
		if len(msg) == 1 && len(msg[0]) >= 18 {
			sent := int64(binary.BigEndian.Uint64(msg[0][10:18]))
			l = append(l, time.Duration(now-sent))
		}
		if k&255 == 255 {
			count.Add(256)
		}
	}
	count.Add(int64(k & 255))
	*lats = l
	if k == per {
		for e := now; ; {
			old := lastEnd.Load()
			if e <= old || lastEnd.CompareAndSwap(old, e) {
				break
			}
		}
	}
}

// pullSlot is one PULL of pull-many: its count (read by recvMany's
// summing goroutine) on a cache line of its own, and the times of its
// first and last messages (read once it has returned).
type pullSlot struct {
	n           atomic.Int64
	first, last time.Duration // since base
	_           [64]byte
}

// recvPull is one PULL of pull-many: per message it does what cbench's
// pull-many loop does, one clock read and a count of its own (a store to
// its own cache line, not an add on a counter every PULL shares), until
// recvMany's summer sees expect in all and cancels ctx.
func recvPull(ctx context.Context, s *socket.Socket, base time.Time, sl *pullSlot) {
	var k int64
	for {
		if _, err := s.Recv(ctx); err != nil {
			return
		}
		now := time.Since(base) // the monotonic clock alone: one read, as cbench's
		k++
		if k == 1 {
			sl.first = now
		}
		sl.last = now
		sl.n.Store(k)
	}
}

// reqMany: -conns REQ clients in this process, each its own socket and
// goroutine, do -n round trips between them (after -warmup each, not
// measured) against one REP or ROUTER-based server.
func reqMany(c config) (map[string]any, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var zctx socket.Context
	defer zctx.Close()
	var count atomic.Int64
	fired, stop := watchdog(&count, c.idle, cancel)
	defer stop()
	per := max(1, c.n/c.conns)
	warm := max(1, c.warmup/c.conns)
	lats := make([][]time.Duration, c.conns)
	errs := make([]error, c.conns)
	var mism atomic.Int64
	var ready, wg sync.WaitGroup
	startGate := make(chan struct{})
	ready.Add(c.conns)
	for i := 0; i < c.conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := open(&zctx, c, socket.REQ)
			if err != nil {
				errs[i] = err
				ready.Done()
				return
			}
			defer s.Close()
			a := newArena(c.size)
			rt := func(j int) (time.Duration, error) {
				t := time.Now()
				if err := s.Send(ctx, a.msg(j, "pp")); err != nil {
					return 0, err
				}
				msg, err := s.Recv(ctx)
				if err != nil {
					return 0, err
				}
				if seq, ok := seqOf(msg[0]); !ok || seq != uint64(j) {
					mism.Add(1)
				}
				count.Add(1)
				return time.Since(t), nil
			}
			for j := 0; j < warm; j++ {
				if _, err := rt(j); err != nil {
					errs[i] = err
					ready.Done()
					return
				}
			}
			ready.Done()
			<-startGate
			lats[i] = make([]time.Duration, 0, per)
			for j := warm; j < warm+per; j++ {
				d, err := rt(j)
				if err != nil {
					errs[i] = err
					return
				}
				lats[i] = append(lats[i], d)
			}
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(startGate)
	wg.Wait()
	wall := time.Since(t0).Seconds()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	res := latencyStats(all, wall, int(mism.Load()))
	res["conns"] = c.conns
	for _, e := range errs {
		if e != nil {
			if fired.Load() {
				e = fmt.Errorf("idle timeout: %w", e)
			}
			return res, e
		}
	}
	return res, nil
}

// idlePeers: -conns PUSH sockets connected to -ep that never send, held for
// -hold (or until killed). It prints its line once all are connected.
func idlePeers(c config) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.hold)
	defer cancel()
	var zctx socket.Context
	defer zctx.Close()
	socks := make([]*socket.Socket, 0, c.conns)
	defer func() {
		for _, s := range socks {
			_ = s.Close()
		}
	}()
	for i := 0; i < c.conns; i++ {
		s, err := open(&zctx, c, socket.PUSH)
		if err != nil {
			return map[string]any{"opened": i}, err
		}
		socks = append(socks, s)
	}
	for _, s := range socks {
		if err := s.WaitPeers(ctx, 1); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(os.Stderr, "idle-peers: %d connected\n", c.conns)
	<-ctx.Done()
	return map[string]any{"conns": c.conns}, nil
}

// idleHold: one PULL binds -ep; it waits for -peers idle peers (memory per
// connection = RSS growth / peers), then for one more (the live PUSH), and
// measures the rate of -n messages from it.
func idleHold(c config) (map[string]any, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var zctx socket.Context
	defer zctx.Close()
	h0, r0 := heapInuse(), rssKB()
	c.bind = true
	s, err := open(&zctx, c, socket.PULL)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	wctx, wcancel := context.WithTimeout(ctx, c.idle+time.Duration(c.peers)*time.Millisecond)
	err = s.WaitPeers(wctx, c.peers)
	wcancel()
	if err != nil {
		return map[string]any{"connected": s.Stats().Wired(socket.PULL)}, fmt.Errorf("%d idle peers: %w", c.peers, err)
	}
	time.Sleep(200 * time.Millisecond)
	h1, r1 := heapInuse(), rssKB()
	fmt.Fprintf(os.Stderr, "idle-hold: %d idle peers\n", c.peers)
	var count atomic.Int64
	fired, stop := watchdog(&count, c.idle, cancel)
	defer stop()
	res, n, rerr := receive(ctx, s, &count, c.n, 1, nil, c.size, 0)
	res["idle_peers"] = c.peers
	res["rss_kb_before"], res["rss_kb_after"] = r0, r1
	res["rss_bytes_per_conn"] = float64(r1-r0) * 1024 / float64(max(1, c.peers))
	res["heap_bytes_per_conn"] = float64(int64(h1)-int64(h0)) / float64(max(1, c.peers))
	if fired.Load() {
		return res, fmt.Errorf("idle timeout with %d/%d", n, c.n)
	}
	return res, rerr
}
