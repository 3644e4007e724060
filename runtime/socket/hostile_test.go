package socket_test

// Hostile peers: a raw net.Conn speaks (or fails to speak) ZMTP to a topo
// PULL or REP bound on 127.0.0.1:0, while a well-behaved topo peer on the
// same socket keeps exchanging messages. Each scenario checks that topo
// drops the hostile connection (or keeps only its valid messages), never
// delivers a partial or oversized message, never panics (a panic in any
// goroutine kills the test binary), and keeps serving the good peer.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/topo-zmq/topo/runtime/socket"
)

const (
	hostileHandshakeTimeout = 300 * time.Millisecond
	hostileMaxMsgSize       = 1 << 20
	// closeWithin bounds how long topo may take to drop a hostile
	// connection: generous for -race on 2 shared cores, and far above
	// hostileHandshakeTimeout.
	closeWithin = 5 * time.Second
)

// ZMTP 3.0 wire pieces (RFC 23), written by hand so they can be broken.
const (
	flagMore    = 0x01
	flagLong    = 0x02
	flagCommand = 0x04
)

func zmtpGreeting(mechanism string) []byte {
	g := make([]byte, 64)
	g[0] = 0xFF
	g[9] = 0x7F
	g[10], g[11] = 3, 0
	copy(g[12:32], mechanism)
	return g
}

// zmtpFrame encodes one frame, short or long as the body requires.
func zmtpFrame(flags byte, body []byte) []byte {
	var b []byte
	if len(body) > 255 {
		b = append(b, flags|flagLong)
		b = binary.BigEndian.AppendUint64(b, uint64(len(body)))
	} else {
		b = append(b, flags, byte(len(body)))
	}
	return append(b, body...)
}

// zmtpLongHeader is a frame header announcing size bytes (the body is not sent).
func zmtpLongHeader(flags byte, size uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{flags | flagLong}, size)
}

func zmtpReady(socketType string) []byte {
	body := []byte("\x05READY")
	body = append(body, byte(len("Socket-Type")))
	body = append(body, "Socket-Type"...)
	body = binary.BigEndian.AppendUint32(body, uint32(len(socketType)))
	body = append(body, socketType...)
	return zmtpFrame(flagCommand, body)
}

// zmtpMessage encodes a multi-frame message.
func zmtpMessage(frames ...string) []byte {
	var b []byte
	for i, f := range frames {
		var fl byte
		if i < len(frames)-1 {
			fl = flagMore
		}
		b = append(b, zmtpFrame(fl, []byte(f))...)
	}
	return b
}

// hostile is one scenario's world: a topo socket under attack and a good
// topo peer on it.
type hostile struct {
	t        *testing.T
	ctx      context.Context
	zctx     *socket.Context
	srv      *socket.Socket // PULL or REP, bound on 127.0.0.1:0
	addr     string         // host:port of srv
	peerType string         // what a raw peer announces: PUSH or REQ
	good     *socket.Socket // PUSH or REQ, connected to srv
	seq      int
}

func newHostile(t *testing.T, typ socket.Type, o socket.Options) *hostile {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) }) // registered first: runs last
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	zctx := &socket.Context{}
	t.Cleanup(func() { _ = zctx.Close() })
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = hostileHandshakeTimeout
	}
	if o.MaxMsgSize == 0 {
		o.MaxMsgSize = hostileMaxMsgSize
	}
	h := &hostile{t: t, ctx: ctx, zctx: zctx}
	h.srv = newSock(t, zctx, typ, o)
	ep := bindEphemeral(t, h.srv)
	h.addr = strings.TrimPrefix(ep, "tcp://")
	goodType := socket.PUSH
	if typ == socket.REP {
		goodType = socket.REQ
	}
	h.peerType = string(goodType)
	h.good = newSock(t, zctx, goodType, socket.Options{})
	connect(t, h.good, ep)
	if err := h.srv.WaitPeers(ctx, 1); err != nil {
		t.Fatalf("%s WaitPeers(1): %v", typ, err)
	}
	h.exchange("before the hostile peer")
	return h
}

