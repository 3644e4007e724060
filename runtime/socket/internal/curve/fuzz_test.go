package curve

// Fuzz targets over every parser of peer bytes: the four handshake commands
// and the MESSAGE box. Each runs against a deterministic handshake (keys and
// randomness from a fixed ChaCha8 stream), so the seeds made here are valid
// commands for that state and mutations start from a real transcript; the
// committed seeds in testdata/fuzz (interop-*) also hold the bodies that
// crossed the wire in the interop tests, both libzmq's and ours
// (go test -run Libzmq -write-corpus rewrites them).

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// fixedHandshake is a handshake with deterministic keys and randomness, run
// up to the step a fuzz target needs.
type fixedHandshake struct {
	cc ClientConfig
	sc ServerConfig
	c  *Client
	s  *Server
	tr transcript
}

func newFixed(t testing.TB) *fixedHandshake {
	r := rand.NewChaCha8([32]byte{'t', 'o', 'p', 'o'})
	ck, err := GenerateKey(r)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := GenerateKey(r)
	h := &fixedHandshake{
		cc: ClientConfig{Key: ck, ServerKey: sk.Public, Rand: r, Metadata: Metadata{{"Socket-Type", []byte("DEALER")}, {"Identity", []byte("id")}}},
		sc: ServerConfig{Key: sk, Rand: r, Metadata: Metadata{{"Socket-Type", []byte("ROUTER")}}},
	}
	if h.c, err = NewClient(h.cc); err != nil {
		t.Fatal(err)
	}
	if h.s, err = NewServer(h.sc); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *fixedHandshake) hello(t testing.TB) []byte {
	b, err := h.c.Hello()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *fixedHandshake) welcome(t testing.TB) []byte {
	b, err := h.s.OnHello(h.hello(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *fixedHandshake) initiate(t testing.TB) []byte {
	b, err := h.c.OnWelcome(h.welcome(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *fixedHandshake) ready(t testing.TB) ([]byte, *Session) {
	b, ss, err := h.s.OnInitiate(h.initiate(t))
	if err != nil {
		t.Fatal(err)
	}
	return b, ss
}

func FuzzServerHello(f *testing.F) {
	f.Add(newFixed(f).hello(f))
	f.Add([]byte("\x05HELLO"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := newFixed(t)
		w, err := h.s.OnHello(b)
		if err == nil && len(w) != WelcomeLen {
			t.Fatalf("WELCOME of %d bytes", len(w))
		}
	})
}

func FuzzServerInitiate(f *testing.F) {
	f.Add(newFixed(f).initiate(f))
	f.Add([]byte("\x08INITIATE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := newFixed(t)
		h.initiate(t) // server now waits for INITIATE
		reply, sess, err := h.s.OnInitiate(b)
		if err == nil && (sess == nil || reply == nil) {
			t.Fatal("success without a session")
		}
		if _, _, err := h.s.OnInitiate(b); err == nil {
			t.Fatal("a second INITIATE accepted")
		}
	})
}

func FuzzClientWelcome(f *testing.F) {
	f.Add(newFixed(f).welcome(f))
	f.Add([]byte("\x05ERROR\x03400"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := newFixed(t)
		h.welcome(t) // client now waits for WELCOME
		if i, err := h.c.OnWelcome(b); err == nil && len(i) < minInitiateLen {
			t.Fatalf("INITIATE of %d bytes", len(i))
		}
	})
}

func FuzzClientReady(f *testing.F) {
	r, _ := newFixed(f).ready(f)
	f.Add(r)
	f.Add([]byte("\x05ERROR\x03400"))
	f.Add([]byte("\x05ERROR\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := newFixed(t)
		h.ready(t) // client now waits for READY
		if s, err := h.c.OnReady(b); err == nil && s == nil {
			t.Fatal("success without a session")
		}
	})
}

func FuzzOpen(f *testing.F) {
	// server-side session of the fixed handshake; seeds are the client's boxes
	h := newFixed(f)
	r, _ := h.ready(f)
	cs, err := h.c.OnReady(r)
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range [][]byte{nil, []byte("x"), make([]byte, 100)} {
		m, _ := cs.Seal(nil, FlagMore, p)
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := newFixed(t)
		_, ss := h.ready(t)
		before := ss.recvNonce
		inPlace := bytes.Clone(b)
		flags, p, err := ss.Open(nil, b)
		if err != nil {
			if _, _, err2 := ss.OpenInPlace(inPlace); err2 == nil || !bytes.Equal(inPlace, b) {
				t.Fatalf("Open fails (%v) but OpenInPlace gives %v, or changed the body", err, err2)
			}
			return
		}
		after := ss.recvNonce
		ss.recvNonce = before
		f2, p2, err := ss.OpenInPlace(inPlace)
		if err != nil || f2 != flags || !bytes.Equal(p, p2) || ss.recvNonce != after {
			t.Fatalf("OpenInPlace differs from Open: %v", err)
		}
		if flags&^flagMask != 0 || len(p) != len(b)-MessageOverhead {
			t.Fatalf("flags %#x, payload %d of body %d", flags, len(p), len(b))
		}
		if _, _, err := ss.Open(nil, b); err == nil {
			t.Fatal("the same MESSAGE opened twice")
		}
	})
}

// The fuzz seeds made by newFixed stay valid inside each fuzz call only if
// the fixed handshake is the same every time.
func TestFixedHandshakeDeterministic(t *testing.T) {
	a, b := newFixed(t), newFixed(t)
	ra, _ := a.ready(t)
	rb, _ := b.ready(t)
	if string(ra) != string(rb) {
		t.Fatal("two fixed handshakes differ")
	}
	cs, err := a.c.OnReady(ra)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := cs.Seal(nil, 0, []byte("x"))
	_, ss := newFixed(t).ready(t)
	if _, p, err := ss.Open(nil, m); err != nil || string(p) != "x" {
		t.Fatalf("a fixed client's box does not open on another fixed server: %v", err)
	}
}
