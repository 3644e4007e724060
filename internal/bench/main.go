package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	goruntime "runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/topo-zmq/topo/runtime/socket"
)

type config struct {
	role    string
	ep      string
	bind    bool
	n       int
	size    int
	sub     string
	idle    time.Duration
	settle  time.Duration
	linger  time.Duration
	warmup  int
	label   string
	hwm     int
	verbose bool
	cpuprof string
	tracef  string
	curve   string // "", "server" or "client": CURVE with the built-in keys (security.go)
	reuse   bool   // push/pull: AllocFrame + SendRelease, Release (framepool.go)
	fill    bool   // raw-send: copy the whole payload into the body each message
	curveFlags
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.role, "role", "", "push|pull|pub|sub|req|rep|inproc-pushpull|hs-accept (handshakes per second; with idle-peers), and the curve roles: raw-recv|raw-send|pull-many|sub-many|req-many|idle-hold|idle-peers|topo-size|proxy-chain")
	fs.StringVar(&c.ep, "ep", "tcp://127.0.0.1:23700", "endpoint")
	fs.BoolVar(&c.bind, "bind", false, "Bind instead of Connect")
	fs.IntVar(&c.n, "n", 100000, "messages (throughput) or round trips (latency)")
	fs.IntVar(&c.size, "size", 16, "message size in bytes (>= 10)")
	fs.StringVar(&c.sub, "sub", "wx", "SUB prefix filter; PUB alternates this topic and 'zz'")
	fs.DurationVar(&c.idle, "idle", 10*time.Second, "receiver gives up after this long without a message")
	fs.DurationVar(&c.settle, "settle", 300*time.Millisecond, "sender waits this long after attaching (PUB: after the first subscriber) before sending")
	fs.DurationVar(&c.linger, "linger", 60*time.Second, "sender's Options.Linger: Close flushes queued messages up to this long")
	fs.IntVar(&c.warmup, "warmup", 1000, "latency warm-up round trips (not measured)")
	fs.StringVar(&c.label, "label", "", "free text copied into the JSON result")
	fs.IntVar(&c.hwm, "hwm", 0, "SendHWM/RecvHWM; 0 = as cbench: unbounded for PUB/SUB, the socket default (1000) otherwise")
	fs.BoolVar(&c.verbose, "v", false, "verbose stderr")
	fs.StringVar(&c.cpuprof, "cpuprofile", "", "write a CPU profile of the run to this file")
	fs.StringVar(&c.tracef, "trace", "", "write an execution trace of the run (go tool trace) to this file")
	fs.StringVar(&c.curve, "curve", "", "server|client: CURVE (ZMQ_CURVE_SERVER or the client) with built-in benchmark keys; plaintext when empty")
	fs.BoolVar(&c.reuse, "reuse", true, "push, pub, pull, inproc-pushpull: push's frames of 1 KiB or more (inproc: 4 KiB, the smallest an inproc peer gives back) come from AllocFrame, are filled with the payload each message (a copy, as zmq_send copies) and go with SendRelease, and the receiver Releases each message; smaller frames of push and pub over tcp/ipc are one buffer, rewritten each message and sent with SendCopy (as cbench reuses one buffer). false: a fresh buffer per message and Send")
	fs.BoolVar(&c.fill, "fill", false, "raw-send: copy the whole payload into the body before each write, the fill the push side makes with -reuse (fresh data each message); false: resend one buffer, changing only its sequence number")
	c.curveFlags.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.cpuprof != "" {
		f, err := os.Create(c.cpuprof)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	if c.tracef != "" {
		f, err := os.Create(c.tracef)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		defer trace.Stop()
	}
	if c.size < 10 {
		c.size = 10
	}
	if c.curve != "" {
		if _, err := curveSecurity(c.curve); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
	}
	var res map[string]any
	var err error
	switch c.role {
	case "pull", "sub":
		res, err = recvRole(c)
	case "push", "pub":
		res, err = sendRole(c)
	case "req":
		res, err = reqRole(c)
	case "rep":
		res, err = repRole(c)
	case "inproc-pushpull":
		res, err = inprocPushPull(c)
	case "hs-accept":
		res, err = hsAccept(c)
	default:
		var ok bool
		if res, err, ok = curveRole(c); ok {
			break
		}
		fmt.Fprintln(stderr, "bench: unknown -role", c.role)
		return 2
	}
	if res == nil {
		res = map[string]any{}
	}
	res["impl"] = "topo"
	res["role"] = c.role
	res["ep"] = c.ep
	res["size"] = c.size
	res["gomaxprocs"] = goruntime.GOMAXPROCS(0)
	if c.label != "" {
		res["label"] = c.label
	}
	if c.curve != "" {
		res["curve"] = c.curve
	}
	if err != nil {
		res["error"] = err.Error()
	}
	out, _ := json.Marshal(res)
	fmt.Fprintln(stdout, string(out))
	if err != nil {
		return 1
	}
	return 0
}

