package socket_test

// Hostile CURVE peers: a raw TCP connection speaks CURVE with the
// mechanism core (internal/curve) to a topo PULL that is a CURVE server,
// while a good topo CURVE client keeps exchanging messages with it. Each
// scenario breaks the protocol in one way (a replayed INITIATE, a replayed
// or reordered MESSAGE nonce, a truncated or altered box, a cookie from
// another connection, oversize metadata) and checks that topo ends that one
// connection, delivers nothing of it that it should not, and keeps serving
// the good peer.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/runtime/socket/internal/curve"
)

type curveHostile struct {
	*hostile
	server socket.CurveKeyPair
}

func newCurveHostile(t *testing.T) *curveHostile {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	zctx := &socket.Context{}
	t.Cleanup(func() { _ = zctx.Close() })
	server := mustKeyPair(t)
	h := &hostile{t: t, ctx: ctx, zctx: zctx, peerType: "PUSH"}
	h.srv = newSock(t, zctx, socket.PULL, socket.Options{
		Security:         socket.Curve{Key: server},
		HandshakeTimeout: hostileHandshakeTimeout,
		MaxMsgSize:       hostileMaxMsgSize,
	})
	ep := bindEphemeral(t, h.srv)
	h.addr = strings.TrimPrefix(ep, "tcp://")
	h.good = newSock(t, zctx, socket.PUSH, socket.Options{Security: socket.Curve{ServerKey: server.Public}})
	connect(t, h.good, ep)
	if err := h.srv.WaitPeers(ctx, 1); err != nil {
		t.Fatalf("WaitPeers(1): %v", err)
	}
	h.exchange("before the hostile peer")
	return &curveHostile{hostile: h, server: server}
}

// rawCurve is a raw CURVE client connection driven by the core.
type rawCurve struct {
	h    *curveHostile
	c    net.Conn
	cl   *curve.Client
	sess *curve.Session
	// the handshake as sent
	hello, initiate []byte
}