// exchange does one round with the good peer and checks that what srv
// receives is the good peer's message (not a hostile one).
func (h *hostile) exchange(when string) {
	h.t.Helper()
	h.seq++
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	msg := socket.Msg{[]byte("good"), []byte(fmt.Sprint(h.seq))}
	if err := h.good.Send(ctx, msg); err != nil {
		h.t.Fatalf("good peer Send %s: %v (server stats %+v)", when, err, h.srv.Stats())
	}
	got, err := h.srv.Recv(ctx)
	if err != nil {
		h.t.Fatalf("%s Recv from the good peer %s: %v (stats %+v)", h.srv.Type(), when, err, h.srv.Stats())
	}
	if !sameMsg(got, msg) {
		h.t.Fatalf("%s Recv %s: got %s, want the good peer's %s", h.srv.Type(), when, describe(got), describe(msg))
	}
	if h.srv.Type() != socket.REP {
		return
	}
	reply := socket.Msg{[]byte("ok"), []byte(fmt.Sprint(h.seq))}
	if err := h.srv.Send(ctx, reply); err != nil {
		h.t.Fatalf("REP Send %s: %v", when, err)
	}
	got, err = h.good.Recv(ctx)
	if err != nil {
		h.t.Fatalf("REQ Recv %s: %v", when, err)
	}
	if !sameMsg(got, reply) {
		h.t.Fatalf("REQ Recv %s: got %s, want %s", when, describe(got), describe(reply))
	}
}

func (h *hostile) dial() *net.TCPConn {
	h.t.Helper()
	c, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
	if err != nil {
		h.t.Fatalf("dial %s: %v", h.addr, err)
	}
	h.t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

func (h *hostile) write(c net.Conn, b []byte) {
	h.t.Helper()
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(b); err != nil {
		h.t.Fatalf("raw write: %v", err)
	}
}

// handshake completes a NULL ZMTP handshake as a peerType socket and reads
// topo's greeting and READY.
func (h *hostile) handshake(c net.Conn) {
	h.t.Helper()
	rawHandshake(h.t, c, h.peerType)
	// the handshake is complete once topo has our READY: wait until it counts us
	h.waitStats("the raw peer's handshake to complete", func(s socket.Stats) bool { return s.Peers >= 2 })
}

// rawHandshake completes a NULL ZMTP handshake on c as a peerType socket and
// reads topo's greeting and READY.
func rawHandshake(t *testing.T, c net.Conn, peerType string) {
	t.Helper()
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(append(zmtpGreeting("NULL"), zmtpReady(peerType)...)); err != nil {
		t.Fatalf("raw write: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	g := make([]byte, 64)
	if _, err := io.ReadFull(c, g); err != nil {
		t.Fatalf("reading topo's greeting: %v", err)
	}
	if g[0] != 0xFF || g[9] != 0x7F || g[10] != 3 || !bytes.HasPrefix(g[12:32], []byte("NULL\x00")) {
		t.Fatalf("topo's greeting is not ZMTP 3.x NULL: % x", g)
	}
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(c, hdr); err != nil {
		t.Fatalf("reading topo's READY: %v", err)
	}
	if hdr[0] != flagCommand {
		t.Fatalf("topo's first frame has flags %#x, want a short command", hdr[0])
	}
	body := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatalf("reading topo's READY: %v", err)
	}
	if !bytes.HasPrefix(body, []byte("\x05READY")) {
		t.Fatalf("topo's first command is %q, want READY", body)
	}
}

// expectClosed checks that topo closes c (EOF or reset) within closeWithin,
// whatever it sends first. It returns what topo sent.
func (h *hostile) expectClosed(c net.Conn, why string) []byte {
	h.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(closeWithin))
	var got bytes.Buffer
	_, err := io.Copy(&got, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		h.t.Fatalf("topo did not close the connection within %v after %s (server stats %+v)", closeWithin, why, h.srv.Stats())
	}
	return got.Bytes()
}

// expectOpen checks that topo has not closed c after d (for peers that must
// stay connected, like a stalled one during the handshake deadline test).
func (h *hostile) expectOpen(c net.Conn, d time.Duration, why string) {
	h.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		h.t.Fatalf("topo closed the connection (%v) %s", err, why)
	}
}