// arena hands out fresh message buffers cheaply: Send owns a Msg's frames
// after the call, so every message gets its own bytes, but they are carved
// from large chunks so the harness does not dominate the measurement (cbench
// reuses one buffer; libzmq copies it).
type arena struct {
	size  int
	buf   []byte
	msgs  [][]byte
	chunk int
}

func newArena(size int) *arena {
	// 4096 messages per chunk, but at most ~4 MiB a chunk (a 16 MiB message gets its own).
	return &arena{size: size, chunk: max(1, min(4096, (4<<20)/size))}
}

func (a *arena) msg(i int, topic string) socket.Msg {
	if len(a.buf) < a.size {
		a.buf = make([]byte, a.size*a.chunk)
	}
	if len(a.msgs) == 0 {
		a.msgs = make([][]byte, a.chunk)
	}
	b := a.buf[:a.size:a.size]
	a.buf = a.buf[a.size:]
	copy(b, topic)
	binary.BigEndian.PutUint64(b[2:10], uint64(i))
	m := a.msgs[:1:1]
	a.msgs = a.msgs[1:]
	m[0] = b
	return socket.Msg(m)
}

// reuser builds the messages of a sender that reuses its frame buffers
// (-reuse): each message's frame comes from AllocFrame and gets the whole
// payload copied in (fresh data each message, as zmq_send copies the
// caller's buffer), then its topic and sequence number. Sent with
// SendRelease, the buffer goes back to the pool once written. Below the
// pool's smallest class, with small set, the sender keeps one buffer,
// writes each message's topic and sequence number into it and sends it
// with SendCopy (as cbench reuses one buffer and zmq_send copies it);
// else it falls back to the arena.
type reuser struct {
	s     *socket.Socket
	a     *arena
	size  int
	tmpl  []byte
	hdrs  [][]byte
	small socket.Msg // the one reused message, with small
}

// reuseMin is the socket's smallest pooled frame; inprocReuseMin the
// smallest an inproc peer gives back (framepool.go: under it SendRelease
// hands a frame over as Send does, so reusing gains nothing there).
const (
	reuseMin       = 1 << 10
	inprocReuseMin = 4 << 10
)

// releaseMin is the smallest frame a receiver Releases: min with -reuse,
// else 0 (none).
func releaseMin(c config, min int) int {
	if c.reuse {
		return min
	}
	return 0
}

// newReuser returns a reuser for messages of size bytes: one that reuses
// frames from min bytes up and, with small, one buffer below (SendCopy:
// over tcp and ipc; to an inproc peer SendCopy allocates a copy per
// message, which the arena's carving does more cheaply).
func newReuser(s *socket.Socket, size, min int, small bool) *reuser {
	r := &reuser{s: s, a: newArena(size), size: size}
	switch {
	case size >= min:
		r.tmpl = payload(size)
	case small:
		r.small = socket.Msg{make([]byte, size)}
	}
	return r
}

// payload is the bytes a filling sender copies into each message: a..z
// repeated.
func payload(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

func (r *reuser) msg(i int, topic string) socket.Msg {
	if r.small != nil {
		b := r.small[0]
		copy(b, topic)
		binary.BigEndian.PutUint64(b[2:10], uint64(i))
		return r.small
	}
	if r.tmpl == nil {
		return r.a.msg(i, topic)
	}
	b := r.s.AllocFrame(r.size)
	copy(b, r.tmpl)
	copy(b, topic)
	binary.BigEndian.PutUint64(b[2:10], uint64(i))
	if len(r.hdrs) == 0 {
		r.hdrs = make([][]byte, 4096)
	}
	m := r.hdrs[:1:1]
	r.hdrs = r.hdrs[1:]
	m[0] = b
	return socket.Msg(m)
}

// send sends m: with SendRelease when m's frame came from AllocFrame,
// with SendCopy when it is the one reused message.
func (r *reuser) send(ctx context.Context, m socket.Msg) error {
	if r.small != nil {
		return r.s.SendCopy(ctx, m)
	}
	if r.tmpl == nil {
		return r.s.Send(ctx, m)
	}
	return r.s.SendRelease(ctx, m)
}

func seqOf(b []byte) (uint64, bool) {
	if len(b) < 10 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[2:10]), true
}