func (h *curveHostile) rawClient(cfg curve.ClientConfig) *rawCurve {
	h.t.Helper()
	if cfg.Key.Secret == ([32]byte{}) {
		kp, err := curve.GenerateKey(nil)
		if err != nil {
			h.t.Fatal(err)
		}
		cfg.Key = kp
	}
	cfg.ServerKey = h.server.Public
	if cfg.Metadata == nil {
		cfg.Metadata = curve.Metadata{{Name: "Socket-Type", Value: []byte("PUSH")}}
	}
	cl, err := curve.NewClient(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	r := &rawCurve{h: h, c: h.dial(), cl: cl}
	h.write(r.c, zmtpGreeting("CURVE"))
	g := make([]byte, 64)
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(r.c, g); err != nil {
		h.t.Fatalf("reading topo's greeting: %v", err)
	}
	if !bytes.HasPrefix(g[12:32], []byte("CURVE\x00")) {
		h.t.Fatalf("topo's greeting names mechanism %q, want CURVE", g[12:32])
	}
	return r
}

// command reads one command frame from topo.
func (r *rawCurve) command() []byte {
	r.h.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer r.c.SetReadDeadline(time.Time{})
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(r.c, hdr); err != nil {
		r.h.t.Fatalf("reading a command: %v", err)
	}
	if hdr[0] != flagCommand {
		r.h.t.Fatalf("frame flags %#x, want a short command", hdr[0])
	}
	body := make([]byte, hdr[1])
	if _, err := io.ReadFull(r.c, body); err != nil {
		r.h.t.Fatalf("reading a command: %v", err)
	}
	return body
}

// sendHello sends HELLO and returns the WELCOME.
func (r *rawCurve) sendHello() []byte {
	r.h.t.Helper()
	hello, err := r.cl.Hello()
	if err != nil {
		r.h.t.Fatal(err)
	}
	r.hello = hello
	r.h.write(r.c, zmtpFrame(flagCommand, hello))
	return r.command()
}

// makeInitiate consumes WELCOME and returns the INITIATE, unsent.
func (r *rawCurve) makeInitiate(welcome []byte) []byte {
	r.h.t.Helper()
	init, err := r.cl.OnWelcome(welcome)
	if err != nil {
		r.h.t.Fatal(err)
	}
	r.initiate = init
	return init
}

// handshake completes the handshake and waits until topo counts the peer.
func (r *rawCurve) handshake() {
	r.h.t.Helper()
	init := r.makeInitiate(r.sendHello())
	r.h.write(r.c, zmtpFrame(flagCommand, init))
	sess, err := r.cl.OnReady(r.command())
	if err != nil {
		r.h.t.Fatalf("READY: %v", err)
	}
	r.sess = sess
	r.h.waitStats("the raw CURVE peer's handshake", func(s socket.Stats) bool { return s.Peers >= 2 })
}

// sealed is one frame of the data phase as topo expects it.
func (r *rawCurve) sealed(flags byte, payload string) []byte {
	r.h.t.Helper()
	b, err := r.sess.SealFrame(nil, flags, []byte(payload))
	if err != nil {
		r.h.t.Fatal(err)
	}
	return b
}

// recvRaw reads the next message at srv and checks it is want.
func (h *curveHostile) recvRaw(want string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	m, err := h.srv.Recv(ctx)
	if err != nil {
		h.t.Fatalf("Recv (%s): %v (stats %+v)", want, err, h.srv.Stats())
	}
	if len(m) != 1 || string(m[0]) != want {
		h.t.Fatalf("Recv: got %s, want [%q]", describe(m), want)
	}
}

func TestCurveHostileDataPhase(t *testing.T) {
	for _, tc := range []struct {
		name string
		// attack writes to the raw peer's connection after the handshake
		// and returns the payloads topo must deliver before dropping it.
		attack func(r *rawCurve) []string
	}{
		{"replayed MESSAGE nonce", func(r *rawCurve) []string {
			m := r.sealed(0, "once")
			r.h.write(r.c, append(append([]byte(nil), m...), m...))
			return []string{"once"}
		}},
		{"reordered MESSAGE nonces", func(r *rawCurve) []string {
			first, second := r.sealed(0, "first"), r.sealed(0, "second")
			r.h.write(r.c, append(append([]byte(nil), second...), first...))
			return []string{"second"}
		}},
		{"truncated box", func(r *rawCurve) []string {
			m := r.sealed(0, "whole")
			// a frame announcing fewer bytes than MESSAGE's overhead
			r.h.write(r.c, append(append([]byte(nil), m...), zmtpFrame(0, []byte("\x07MESSAGE\x00\x00\x00\x00\x00\x00\x00\x09short"))...))
			return []string{"whole"}
		}},
		{"box cut short inside its frame", func(r *rawCurve) []string {
			m := r.sealed(0, "payload that is cut")
			body := m[2 : len(m)-4]
			r.h.write(r.c, zmtpFrame(0, body))
			return nil
		}},
		{"altered box", func(r *rawCurve) []string {
			m := r.sealed(0, "altered")
			m[len(m)-1] ^= 1
			r.h.write(r.c, m)
			return nil
		}},
		{"plaintext frame after READY", func(r *rawCurve) []string {
			r.h.write(r.c, zmtpMessage("plain"))
			return nil
		}},
		{"replayed INITIATE after READY", func(r *rawCurve) []string {
			r.h.write(r.c, zmtpFrame(flagCommand, r.initiate))
			return nil
		}},
		{"MORE flag on the MESSAGE frame", func(r *rawCurve) []string {
			m := r.sealed(0, "x")
			m[0] |= flagMore
			r.h.write(r.c, m)
			return nil
		}},
		{"command inside a multi-frame message", func(r *rawCurve) []string {
			r.h.write(r.c, append(r.sealed(curve.FlagMore, "part"), r.sealed(curve.FlagCommand, "\x04PING\x00\x00")...))
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newCurveHostile(t)
			r := h.rawClient(curve.ClientConfig{})
			r.handshake()
			for _, want := range tc.attack(r) {
				h.recvRaw(want)
			}
			h.expectClosed(r.c, tc.name)
			h.waitOnlyGoodPeer()
			h.exchange("after: " + tc.name)
		})
	}
}

func TestCurveHostileHandshake(t *testing.T) {
	t.Run("replayed INITIATE on another connection", func(t *testing.T) {
		h := newCurveHostile(t)
		a := h.rawClient(curve.ClientConfig{})
		a.handshake()
		b := h.rawClient(curve.ClientConfig{})
		b.sendHello()
		// a's INITIATE (its cookie, its vouch) on b's connection
		h.write(b.c, zmtpFrame(flagCommand, a.initiate))
		if got := h.expectClosed(b.c, "a replayed INITIATE"); len(got) != 0 {
			t.Errorf("topo answered a replayed INITIATE with % x", got)
		}
		h.waitHandshakeFailures(1)
		h.exchange("after a replayed INITIATE")
		if st := h.srv.Stats(); st.Peers != 2 {
			t.Errorf("Peers = %d, want 2 (the good peer and a)", st.Peers)
		}
	})
	t.Run("second INITIATE before any MESSAGE", func(t *testing.T) {
		h := newCurveHostile(t)
		r := h.rawClient(curve.ClientConfig{})
		init := r.makeInitiate(r.sendHello())
		h.write(r.c, append(zmtpFrame(flagCommand, init), zmtpFrame(flagCommand, init)...))
		h.expectClosed(r.c, "INITIATE twice")
		h.waitOnlyGoodPeer()
		h.exchange("after INITIATE twice")
	})
	t.Run("cookie from another connection", func(t *testing.T) {
		h := newCurveHostile(t)
		a := h.rawClient(curve.ClientConfig{})
		initA := a.makeInitiate(a.sendHello())
		b := h.rawClient(curve.ClientConfig{})
		initB := b.makeInitiate(b.sendHello())
		forged := append([]byte(nil), initB...)
		copy(forged[9:9+96], initA[9:9+96]) // the cookie sits after "\x08INITIATE"
		h.write(b.c, zmtpFrame(flagCommand, forged))
		if got := h.expectClosed(b.c, "a cookie from another connection"); len(got) != 0 {
			t.Errorf("topo answered a forged cookie with % x", got)
		}
		h.waitHandshakeFailures(1)
		// a's own INITIATE still works: only b's connection ended
		h.write(a.c, zmtpFrame(flagCommand, initA))
		sess, err := a.cl.OnReady(a.command())
		if err != nil {
			t.Fatalf("a's READY: %v", err)
		}
		a.sess = sess
		h.write(a.c, a.sealed(0, "from a"))
		h.recvRaw("from a")
		h.exchange("after a forged cookie")
	})
	t.Run("oversize metadata", func(t *testing.T) {
		h := newCurveHostile(t)
		big := curve.Metadata{{Name: "Socket-Type", Value: []byte("PUSH")}, {Name: "X-Big", Value: bytes.Repeat([]byte("m"), curve.DefaultMaxMetadata)}}
		r := h.rawClient(curve.ClientConfig{Metadata: big, MaxMetadata: 4 * curve.DefaultMaxMetadata})
		init := r.makeInitiate(r.sendHello())
		h.write(r.c, zmtpFrame(flagCommand, init))
		if got := h.expectClosed(r.c, "oversize metadata"); len(got) != 0 {
			t.Errorf("topo answered oversize metadata with % x", got)
		}
		h.waitHandshakeFailures(1)
		h.exchange("after oversize metadata")
	})
	t.Run("HELLO for another server key", func(t *testing.T) {
		h := newCurveHostile(t)
		other := mustKeyPair(t)
		cl, err := curve.NewClient(curve.ClientConfig{Key: curve.KeyPair{Public: [32]byte(mustKeyPair(t).Public)}, ServerKey: other.Public})
		if err != nil {
			t.Fatal(err)
		}
		hello, _ := cl.Hello()
		c := h.dial()
		h.write(c, append(zmtpGreeting("CURVE"), zmtpFrame(flagCommand, hello)...))
		got := h.expectClosed(c, "a HELLO for another server")
		if len(got) > 64 {
			t.Errorf("topo answered a HELLO it cannot open with % x", got[64:])
		}
		h.waitHandshakeFailures(1)
		h.exchange("after a HELLO for another server")
	})
	t.Run("NULL peer on a CURVE socket", func(t *testing.T) {
		h := newCurveHostile(t)
		c := h.dial()
		h.write(c, append(zmtpGreeting("NULL"), zmtpReady("PUSH")...))
		h.expectClosed(c, "a NULL greeting")
		h.waitHandshakeFailures(1)
		h.exchange("after a NULL peer")
		if st := h.srv.Stats(); st.Peers != 1 || st.MsgsIn != uint64(h.seq) {
			t.Errorf("stats %+v", st)
		}
	})
}

// Every message a CURVE peer sends before its connection breaks is
// delivered exactly once, and none after.
func TestCurveHostileCounts(t *testing.T) {
	h := newCurveHostile(t)
	r := h.rawClient(curve.ClientConfig{})
	r.handshake()
	var wire []byte
	for i := 0; i < 5; i++ {
		wire = append(wire, r.sealed(0, fmt.Sprint("m", i))...)
	}
	replay := r.sealed(0, "replayed")
	wire = append(wire, replay...)
	wire = append(wire, replay...)
	wire = append(wire, r.sealed(0, "after the replay")...)
	h.write(r.c, wire)
	for i := 0; i < 5; i++ {
		h.recvRaw(fmt.Sprint("m", i))
	}
	h.recvRaw("replayed")
	h.expectClosed(r.c, "a replayed nonce")
	h.waitOnlyGoodPeer()
	h.exchange("after the replay")
	if st := h.srv.Stats(); st.MsgsIn != uint64(6+h.seq) {
		t.Errorf("MsgsIn = %d, want %d: a message after the bad box was delivered", st.MsgsIn, 6+h.seq)
	}
}