// waitStats polls srv.Stats until ok or the deadline.
func (h *hostile) waitStats(what string, ok func(socket.Stats) bool) {
	h.t.Helper()
	deadline := time.Now().Add(closeWithin)
	for {
		st := h.srv.Stats()
		if ok(st) {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("waiting for %s: stats %+v", what, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *hostile) waitHandshakeFailures(n uint64) {
	h.t.Helper()
	h.waitStats(fmt.Sprintf("HandshakeFailures >= %d", n), func(s socket.Stats) bool { return s.HandshakeFailures >= n })
}

// waitOnlyGoodPeer waits until the hostile connection is gone.
func (h *hostile) waitOnlyGoodPeer() {
	h.t.Helper()
	h.waitStats("Peers == 1 (only the good peer)", func(s socket.Stats) bool { return s.Peers == 1 })
}

// forEachTarget runs f as a subtest against a PULL and a REP.
func forEachTarget(t *testing.T, o socket.Options, f func(h *hostile)) {
	for _, typ := range []socket.Type{socket.PULL, socket.REP} {
		t.Run(string(typ), func(t *testing.T) { f(newHostile(t, typ, o)) })
	}
}

// hugeSizes are frame sizes a peer may announce that must never be allocated.
var hugeSizes = []uint64{1 << 63, 1<<64 - 1, 1 << 40, hostileMaxMsgSize + 1}

func TestHostileHugeLengthInHandshake(t *testing.T) {
	for _, size := range hugeSizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			forEachTarget(t, socket.Options{}, func(h *hostile) {
				c := h.dial()
				// a greeting, then a "command" announcing size bytes instead of READY
				h.write(c, append(zmtpGreeting("NULL"), zmtpLongHeader(flagCommand, size)...))
				h.expectClosed(c, fmt.Sprintf("a %d-byte command header in the handshake", size))
				h.waitHandshakeFailures(1)
				h.exchange("after the huge handshake frame")
				if st := h.srv.Stats(); st.Peers != 1 || st.Connects != 1 {
					t.Errorf("stats %+v: the hostile peer must never count as connected", st)
				}
			})
		})
	}
}

func TestHostileHugeLengthAfterHandshake(t *testing.T) {
	for _, size := range hugeSizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			forEachTarget(t, socket.Options{}, func(h *hostile) {
				c := h.dial()
				h.handshake(c)
				h.write(c, zmtpLongHeader(0, size)) // header only: topo must not wait for the body
				h.expectClosed(c, fmt.Sprintf("a %d-byte frame header (MaxMsgSize %d)", size, hostileMaxMsgSize))
				h.waitOnlyGoodPeer()
				h.exchange("after the huge frame")
			})
		})
	}
	// MaxMsgSize bounds the whole message: two 600 KiB frames exceed 1 MiB.
	t.Run("multi-frame sum over MaxMsgSize", func(t *testing.T) {
		forEachTarget(t, socket.Options{}, func(h *hostile) {
			c := h.dial()
			h.handshake(c)
			part := bytes.Repeat([]byte{'x'}, 600<<10)
			h.write(c, zmtpFrame(flagMore, part))
			h.write(c, zmtpLongHeader(0, uint64(len(part))))
			h.expectClosed(c, "a second 600 KiB frame with MaxMsgSize 1 MiB")
			h.waitOnlyGoodPeer()
			h.exchange("after the oversized multi-frame message")
		})
	})
}