func options(c config, t socket.Type) socket.Options {
	o := socket.Options{Linger: c.linger}
	hwm := c.hwm
	if hwm == 0 && (t == socket.PUB || t == socket.SUB) {
		hwm = -1 // cbench/pybench set SNDHWM/RCVHWM 0 (unbounded) on PUB/SUB
	}
	o.SendHWM, o.RecvHWM = hwm, hwm
	if c.curve != "" {
		o.Security, _ = curveSecurity(c.curve) // checked in run
	}
	return o
}

func open(zctx *socket.Context, c config, t socket.Type) (*socket.Socket, error) {
	s, err := zctx.NewSocket(t, options(c, t))
	if err != nil {
		return nil, err
	}
	if c.bind {
		err = s.Bind(c.ep)
	} else {
		err = s.Connect(c.ep)
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// watchdog cancels ctx when *counter has not moved for idle.
func watchdog(counter *atomic.Int64, idle time.Duration, cancel context.CancelFunc) (fired *atomic.Bool, stop func()) {
	fired = new(atomic.Bool)
	done := make(chan struct{})
	go func() {
		last, lastMove := counter.Load(), time.Now()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if cur := counter.Load(); cur != last {
					last, lastMove = cur, time.Now()
				} else if time.Since(lastMove) > idle {
					fired.Store(true)
					cancel()
					return
				}
			}
		}
	}()
	return fired, func() { close(done) }
}

func mallocs() uint64 {
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.Mallocs
}

// receive is the measuring loop of every throughput role: it receives up
// to expect messages from s (stopping at the first error), checks that
// sequence numbers advance by step and, when prefix is not nil, that every
// message carries it, and times the first to the last message. It returns
// the result line's fields (count, expect, gaps, bad, mallocs_per_msg,
// elapsed_s, msgs_per_s, mbit_per_s), how many messages arrived, and the
// receive error if any. count is updated for the idle watchdog. Frames of
// relMin bytes or more are Released once checked (0: none).
func receive(ctx context.Context, s *socket.Socket, count *atomic.Int64, expect int, step uint64, prefix []byte, size, relMin int) (map[string]any, int, error) {
	var (
		start     time.Time
		next      uint64
		gaps, bad int
		recvErr   error
		m0        uint64
		n         int
	)
	for n < expect {
		msg, err := s.Recv(ctx)
		if err != nil {
			recvErr = err
			break
		}
		n++
		if n&255 == 1 { // progress for the idle watchdog, not a shared write per message
			count.Store(int64(n))
		}
		if n == 1 {
			start = time.Now()
			m0 = mallocs()
		}
		if len(msg) != 1 {
			bad++
			continue
		}
		b := msg[0]
		if prefix != nil && !bytes.HasPrefix(b, prefix) {
			bad++
		}
		if seq, ok := seqOf(b); ok {
			if seq != next {
				gaps++
			}
			next = seq + step
		}
		if relMin > 0 && cap(b) >= relMin {
			s.Release(msg)
		}
	}
	end := time.Now()
	res := map[string]any{"count": n, "expect": expect, "gaps": gaps, "bad": bad}
	if n > 1 {
		res["mallocs_per_msg"] = float64(mallocs()-m0) / float64(n-1)
	}
	if n > 0 {
		el := end.Sub(start).Seconds()
		res["elapsed_s"] = el
		if el > 0 {
			res["msgs_per_s"] = float64(n) / el
			res["mbit_per_s"] = float64(n) * float64(size) * 8 / el / 1e6
		}
	}
	return res, n, recvErr
}

