package curve

import (
	"encoding/binary"

	"bytes"
	"errors"
	"golang.org/x/crypto/nacl/box"
	"testing"
)

func mustKey(t testing.TB) KeyPair {
	t.Helper()
	kp, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// pair returns the configurations of a client and a server that trust each other.
func pair(t testing.TB) (ClientConfig, ServerConfig) {
	ck, sk := mustKey(t), mustKey(t)
	return ClientConfig{Key: ck, ServerKey: sk.Public, Metadata: Metadata{{"Socket-Type", []byte("DEALER")}, {"Identity", []byte("me")}}},
		ServerConfig{Key: sk, Metadata: Metadata{{"Socket-Type", []byte("ROUTER")}}}
}

// transcript is one handshake's command bodies.
type transcript struct{ hello, welcome, initiate, ready []byte }

func handshake(t testing.TB, cc ClientConfig, sc ServerConfig) (*Session, *Session, transcript) {
	t.Helper()
	c, err := NewClient(cc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(sc)
	if err != nil {
		t.Fatal(err)
	}
	var tr transcript
	if tr.hello, err = c.Hello(); err != nil {
		t.Fatal(err)
	}
	if tr.welcome, err = s.OnHello(tr.hello); err != nil {
		t.Fatal(err)
	}
	if tr.initiate, err = c.OnWelcome(tr.welcome); err != nil {
		t.Fatal(err)
	}
	var ss, cs *Session
	if tr.ready, ss, err = s.OnInitiate(tr.initiate); err != nil {
		t.Fatal(err)
	}
	if cs, err = c.OnReady(tr.ready); err != nil {
		t.Fatal(err)
	}
	return cs, ss, tr
}

func TestHandshake(t *testing.T) {
	cc, sc := pair(t)
	var authorized [32]byte
	sc.Authorize = func(k [32]byte) error { authorized = k; return nil }
	cs, ss, tr := handshake(t, cc, sc)
	if len(tr.hello) != HelloLen || len(tr.welcome) != WelcomeLen {
		t.Fatalf("HELLO %d, WELCOME %d bytes", len(tr.hello), len(tr.welcome))
	}
	if want := minInitiateLen + cc.Metadata.EncodedLen(); len(tr.initiate) != want {
		t.Fatalf("INITIATE %d bytes, want %d", len(tr.initiate), want)
	}
	if authorized != cc.Key.Public || ss.PeerKey() != cc.Key.Public || cs.PeerKey() != sc.Key.Public {
		t.Fatal("peer keys do not match")
	}
	if v, _ := ss.PeerMetadata().Get("Identity"); string(v) != "me" {
		t.Fatalf("server sees Identity %q", v)
	}
	if v, _ := cs.PeerMetadata().Get("Socket-Type"); string(v) != "ROUTER" {
		t.Fatalf("client sees Socket-Type %q", v)
	}
	// nonces as libzmq counts them: HELLO 1, INITIATE 2, client MESSAGEs from 3; READY 1, server MESSAGEs from 2
	m, _ := cs.Seal(nil, FlagMore, []byte("hi"))
	if string(m[:8]) != "\x07MESSAGE" || !bytes.Equal(m[8:16], []byte{0, 0, 0, 0, 0, 0, 0, 3}) {
		t.Fatalf("client's first MESSAGE header %q", m[:16])
	}
	f, p, err := ss.Open(nil, m)
	if err != nil || f != FlagMore || string(p) != "hi" {
		t.Fatalf("Open = %d %q %v", f, p, err)
	}
	m, _ = ss.Seal(nil, FlagCommand, []byte("\x04PING\x00\x00"))
	if !bytes.Equal(m[8:16], []byte{0, 0, 0, 0, 0, 0, 0, 2}) {
		t.Fatalf("server's first MESSAGE nonce %x", m[8:16])
	}
	if f, p, err = cs.Open(nil, m); err != nil || f != FlagCommand || string(p) != "\x04PING\x00\x00" {
		t.Fatalf("Open = %d %q %v", f, p, err)
	}
}

func TestAuthorizeRefuses(t *testing.T) {
	cc, sc := pair(t)
	deny := errors.New("not on the list")
	sc.Authorize = func([32]byte) error { return deny }
	c, _ := NewClient(cc)
	s, _ := NewServer(sc)
	hello, _ := c.Hello()
	welcome, err := s.OnHello(hello)
	if err != nil {
		t.Fatal(err)
	}
	initiate, _ := c.OnWelcome(welcome)
	reply, sess, err := s.OnInitiate(initiate)
	var re *RefusedError
	if !errors.As(err, &re) || !errors.Is(err, ErrRefused) || !errors.Is(err, deny) || re.Key != cc.Key.Public || sess != nil {
		t.Fatalf("OnInitiate err = %v, sess %v", err, sess)
	}
	if string(reply) != "\x05ERROR\x03400" {
		t.Fatalf("reply %q", reply)
	}
	_, err = c.OnReady(reply)
	var pe *PeerError
	if !errors.As(err, &pe) || pe.Reason != "400" || !errors.Is(err, ErrRefused) {
		t.Fatalf("OnReady err = %v", err)
	}
}

func TestWrongServerKey(t *testing.T) {
	cc, sc := pair(t)
	cc.ServerKey = mustKey(t).Public
	c, _ := NewClient(cc)
	s, _ := NewServer(sc)
	hello, _ := c.Hello()
	if _, err := s.OnHello(hello); !errors.Is(err, ErrCrypto) {
		t.Fatalf("OnHello err = %v, want ErrCrypto", err)
	}
}

// A cookie (and so an INITIATE) made for one connection fails on another,
// even another with the same server keys and a client with the same short-term key.
func TestCookieFromAnotherConnection(t *testing.T) {
	cc, sc := pair(t)
	c1, _ := NewClient(cc)
	s1, _ := NewServer(sc)
	s2, _ := NewServer(sc)
	hello, _ := c1.Hello()
	w1, err := s1.OnHello(hello)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.OnHello(hello); err != nil { // the same HELLO replayed to a second connection
		t.Fatal(err)
	}
	initiate, err := c1.OnWelcome(w1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s2.OnInitiate(initiate); !errors.Is(err, ErrCrypto) {
		t.Fatalf("INITIATE with connection 1's cookie on connection 2: err = %v, want ErrCrypto", err)
	}
	// connection 1 is unaffected
	if _, sess, err := s1.OnInitiate(initiate); err != nil || sess == nil {
		t.Fatalf("connection 1: %v", err)
	}
}

func TestReplayedInitiate(t *testing.T) {
	cc, sc := pair(t)
	c, _ := NewClient(cc)
	s, _ := NewServer(sc)
	hello, _ := c.Hello()
	welcome, _ := s.OnHello(hello)
	initiate, _ := c.OnWelcome(welcome)
	if _, _, err := s.OnInitiate(initiate); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.OnInitiate(initiate); !errors.Is(err, ErrState) {
		t.Fatalf("second INITIATE: err = %v, want ErrState", err)
	}
	if _, err := s.OnHello(hello); !errors.Is(err, ErrState) {
		t.Fatalf("HELLO after INITIATE: err = %v, want ErrState", err)
	}
	// A failed INITIATE ends the handshake: even the genuine one is refused after it.
	c2, _ := NewClient(cc)
	s2, _ := NewServer(sc)
	hello2, _ := c2.Hello()
	welcome2, _ := s2.OnHello(hello2)
	initiate2, _ := c2.OnWelcome(welcome2)
	bad := bytes.Clone(initiate2)
	bad[len(bad)-1] ^= 1
	if _, _, err := s2.OnInitiate(bad); !errors.Is(err, ErrCrypto) {
		t.Fatalf("altered INITIATE: %v", err)
	}
	if _, _, err := s2.OnInitiate(initiate2); err == nil {
		t.Fatal("INITIATE accepted after a failed one")
	}
}

func TestInitiateNonceNotAfterHello(t *testing.T) {
	// A HELLO whose nonce is 5 followed by the client's INITIATE (nonce 2) fails.
	cc, sc := pair(t)
	c, _ := NewClient(cc)
	s, _ := NewServer(sc)
	hello, _ := c.Hello()
	// re-seal the HELLO with nonce 5, as a hostile client could
	forged := forgeHello(t, c, 5)
	_ = hello
	welcome, err := s.OnHello(forged)
	if err != nil {
		t.Fatal(err)
	}
	initiate, _ := c.OnWelcome(welcome)
	if _, _, err := s.OnInitiate(initiate); !errors.Is(err, ErrNonce) {
		t.Fatalf("err = %v, want ErrNonce", err)
	}
}

func TestOversizeMetadata(t *testing.T) {
	cc, sc := pair(t)
	cc.Metadata = Metadata{{"Socket-Type", []byte("DEALER")}, {"X-Big", make([]byte, 2000)}}
	sc.MaxMetadata = 1024
	c, err := NewClient(cc)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewServer(sc)
	hello, _ := c.Hello()
	welcome, _ := s.OnHello(hello)
	initiate, _ := c.OnWelcome(welcome)
	if len(initiate) <= MaxHandshakeLen(sc.MaxMetadata) {
		t.Fatalf("INITIATE of %d bytes within MaxHandshakeLen %d", len(initiate), MaxHandshakeLen(sc.MaxMetadata))
	}
	if reply, _, err := s.OnInitiate(initiate); !errors.Is(err, ErrMetadata) || reply != nil {
		t.Fatalf("err = %v, reply %q; want ErrMetadata and no reply", err, reply)
	}
	// and our own metadata over the limit is refused at construction
	cc.MaxMetadata = 1024
	if _, err := NewClient(cc); !errors.Is(err, ErrMetadata) {
		t.Fatalf("NewClient: %v", err)
	}
	// a READY with metadata over the client's limit
	cc2, sc2 := pair(t)
	cc2.MaxMetadata = 100
	sc2.Metadata = Metadata{{"X-Big", make([]byte, 200)}}
	c2, _ := NewClient(cc2)
	s2, _ := NewServer(sc2)
	hello, _ = c2.Hello()
	welcome, _ = s2.OnHello(hello)
	initiate, _ = c2.OnWelcome(welcome)
	ready, _, err := s2.OnInitiate(initiate)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.OnReady(ready); !errors.Is(err, ErrMetadata) {
		t.Fatalf("OnReady: %v", err)
	}
}

func TestHandshakeMalformed(t *testing.T) {
	cc, sc := pair(t)
	_, _, tr := handshake(t, cc, sc)
	cut := func(b []byte, n int) []byte { return bytes.Clone(b[:n]) }
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 0x40; return b }
	for name, hello := range map[string][]byte{
		"empty": nil, "short": cut(tr.hello, 199), "long": append(bytes.Clone(tr.hello), 0),
		"name": flip(tr.hello, 1), "version": flip(tr.hello, 6), "box": flip(tr.hello, 150),
	} {
		s, _ := NewServer(sc)
		if _, err := s.OnHello(hello); err == nil {
			t.Errorf("HELLO %s accepted", name)
		}
	}
	for name, welcome := range map[string][]byte{
		"empty": nil, "short": cut(tr.welcome, 167), "name": flip(tr.welcome, 2), "box": flip(tr.welcome, 100),
		"error": []byte("\x05ERROR\x09"),
	} {
		c, _ := NewClient(cc)
		if _, err := c.Hello(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.OnWelcome(welcome); err == nil {
			t.Errorf("WELCOME %s accepted", name)
		}
	}
	c, _ := NewClient(cc)
	if _, err := c.OnWelcome(tr.welcome); !errors.Is(err, ErrState) {
		t.Errorf("WELCOME before HELLO: %v", err)
	}
}

func TestDeriveKeyPair(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	a, err := DeriveKeyPair(seed, "worker.in")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := DeriveKeyPair(seed, "worker.in")
	c, _ := DeriveKeyPair(seed, "worker.out")
	if a != b || a == c || a.Public != PublicFromSecret(a.Secret) {
		t.Fatal("derivation not deterministic per name")
	}
	if _, err := DeriveKeyPair(nil, "x"); err == nil {
		t.Fatal("empty seed accepted")
	}
	if got := KeyString(a.Public); len(got) != 40 {
		t.Fatalf("KeyString %q", got)
	}
	if k, err := ParseKey(KeyString(a.Public)); err != nil || k != a.Public {
		t.Fatalf("ParseKey round trip: %v", err)
	}
}

// forgeHello makes the HELLO c would send if its nonce were n.
func forgeHello(t *testing.T, c *Client, n uint64) []byte {
	t.Helper()
	out := make([]byte, 120, HelloLen)
	copy(out, "\x05HELLO\x01\x00")
	copy(out[80:], c.shortPublic[:])
	binary.BigEndian.PutUint64(out[112:], n)
	var nonce [24]byte
	copy(nonce[:], "CurveZMQHELLO---")
	binary.BigEndian.PutUint64(nonce[16:], n)
	return box.Seal(out, make([]byte, 64), &nonce, &c.cfg.ServerKey, &c.shortSecret)
}