func TestHostileGarbageGreeting(t *testing.T) {
	rnd := make([]byte, 64)
	rand.New(rand.NewSource(1)).Read(rnd)
	cases := []struct {
		name string
		data []byte
	}{
		{"http request", []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: hostile\r\nAccept: */*\r\n\r\n")},
		{"zeros", make([]byte, 64)},
		{"random bytes", rnd},
		{"unknown mechanism", zmtpGreeting("NOPE")},
		{"valid greeting then garbage instead of READY", append(zmtpGreeting("NULL"), bytes.Repeat([]byte{0xFF}, 64)...)},
		{"READY with a truncated property", append(zmtpGreeting("NULL"), zmtpFrame(flagCommand, []byte("\x05READY\x0bSocket-Type\x00\x00\x10\x00PU"))...)},
		{"incompatible socket type", append(zmtpGreeting("NULL"), zmtpReady("PUB")...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachTarget(t, socket.Options{}, func(h *hostile) {
				c := h.dial()
				h.write(c, tc.data)
				h.expectClosed(c, tc.name)
				h.waitHandshakeFailures(1)
				h.exchange("after " + tc.name)
				if st := h.srv.Stats(); st.Peers != 1 || st.Connects != 1 || st.MsgsIn != 2 {
					t.Errorf("stats %+v: want Peers=1 Connects=1 MsgsIn=2 (only the good peer's)", st)
				}
			})
		})
	}
	// garbage after a good handshake: a frame with reserved flag bits set
	t.Run("reserved flag bits after the handshake", func(t *testing.T) {
		forEachTarget(t, socket.Options{}, func(h *hostile) {
			c := h.dial()
			h.handshake(c)
			h.write(c, []byte{0xF8, 3, 'b', 'a', 'd'})
			h.expectClosed(c, "a frame with flags 0xF8")
			h.waitOnlyGoodPeer()
			h.exchange("after the bad frame")
		})
	})
}

// Silent and stalled connections must not block anyone else: with a long
// handshake deadline, a new well-behaved peer connects and exchanges while
// eight silent connections are still open.
func TestHostileSilentConnection(t *testing.T) {
	t.Run("does not block other peers", func(t *testing.T) {
		forEachTarget(t, socket.Options{HandshakeTimeout: time.Minute}, func(h *hostile) {
			var silent []*net.TCPConn
			for i := 0; i < 8; i++ {
				c := h.dial()
				if i%2 == 1 {
					h.write(c, zmtpGreeting("NULL")[:10]) // stalls mid-greeting
				}
				silent = append(silent, c)
			}
			// a second good peer connects after the silent ones
			typ := socket.Type(h.peerType)
			late := newSock(t, h.zctx, typ, socket.Options{})
			connect(t, late, "tcp://"+h.addr)
			ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
			defer cancel()
			if err := late.WaitPeers(ctx, 1); err != nil {
				t.Fatalf("a peer connecting after 8 silent connections: WaitPeers: %v (server stats %+v)", err, h.srv.Stats())
			}
			h.waitStats("Peers == 2", func(s socket.Stats) bool { return s.Peers == 2 })
			h.good, late = late, h.good
			h.exchange("from the late peer while silent connections are open")
			h.good, late = late, h.good
			h.exchange("from the first peer while silent connections are open")
			for _, c := range silent {
				h.expectOpen(c, 10*time.Millisecond, "before its handshake deadline of 1m")
			}
		})
	})
	t.Run("is dropped at the handshake deadline", func(t *testing.T) {
		forEachTarget(t, socket.Options{}, func(h *hostile) {
			c := h.dial()
			start := time.Now()
			h.expectClosed(c, "saying nothing")
			if el := time.Since(start); el < hostileHandshakeTimeout/2 {
				t.Errorf("closed after %v, before the %v handshake deadline", el, hostileHandshakeTimeout)
			}
			h.waitHandshakeFailures(1)
			h.exchange("after the silent connection")
		})
	})
	// a peer that completes the handshake and then stalls mid-frame keeps its
	// connection (no deadline applies) but must not hold up anyone else
	t.Run("stalled mid-frame after the handshake", func(t *testing.T) {
		forEachTarget(t, socket.Options{}, func(h *hostile) {
			c := h.dial()
			h.handshake(c)
			h.write(c, append(zmtpFrame(flagMore, []byte("part")), 0x00, 100, 'a', 'b'))
			for i := 0; i < 3; i++ {
				h.exchange("while a peer is stalled mid-frame")
			}
			_ = c.Close()
			h.waitOnlyGoodPeer()
			h.exchange("after the stalled peer left")
		})
	})
}

// Half-closed (FIN sent, still reading): during the greeting it is a failed
// handshake; after the handshake, messages already sent are delivered and
// the connection is dropped.
func TestHostileHalfClosed(t *testing.T) {
	t.Run("mid-greeting", func(t *testing.T) {
		forEachTarget(t, socket.Options{}, func(h *hostile) {
			c := h.dial()
			h.write(c, zmtpGreeting("NULL")[:10])
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			h.expectClosed(c, "a half-close during the greeting")
			h.waitHandshakeFailures(1)
			h.exchange("after the half-closed connection")
		})
	})
	t.Run("after complete messages", func(t *testing.T) {
		forEachTarget(t, socket.Options{}, func(h *hostile) {
			c := h.dial()
			h.handshake(c)
			var want socket.Msg
			if h.srv.Type() == socket.REP {
				h.write(c, zmtpMessage("", "half", "1")) // REQ envelope: empty delimiter
				want = socket.Msg{[]byte("half"), []byte("1")}
			} else {
				h.write(c, zmtpMessage("half", "1"))
				want = socket.Msg{[]byte("half"), []byte("1")}
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
			defer cancel()
			got, err := h.srv.Recv(ctx)
			if err != nil {
				t.Fatalf("Recv the half-closed peer's message: %v", err)
			}
			if !sameMsg(got, want) {
				t.Fatalf("got %s, want %s", describe(got), describe(want))
			}
			if h.srv.Type() == socket.REP {
				// the requester is gone or going: the reply may be dropped, but
				// Send must return and the REP must accept the next request
				if err := h.srv.Send(ctx, socket.Msg{[]byte("late reply")}); err != nil {
					t.Logf("REP Send to a half-closed peer: %v", err)
				}
			}
			h.expectClosed(c, "a half-close after the handshake")
			h.waitOnlyGoodPeer()
			h.exchange("after the half-closed peer")
		})
	})
}

// A peer that vanishes mid-frame or mid-message: nothing partial is
// delivered, and the socket keeps serving.
func TestHostileVanishMidFrame(t *testing.T) {
	cases := []struct {
		name string
		data []byte
	}{
		{"mid-header", []byte{flagLong, 0, 0}},
		{"mid-body", append([]byte{0x00, 100}, "only ten b"...)},
		{"mid-long-body", append(zmtpLongHeader(0, 70000), bytes.Repeat([]byte{'z'}, 1000)...)},
		{"mid-message (first frame complete)", zmtpFrame(flagMore, []byte("first"))},
		{"mid-message (after an empty frame)", append(zmtpFrame(flagMore, nil), zmtpFrame(flagMore, []byte("second"))...)},
	}
	for _, tc := range cases {
		for _, reset := range []bool{false, true} {
			name := tc.name + " close"
			if reset {
				name = tc.name + " reset"
			}
			t.Run(name, func(t *testing.T) {
				forEachTarget(t, socket.Options{}, func(h *hostile) {
					c := h.dial()
					h.handshake(c)
					h.write(c, tc.data)
					if reset {
						_ = c.SetLinger(0) // RST instead of FIN
					}
					_ = c.Close()
					h.waitOnlyGoodPeer()
					h.exchange("after a peer vanished " + tc.name) // fails if a partial message surfaced
					if st := h.srv.Stats(); st.MsgsIn != 2 {
						t.Errorf("MsgsIn = %d, want 2 (only the good peer's)", st.MsgsIn)
					}
				})
			})
		}
	}
}

// Random bytes after a good handshake, many seeds: each connection is
// dropped or ignored, never crashes the process, and never delivers anything
// but well-formed messages; the good peer keeps exchanging.
func TestHostileRandomFramesAfterHandshake(t *testing.T) {
	forEachTarget(t, socket.Options{}, func(h *hostile) {
		for seed := int64(1); seed <= 40; seed++ {
			c := h.dial()
			h.handshake(c)
			r := rand.New(rand.NewSource(seed))
			junk := make([]byte, 64+r.Intn(4096))
			r.Read(junk)
			h.write(c, junk)
			_ = c.Close()
			h.waitOnlyGoodPeer()
			// whatever well-formed message the junk happened to contain may
			// have been delivered; drain it, then the good peer must get through
			h.drainStray()
			h.exchange(fmt.Sprintf("after random frames (seed %d)", seed))
		}
	})
}

// drainStray discards messages that a hostile peer managed to deliver (and,
// for REP, answers them so the socket is ready for the next request).
func (h *hostile) drainStray() {
	h.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(h.ctx, 50*time.Millisecond)
		m, err := h.srv.Recv(ctx)
		cancel()
		if err != nil {
			return
		}
		h.t.Logf("stray message from a random-bytes peer (tolerated): %s", describe(m))
		if h.srv.Type() == socket.REP {
			sctx, scancel := context.WithTimeout(h.ctx, time.Second)
			_ = h.srv.Send(sctx, socket.Msg{[]byte("stray")})
			scancel()
		}
	}
}

// stalledReader is a raw peer that completes the handshake (announcing
// peerType, sending extra after READY) and then never reads: its kernel
// buffers fill and topo's writes to it stall.
func stalledReader(t *testing.T, h *hostile, extra []byte) *net.TCPConn {
	t.Helper()
	c := h.dial()
	_ = c.SetReadBuffer(4096)
	h.handshake(c)
	if len(extra) > 0 {
		h.write(c, extra)
	}
	return c
}

// A PUB with one subscriber that never reads: the other subscriber gets every
// message, Send never blocks, and the stalled subscriber's drops are counted.
func TestHostileStalledSubscriber(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	zctx := &socket.Context{}
	t.Cleanup(func() { _ = zctx.Close() })
	const hwm = 1000
	pub := newSock(t, zctx, socket.PUB, socket.Options{SendHWM: hwm, HandshakeTimeout: hostileHandshakeTimeout})
	ep := bindEphemeral(t, pub)
	sub := newSock(t, zctx, socket.SUB, socket.Options{RecvHWM: -1})
	if err := sub.Subscribe(nil); err != nil {
		t.Fatal(err)
	}
	connect(t, sub, ep)
	h := &hostile{t: t, ctx: ctx, zctx: zctx, srv: pub, addr: strings.TrimPrefix(ep, "tcp://"), peerType: "SUB"}
	if err := pub.WaitPeers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// ZMTP 3.0 subscription message: 0x01 + prefix (empty: everything)
	stalledReader(t, h, zmtpFrame(0, []byte{1}))
	if err := pub.WaitPeers(ctx, 2); err != nil {
		t.Fatalf("PUB WaitPeers(2 subscribers): %v (stats %+v)", err, pub.Stats())
	}
	body := bytes.Repeat([]byte{'p'}, 1024)
	const batches, per = 60, hwm / 2 // 30,000 × 1 KiB = 30 MB: far beyond the stalled peer's buffers
	for b := 0; b < batches; b++ {
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		for i := 0; i < per; i++ {
			if err := pub.Send(sctx, socket.Msg{[]byte(fmt.Sprint(b*per + i)), body}); err != nil {
				t.Fatalf("PUB Send %d with a stalled subscriber: %v (stats %+v)", b*per+i, err, pub.Stats())
			}
		}
		scancel()
		// the reading subscriber gets every message of the batch, in order
		for i := 0; i < per; i++ {
			rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
			m, err := sub.Recv(rctx)
			rcancel()
			if err != nil {
				t.Fatalf("SUB Recv %d: %v (PUB stats %+v)", b*per+i, err, pub.Stats())
			}
			if len(m) != 2 || string(m[0]) != fmt.Sprint(b*per+i) || !bytes.Equal(m[1], body) {
				t.Fatalf("SUB message %d: got %s", b*per+i, describe(m))
			}
		}
	}
	st := pub.Stats()
	if st.Dropped == 0 {
		t.Errorf("PUB stats %+v: the stalled subscriber's overflow must be counted in Dropped", st)
	}
	if st.MsgsOut != batches*per {
		t.Errorf("PUB MsgsOut = %d, want %d", st.MsgsOut, batches*per)
	}
}

// A PUSH with one PULL peer that never reads: once that peer's queue is full,
// round-robin skips it and everything else reaches the reading peer.
func TestHostileStalledPuller(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	zctx := &socket.Context{}
	t.Cleanup(func() { _ = zctx.Close() })
	const hwm, size, n = 100, 16 << 10, 4000 // 64 MB: far beyond the stalled peer's HWM and buffers
	push := newSock(t, zctx, socket.PUSH, socket.Options{SendHWM: hwm, HandshakeTimeout: hostileHandshakeTimeout, Linger: -1})
	ep := bindEphemeral(t, push)
	pull := newSock(t, zctx, socket.PULL, socket.Options{})
	connect(t, pull, ep)
	h := &hostile{t: t, ctx: ctx, zctx: zctx, srv: push, addr: strings.TrimPrefix(ep, "tcp://"), peerType: "PULL"}
	if err := push.WaitPeers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	stalledReader(t, h, nil)
	body := bytes.Repeat([]byte{'q'}, size)
	got := make(chan int, 1)
	go func() {
		next, count := 0, 0
		for {
			rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
			m, err := pull.Recv(rctx)
			rcancel()
			if err != nil {
				got <- count
				return
			}
			var seq int
			if _, err := fmt.Sscan(string(m[0]), &seq); err != nil || seq < next {
				t.Errorf("PULL got %s after seq %d: out of order or malformed", describe(m), next)
			}
			next = seq + 1
			count++
		}
	}()
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	for i := 0; i < n; i++ {
		if err := push.Send(sctx, socket.Msg{[]byte(fmt.Sprint(i)), body}); err != nil {
			t.Fatalf("PUSH Send %d with a stalled peer: %v (stats %+v)", i, err, push.Stats())
		}
	}
	count := <-got
	// The stalled peer can absorb at most its HWM, topo's write buffer and
	// the kernel's socket buffers (send side up to tcp_wmem's max, receive
	// side ~4 KiB as set): bound it with the kernel's limits, doubled.
	kernel := 2 * (sysctlMax(t, "/proc/sys/net/ipv4/tcp_wmem", 4<<20) + 64<<10)
	allowed := hwm + (kernel+(256<<10))/size + 16
	if n-count > allowed {
		t.Errorf("the reading PULL got %d of %d messages: the stalled peer absorbed %d, more than HWM %d + buffers (%d in all)",
			count, n, n-count, hwm, allowed)
	}
	t.Logf("reading PULL got %d of %d; the stalled peer absorbed %d (allowed %d)", count, n, n-count, allowed)
}

// sysctlMax reads the last number of a /proc/sys file like tcp_wmem.
func sysctlMax(t *testing.T, path string, dflt int) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return dflt
	}
	f := strings.Fields(string(b))
	var v int
	if len(f) == 0 {
		return dflt
	}
	if _, err := fmt.Sscan(f[len(f)-1], &v); err != nil {
		return dflt
	}
	return v
}
