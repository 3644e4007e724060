package socket_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/topo-zmq/topo/runtime/socket"
)

// fillSeq fills b with a pattern of i, so a frame overwritten by a later
// message shows.
func fillSeq(b []byte, i int) {
	for k := range b {
		b[k] = byte(i*31 + k*7)
	}
	if len(b) >= 8 {
		binary.BigEndian.PutUint64(b, uint64(i))
	}
}

// seqOK reports whether b is fillSeq's pattern of i, size bytes long,
// allocating nothing (a test of buffer reuse should not make a megabyte of
// garbage per check).
func seqOK(b []byte, i, size int) bool {
	if len(b) != size {
		return false
	}
	var head [8]byte
	binary.BigEndian.PutUint64(head[:], uint64(i))
	for k := range b {
		want := byte(i*31 + k*7)
		if k < 8 && len(b) >= 8 {
			want = head[k]
		}
		if b[k] != want {
			return false
		}
	}
	return true
}

// inprocPair binds a PULL to ep and connects a PUSH to it, both with
// high-water mark hwm.
func inprocPair(t *testing.T, zctx *socket.Context, ep string, hwm int) (push, pull *socket.Socket) {
	t.Helper()
	pull = newSock(t, zctx, socket.PULL, socket.Options{RecvHWM: hwm})
	push = newSock(t, zctx, socket.PUSH, socket.Options{SendHWM: hwm})
	if err := pull.Bind(ep); err != nil {
		t.Fatal(err)
	}
	connect(t, push, ep)
	return push, pull
}

func ptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// relStream sends n messages of size bytes from send (AllocFrame, fill,
// SendRelease) to recv, which checks each, releases every one but each
// tenth (kept, and checked again at the end, after the rest have reused
// buffers), and returns how many AllocFrame buffers and received frames
// were ones seen before (reused).
func relStream(ctx context.Context, t *testing.T, send, recv *socket.Socket, n, size int, release bool) (sendReused, recvReused int) {
	t.Helper()
	if release {
		// Turn the receiver's pool on before anything arrives, as the
		// contract advises: frames read before it are plain allocations,
		// and a reader that runs 256 messages ahead could otherwise read
		// the whole stream that way (no reuse to see).
		recv.Release(nil)
	}
	errc := make(chan error, 1)
	sentPtrs := make(chan int, 1)
	go func() {
		seen := map[uintptr]bool{}
		reused := 0
		for i := 0; i < n; i++ {
			b := send.AllocFrame(size)
			if len(b) != size {
				errc <- fmt.Errorf("AllocFrame(%d) has len %d", size, len(b))
				return
			}
			if seen[ptrOf(b)] {
				reused++
			}
			seen[ptrOf(b)] = true
			fillSeq(b, i)
			if err := send.SendRelease(ctx, socket.Msg{b}); err != nil {
				errc <- fmt.Errorf("SendRelease %d: %w", i, err)
				return
			}
		}
		sentPtrs <- reused
		errc <- nil
	}()
	seen := map[uintptr]bool{}
	type kept struct {
		m socket.Msg
		i int
	}
	var keep []kept
	for i := 0; i < n; i++ {
		m := mustRecv(ctx, t, recv, fmt.Sprintf("message %d", i))
		if len(m) != 1 || !seqOK(m[0], i, size) {
			t.Fatalf("message %d of %d bytes: wrong content (a buffer reused too early?)", i, size)
		}
		if seen[ptrOf(m[0])] {
			recvReused++
		}
		seen[ptrOf(m[0])] = true
		if i%10 == 0 || !release {
			keep = append(keep, kept{m, i})
			continue
		}
		recv.Release(m)
	}
	for _, k := range keep {
		if !seqOK(k.m[0], k.i, size) {
			t.Fatalf("kept message %d of %d bytes changed after later messages arrived", k.i, size)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return <-sentPtrs, recvReused
}

// Over tcp, SendRelease's frames come back to the sender's pool once
// written and are reused by AllocFrame, and Release's frames are reused
// for the frames the connection reads next; no message is changed by
// either reuse: each arrives as sent, and messages the receiver keeps
// unreleased stay as they arrived. With CURVE (frames sealed into the
// write buffer) as with plain connections; sizes from the smallest pooled
// class through the direct read and write path to the chunked read (over
// 1 MiB).
func TestSendReleaseAndReleaseReuseTCP(t *testing.T) {
	for _, sec := range []string{"plain", "curve"} {
		for _, size := range []int{1 << 10, 3000, 5000, 64 << 10, 1<<20 + 3} {
			t.Run(fmt.Sprintf("%s/%d", sec, size), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				sctx, rctx := &socket.Context{}, &socket.Context{}
				defer sctx.Close()
				defer rctx.Close()
				so, ro := securityPair(t, sec)
				so.SendHWM, ro.RecvHWM = 20, 20
				pull := newSock(t, rctx, socket.PULL, ro)
				push := newSock(t, sctx, socket.PUSH, so)
				connect(t, push, bindEphemeral(t, pull))
				n := 300
				if size > 1<<20 {
					n = 60
				}
				sr, rr := relStream(ctx, t, push, pull, n, size, true)
				if sr == 0 {
					t.Errorf("AllocFrame never reused a buffer SendRelease sent")
				}
				if rr == 0 {
					t.Errorf("no received frame reused a released buffer")
				}
			})
		}
	}
}

// SendRelease on REQ writes small messages directly (tryWrite copies
// them): the buffer is back in the pool when SendRelease returns, and the
// requests and replies are intact while it is reused. REQ and REP have
// their own Contexts and the replies are not released, so a buffer in
// REQ's pool can only be one SendRelease gave back. (Whether the next
// AllocFrame finds it is up to sync.Pool: a goroutine that resumes after
// Recv on another P does not see the buffer put on the first one.)
func TestSendReleaseDirectWrite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	qctx, pctx := &socket.Context{}, &socket.Context{}
	defer qctx.Close()
	defer pctx.Close()
	rep := newSock(t, pctx, socket.REP, socket.Options{})
	req := newSock(t, qctx, socket.REQ, socket.Options{})
	connect(t, req, bindEphemeral(t, rep))
	const size = 6000
	back := 0
	mine := map[uintptr]bool{} // every buffer AllocFrame returned
	for i := 0; i < 200; i++ {
		b := req.AllocFrame(size)
		mine[ptrOf(b)] = true
		fillSeq(b, i)
		if err := req.SendRelease(ctx, socket.Msg{b}); err != nil {
			t.Fatal(err)
		}
		if p := socket.TakePooled(qctx, size); p != nil {
			if !mine[ptrOf(p)] {
				t.Fatalf("request %d: the pool holds a buffer SendRelease did not give it", i)
			}
			back++
			qctx.ReleaseFrame(p) // for the next AllocFrame
		}
		m := mustRecv(ctx, t, rep, "request")
		if !seqOK(m[0], i, size) {
			t.Fatalf("request %d: wrong content", i)
		}
		mustSend(ctx, t, rep, m, "reply")
		r := mustRecv(ctx, t, req, "reply")
		if !seqOK(r[0], i, size) {
			t.Fatalf("reply %d: wrong content", i)
		}
	}
	if _, w := socket.DirectIO(req); !w {
		t.Error("REQ made no direct write (the path under test)")
	}
	if back == 0 {
		t.Error("no directly written buffer was back in the pool when SendRelease returned")
	}
}

// Over inproc, SendRelease hands the frames over as they are and the
// receiver's Release gives them back: AllocFrame reuses them, and no
// message changes. Frames sent with Send are not taken back: neither the
// sender's (Send lets it resend a buffer) nor a lent frame a forwarder
// sends on with Send (it may go to several receivers).
func TestReleaseInproc(t *testing.T) {
	const size, n = 64 << 10, 200
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	zctx := &socket.Context{}
	defer zctx.Close()
	push, pull := inprocPair(t, zctx, "inproc://rel", 20)
	sr, rr := relStream(ctx, t, push, pull, n, size, true)
	if sr == 0 || rr == 0 {
		t.Errorf("reused: %d AllocFrame buffers, %d received frames; want both > 0", sr, rr)
	}
	for socket.TakePooled(zctx, size) != nil { // empty the pool
	}
	// Send: not taken back.
	b := make([]byte, size)
	mustSend(ctx, t, push, socket.Msg{b}, "plain")
	pull.Release(mustRecv(ctx, t, pull, "plain"))
	if socket.TakePooled(zctx, size) != nil {
		t.Fatal("a frame sent with Send went to the pool")
	}
	// A lent frame forwarded twice with Send, then released by both
	// receivers: not taken back.
	fwd := newSock(t, zctx, socket.PUSH, socket.Options{})
	if err := fwd.Bind("inproc://fwd"); err != nil {
		t.Fatal(err)
	}
	last := newSock(t, zctx, socket.PULL, socket.Options{})
	connect(t, last, "inproc://fwd")
	lb := push.AllocFrame(size)
	if err := push.SendRelease(ctx, socket.Msg{lb}); err != nil {
		t.Fatal(err)
	}
	m := mustRecv(ctx, t, pull, "lent")
	mustSend(ctx, t, fwd, m, "forward 1")
	mustSend(ctx, t, fwd, m, "forward 2")
	last.Release(mustRecv(ctx, t, last, "forwarded 1"))
	last.Release(mustRecv(ctx, t, last, "forwarded 2"))
	if socket.TakePooled(zctx, size) != nil {
		t.Fatal("a forwarded lent frame went to the pool")
	}
}