// recvRole is the measuring side of PUSH->PULL and PUB->SUB throughput.
func recvRole(c config) (map[string]any, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var zctx socket.Context
	defer zctx.Close()
	t, expect, step := socket.PULL, c.n, uint64(1)
	if c.role == "sub" {
		t, expect, step = socket.SUB, (c.n+1)/2, 2
	}
	// SUB subscribes before it connects (as cbench-curves does), so the PUB
	// gets every prefix at once when the connection comes up.
	s, err := zctx.NewSocket(t, options(c, t))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var subscribeS float64
	if t == socket.SUB {
		// -subs N: N-1 more distinct prefixes no message matches, written
		// into one buffer before the clock starts (as cbench-curves does):
		// subscribe_s is the Subscribe calls alone.
		var keys []byte
		var ends []int
		for i := 1; i < c.subs; i++ {
			keys = prefixN(keys, i)
			ends = append(ends, len(keys))
		}
		t0 := time.Now()
		if err := s.Subscribe([]byte(c.sub)); err != nil {
			return nil, fmt.Errorf("subscribe: %w", err)
		}
		start := 0
		for _, end := range ends {
			if err := s.Subscribe(keys[start:end]); err != nil {
				return nil, fmt.Errorf("subscribe: %w", err)
			}
			start = end
		}
		subscribeS = time.Since(t0).Seconds()
		keys, ends = nil, nil
	}
	if c.bind {
		err = s.Bind(c.ep)
	} else {
		err = s.Connect(c.ep)
	}
	if err != nil {
		return nil, err
	}
	var count atomic.Int64
	fired, stop := watchdog(&count, c.idle, cancel)
	defer stop()
	var prefix []byte
	if t == socket.SUB {
		prefix = []byte(c.sub)
	}
	res, n, recvErr := receive(ctx, s, &count, expect, step, prefix, c.size, releaseMin(c, reuseMin))
	st := s.Stats()
	res["dropped"] = st.Dropped
	if t == socket.SUB {
		res["subscribe_s"] = subscribeS
	}
	if fired.Load() {
		return res, fmt.Errorf("idle timeout after %v with %d/%d messages", c.idle, n, expect)
	}
	if recvErr != nil {
		return res, fmt.Errorf("recv: %w", recvErr)
	}
	return res, nil
}

// sendRole is the feeding side of PUSH->PULL and PUB->SUB.
func sendRole(c config) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.idle+c.linger+time.Minute)
	defer cancel()
	var zctx socket.Context
	defer zctx.Close()
	t := socket.PUSH
	if c.role == "pub" {
		t = socket.PUB
	}
	rssStart := rssKB()
	s, err := open(&zctx, c, t)
	if err != nil {
		return nil, err
	}
	wctx, wcancel := context.WithTimeout(ctx, c.idle)
	err = s.WaitPeers(wctx, max(1, c.peers))
	wcancel()
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("no peer within %v: %w", c.idle, err)
	}
	time.Sleep(c.settle)
	rssReady := rssKB()
	a := newArena(c.size)
	var r *reuser
	if c.reuse && (t == socket.PUSH || t == socket.PUB) {
		min := reuseMin
		if t == socket.PUB {
			min = math.MaxInt // a fan-out's SendRelease pools nothing: large PUB messages stay the arena's
		}
		r = newReuser(s, c.size, min, !strings.HasPrefix(c.ep, "inproc://"))
	}
	m0 := mallocs()
	t0 := time.Now()
	for i := 0; i < c.n; i++ {
		topic := "pp"
		if t == socket.PUB {
			topic = c.sub
			if i%2 == 1 {
				topic = "zz"
			}
		}
		if c.rate > 0 && i%16 == 0 { // pace: message i leaves no earlier than t0 + i/rate
			if d := time.Until(t0.Add(time.Duration(float64(i) / c.rate * 1e9))); d > 0 {
				time.Sleep(d)
			}
		}
		var m socket.Msg
		if r != nil {
			m = r.msg(i, topic)
		} else {
			m = a.msg(i, topic)
		}
		if c.stamp {
			stamp(m[0])
		}
		if r != nil {
			err = r.send(ctx, m)
		} else {
			err = s.Send(ctx, m)
		}
		if err != nil {
			_ = s.Close()
			return map[string]any{"sent": i}, fmt.Errorf("send %d: %w", i, err)
		}
	}
	el := time.Since(t0).Seconds()
	m1 := mallocs()
	cerr := s.Close() // flushes up to Linger
	st := s.Stats()
	res := map[string]any{"sent": c.n, "send_elapsed_s": el, "send_calls_per_s": float64(c.n) / el,
		"mallocs_per_msg": float64(m1-m0) / float64(c.n), "dropped": st.Dropped, "close_s": time.Since(t0).Seconds() - el,
		"rss_kb_start": rssStart, "rss_kb_ready": rssReady}
	if cerr != nil {
		return res, fmt.Errorf("close: %w", cerr)
	}
	return res, nil
}