// Over inproc, SendRelease lends only frames of 4 KiB or more: a smaller
// one goes to the receiver as Send's do, arrives intact, and its Release
// does not give it back (the loan's bookkeeping costs as much as the
// message), so AllocFrame never hands out a buffer the receiver holds.
func TestReleaseInprocSmallNotLent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	zctx := &socket.Context{}
	defer zctx.Close()
	push, pull := inprocPair(t, zctx, "inproc://small", 20)
	for _, size := range []int{1 << 10, 3000} {
		sr, rr := relStream(ctx, t, push, pull, 200, size, true)
		if sr != 0 || rr != 0 {
			t.Errorf("%d bytes: reused %d AllocFrame buffers, %d received frames; want none (not lent)", size, sr, rr)
		}
		if socket.TakePooled(zctx, size) != nil {
			t.Errorf("%d bytes: a released inproc frame under 4 KiB went to the pool", size)
		}
	}
}

// Where the socket cannot know it holds the only reference, nothing is
// pooled: frames a PUB fans out, and everything SendRelease sends while a
// tap is set.
func TestReleaseNotPooledWhenShared(t *testing.T) {
	const size, n = 64 << 10, 50
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	t.Run("pub fan-out", func(t *testing.T) {
		pctx, sctx := &socket.Context{}, &socket.Context{}
		defer pctx.Close()
		defer sctx.Close()
		pub := newSock(t, pctx, socket.PUB, socket.Options{SendHWM: -1})
		ep := bindEphemeral(t, pub)
		subs := []*socket.Socket{newSock(t, sctx, socket.SUB, socket.Options{RecvHWM: -1}), newSock(t, sctx, socket.SUB, socket.Options{RecvHWM: -1})}
		for _, s := range subs {
			if err := s.Subscribe(nil); err != nil {
				t.Fatal(err)
			}
			connect(t, s, ep)
		}
		waitSubscribed(ctx, t, pub, subs)
		for i := 0; i < n; i++ {
			b := pub.AllocFrame(size)
			fillSeq(b, i)
			if err := pub.SendRelease(ctx, socket.Msg{b}); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range subs {
			for i := 0; i < n; i++ {
				if m := mustRecv(ctx, t, s, "published"); !seqOK(m[0], i, size) {
					t.Fatalf("message %d: wrong content", i)
				}
			}
		}
		if b := socket.TakePooled(pctx, size); b != nil {
			t.Fatal("a fanned-out frame went to the pool")
		}
	})
	t.Run("tap", func(t *testing.T) {
		sctx, rctx := &socket.Context{}, &socket.Context{}
		defer sctx.Close()
		defer rctx.Close()
		pull := newSock(t, rctx, socket.PULL, socket.Options{})
		push := newSock(t, sctx, socket.PUSH, socket.Options{})
		push.SetTap(func(out bool, m socket.Msg) {})
		connect(t, push, bindEphemeral(t, pull))
		relStream(ctx, t, push, pull, n, size, false)
		if b := socket.TakePooled(sctx, size); b != nil {
			t.Fatal("a tapped frame went to the pool")
		}
	})
}

// waitSubscribed publishes probes until every SUB has one (their
// subscriptions have reached the PUB), then drains them.
func waitSubscribed(ctx context.Context, t *testing.T, pub *socket.Socket, subs []*socket.Socket) {
	t.Helper()
	for _, s := range subs {
		for {
			if err := pub.Send(ctx, socket.Msg{[]byte("probe")}); err != nil {
				t.Fatal(err)
			}
			c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			m, err := s.Recv(c)
			cancel()
			if err == nil && string(m[0]) == "probe" {
				break
			}
			if ctx.Err() != nil {
				t.Fatal("SUB never subscribed")
			}
		}
	}
	// Drain the probes the other SUBs got meanwhile.
	for _, s := range subs {
		for {
			c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			_, err := s.Recv(c)
			cancel()
			if err != nil {
				break
			}
		}
	}
}

// A program that never calls the reuse API sees what it always did: the
// pool stays off and received large frames are allocated to their size.
func TestNoReuseByDefault(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	zctx := &socket.Context{}
	defer zctx.Close()
	pull := newSock(t, zctx, socket.PULL, socket.Options{})
	push := newSock(t, zctx, socket.PUSH, socket.Options{})
	connect(t, push, bindEphemeral(t, pull))
	const size = 70000 // not a class size
	b := make([]byte, size)
	fillSeq(b, 1)
	for i := 0; i < 20; i++ {
		mustSend(ctx, t, push, socket.Msg{b}, "same buffer") // resending one buffer is allowed
	}
	for i := 0; i < 20; i++ {
		m := mustRecv(ctx, t, pull, "message")
		if !seqOK(m[0], 1, size) || cap(m[0]) != size {
			t.Fatalf("message %d: content or capacity %d differs", i, cap(m[0]))
		}
	}
	if !seqOK(b, 1, size) {
		t.Fatal("the sent buffer changed")
	}
	if socket.FramePoolOn(zctx) {
		t.Fatal("frame pool on without the reuse API")
	}
}

// A stream mixing large and small frames and messages arrives intact over
// tcp, plain and CURVE, with the pool on and off: after a large frame the
// reader reads only the next header at a message boundary (so the next
// large body goes straight into its frame), and that must not lose or
// reorder a byte whatever follows.
func TestMixedLargeSmallStream(t *testing.T) {
	shapes := [][]int{{70000}, {16}, {40000}, {5}, {1<<20 + 1}, {40000, 3, 50000}, {0}, {33000, 200}, {9}}
	for _, sec := range []string{"plain", "curve"} {
		for _, release := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/release=%v", sec, release), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				sctx, rctx := &socket.Context{}, &socket.Context{}
				defer sctx.Close()
				defer rctx.Close()
				so, ro := securityPair(t, sec)
				pull := newSock(t, rctx, socket.PULL, ro)
				push := newSock(t, sctx, socket.PUSH, so)
				connect(t, push, bindEphemeral(t, pull))
				const rounds = 8
				errc := make(chan error, 1)
				go func() {
					k := 0
					for r := 0; r < rounds; r++ {
						for _, shape := range shapes {
							m := make(socket.Msg, len(shape))
							for j, n := range shape {
								m[j] = make([]byte, n)
								fillSeq(m[j], k)
								k++
							}
							if err := push.Send(ctx, m); err != nil {
								errc <- err
								return
							}
						}
					}
					errc <- nil
				}()
				k := 0
				for r := 0; r < rounds; r++ {
					for si, shape := range shapes {
						m := mustRecv(ctx, t, pull, "mixed")
						if len(m) != len(shape) {
							t.Fatalf("round %d shape %d: %d frames, want %d", r, si, len(m), len(shape))
						}
						for j, n := range shape {
							if !seqOK(m[j], k, n) {
								t.Fatalf("round %d shape %d frame %d: wrong content", r, si, j)
							}
							k++
						}
						if release {
							pull.Release(m)
						}
					}
				}
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// securityPair is the sender's and the receiver's Options for sec:
// "plain" (NULL) or "curve" (the receiver the CURVE server).
func securityPair(t *testing.T, sec string) (so, ro socket.Options) {
	t.Helper()
	if sec == "curve" {
		kp := mustKeyPair(t)
		ro.Security = socket.Curve{Key: kp}
		so.Security = socket.Curve{ServerKey: kp.Public}
	}
	return so, ro
}