// reqRole measures REQ->REP round trips.
func reqRole(c config) (map[string]any, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var zctx socket.Context
	defer zctx.Close()
	s, err := open(&zctx, c, socket.REQ)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var count atomic.Int64
	fired, stop := watchdog(&count, c.idle, cancel)
	defer stop()
	time.Sleep(c.settle)
	a := newArena(c.size)
	lat := make([]time.Duration, 0, c.n)
	mism := 0
	total := c.warmup + c.n
	t0 := time.Now()
	for i := 0; i < total; i++ {
		if i == c.warmup {
			t0 = time.Now()
		}
		t := time.Now()
		if err := s.Send(ctx, a.msg(i, "pp")); err != nil {
			return map[string]any{"done": i}, fmt.Errorf("send %d: %w", i, err)
		}
		msg, err := s.Recv(ctx)
		dt := time.Since(t)
		if err != nil {
			if fired.Load() {
				err = fmt.Errorf("idle timeout: %w", err)
			}
			return map[string]any{"done": i}, fmt.Errorf("recv %d: %w", i, err)
		}
		count.Add(1)
		if len(msg) != 1 {
			mism++
		} else if seq, ok := seqOf(msg[0]); !ok || seq != uint64(i) {
			mism++
		}
		if i >= c.warmup {
			lat = append(lat, dt)
		}
	}
	return latencyStats(lat, time.Since(t0).Seconds(), mism), nil
}

func latencyStats(lat []time.Duration, wall float64, mism int) map[string]any {
	slices.Sort(lat)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return us(lat[int(p*float64(len(lat)-1))])
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	res := map[string]any{
		"round_trips": len(lat), "mismatched": mism,
		"p50_us": pct(0.50), "p90_us": pct(0.90), "p99_us": pct(0.99),
		"min_us": pct(0), "max_us": pct(1), "rtt_per_s": float64(len(lat)) / wall,
	}
	if len(lat) > 0 {
		res["mean_us"] = us(sum) / float64(len(lat))
	}
	return res
}

// repRole echoes every request; it exits after -n (+warmup) replies or idle.
func repRole(c config) (map[string]any, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var zctx socket.Context
	defer zctx.Close()
	s, err := open(&zctx, c, socket.REP)
	if err != nil {
		return nil, err
	}
	var count atomic.Int64
	fired, stop := watchdog(&count, c.idle, cancel)
	defer stop()
	total := c.warmup + c.n
	for int(count.Load()) < total {
		var msg socket.Msg
		if msg, err = s.Recv(ctx); err != nil {
			break
		}
		if err = s.Send(ctx, msg); err != nil {
			break
		}
		count.Add(1)
	}
	cerr := s.Close() // flushes the last reply
	res := map[string]any{"replied": count.Load()}
	if fired.Load() {
		return res, fmt.Errorf("idle timeout after %d replies", count.Load())
	}
	if err != nil {
		return res, err
	}
	return res, cerr
}

// inprocPushPull runs PUSH->PULL over inproc:// inside this process.
func inprocPushPull(c config) (map[string]any, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var zctx socket.Context
	defer zctx.Close()
	ep := c.ep
	if len(ep) < 9 || ep[:9] != "inproc://" {
		ep = "inproc://bench"
	}
	pull, err := zctx.NewSocket(socket.PULL, options(c, socket.PULL))
	if err != nil {
		return nil, err
	}
	defer pull.Close()
	push, err := zctx.NewSocket(socket.PUSH, options(c, socket.PUSH))
	if err != nil {
		return nil, err
	}
	defer push.Close()
	if err := pull.Bind(ep); err != nil {
		return nil, err
	}
	if err := push.Connect(ep); err != nil {
		return nil, err
	}
	sendErr := make(chan error, 1)
	go func() {
		a := newArena(c.size)
		var r *reuser
		if c.reuse {
			r = newReuser(push, c.size, inprocReuseMin, false)
		}
		for i := 0; i < c.n; i++ {
			var err error
			if r != nil {
				err = r.send(ctx, r.msg(i, "pp"))
			} else {
				err = push.Send(ctx, a.msg(i, "pp"))
			}
			if err != nil {
				sendErr <- fmt.Errorf("send %d: %w", i, err)
				return
			}
		}
		sendErr <- nil
	}()
	var count atomic.Int64
	fired, stop := watchdog(&count, c.idle, cancel)
	defer stop()
	// mallocs_per_msg covers both ends and the harness's arena (about 1/4096
	// per message).
	res, n, rerr := receive(ctx, pull, &count, c.n, 1, nil, c.size, releaseMin(c, inprocReuseMin))
	cancel()
	if err := <-sendErr; err != nil && rerr == nil && n < c.n {
		rerr = err
	}
	if fired.Load() {
		rerr = errors.Join(rerr, fmt.Errorf("idle timeout with %d/%d", n, c.n))
	}
	if rerr != nil && n < c.n {
		return res, rerr
	}
	return res, nil
}
