package curve

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
)

// Seal's in-place box is byte for byte secretbox.Seal of flags||payload, and
// Open inverts it, for every length around the 32-byte first block and the
// 64-byte Salsa20 block.
func TestSealMatchesSecretbox(t *testing.T) {
	cc, sc := pair(t)
	cs, ss, _ := handshake(t, cc, sc)
	for n := 0; n < 200; n++ {
		payload := bytes.Repeat([]byte{byte(n)}, n)
		nonceN := cs.sendNonce
		m, err := cs.Seal([]byte("prefix"), FlagMore, payload)
		if err != nil {
			t.Fatal(err)
		}
		if string(m[:6]) != "prefix" || len(m) != 6+SealedLen(n) {
			t.Fatalf("n=%d: bad framing", n)
		}
		m = m[6:]
		var nonce [24]byte
		copy(nonce[:], "CurveZMQMESSAGEC")
		binary.BigEndian.PutUint64(nonce[16:], nonceN)
		want := secretbox.Seal(nil, append([]byte{FlagMore}, payload...), &nonce, &cs.key)
		if !bytes.Equal(m[16:], want) {
			t.Fatalf("n=%d: box differs from secretbox.Seal", n)
		}
		f, p, err := ss.Open([]byte("x"), m)
		if err != nil || f != FlagMore || !bytes.Equal(p[1:], payload) || p[0] != 'x' {
			t.Fatalf("n=%d: Open = %d, %v", n, f, err)
		}
	}
}

func TestOpenNonces(t *testing.T) {
	cc, sc := pair(t)
	cs, ss, _ := handshake(t, cc, sc)
	m1, _ := cs.Seal(nil, 0, []byte("one"))
	m2, _ := cs.Seal(nil, 0, []byte("two"))
	m3, _ := cs.Seal(nil, 0, []byte("three"))
	if _, _, err := ss.Open(nil, m2); err != nil { // m1 skipped: gaps are allowed, as in libzmq
		t.Fatal(err)
	}
	if _, _, err := ss.Open(nil, m2); !errors.Is(err, ErrNonce) {
		t.Fatalf("replayed MESSAGE: %v", err)
	}
	if _, _, err := ss.Open(nil, m1); !errors.Is(err, ErrNonce) {
		t.Fatalf("reordered MESSAGE: %v", err)
	}
	if _, p, err := ss.Open(nil, m3); err != nil || string(p) != "three" {
		t.Fatalf("next MESSAGE after refusals: %q %v", p, err)
	}
	// a box altered in its nonce does not open, and does not advance the nonce
	m4, _ := cs.Seal(nil, 0, []byte("four"))
	bad := bytes.Clone(m4)
	bad[15]++
	if _, _, err := ss.Open(nil, bad); !errors.Is(err, ErrCrypto) {
		t.Fatalf("altered nonce: %v", err)
	}
	if _, _, err := ss.Open(nil, m4); err != nil {
		t.Fatalf("genuine after altered: %v", err)
	}
	// the server's own MESSAGE reflected back to it does not open (other prefix)
	r, _ := ss.Seal(nil, 0, []byte("mirror"))
	binary.BigEndian.PutUint64(r[8:], 1000)
	if _, _, err := ss.Open(nil, r); !errors.Is(err, ErrCrypto) {
		t.Fatalf("reflected MESSAGE: %v", err)
	}
}

func TestOpenTruncated(t *testing.T) {
	cc, sc := pair(t)
	cs, ss, _ := handshake(t, cc, sc)
	m, _ := cs.Seal(nil, FlagMore, []byte("payload"))
	for n := 0; n < len(m); n++ {
		_, _, err := ss.Open(nil, m[:n])
		if n < MessageOverhead && !errors.Is(err, ErrMalformed) || n >= MessageOverhead && !errors.Is(err, ErrCrypto) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	if _, _, err := ss.Open(nil, append([]byte("\x07MESSAGX"), m[8:]...)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("wrong name: %v", err)
	}
	if _, p, err := ss.Open(nil, m); err != nil || string(p) != "payload" {
		t.Fatalf("genuine after truncations: %v", err)
	}
}

func TestSealNonceExhausted(t *testing.T) {
	cc, sc := pair(t)
	cs, ss, _ := handshake(t, cc, sc)
	cs.sendNonce = 1<<64 - 1
	m, err := cs.Seal(nil, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ss.Open(nil, m); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Seal(nil, 0, nil); !errors.Is(err, ErrNonceExhausted) {
		t.Fatalf("after 2^64-1: %v", err)
	}
}

func TestSealOpenNoAlloc(t *testing.T) {
	cc, sc := pair(t)
	cs, ss, _ := handshake(t, cc, sc)
	payload := make([]byte, 1024)
	sealed := make([]byte, 0, SealedLen(len(payload)))
	opened := make([]byte, 0, len(payload))
	allocs := testing.AllocsPerRun(100, func() {
		m, _ := cs.Seal(sealed[:0], FlagMore, payload)
		if _, _, err := ss.Open(opened[:0], m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Seal+Open", allocs)
	}
	frame := make([]byte, 0, 9+SealedLen(len(payload)))
	allocs = testing.AllocsPerRun(100, func() {
		m, _ := cs.SealFrame(frame[:0], 0, payload)
		if _, _, err := ss.OpenInPlace(m[9:]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per SealFrame+OpenInPlace", allocs)
	}
}

// Seal and Open of one Session run concurrently (one writer, one reader),
// as doc.go allows; -race checks they share no state.
func TestSessionSealOpenConcurrent(t *testing.T) {
	cc, sc := pair(t)
	cs, ss, _ := handshake(t, cc, sc)
	const n = 2000
	toServer, toClient := make(chan []byte, 16), make(chan []byte, 16)
	errs := make(chan error, 4)
	seal := func(s *Session, out chan<- []byte) {
		defer close(out)
		for i := 0; i < n; i++ {
			m, err := s.Seal(nil, 0, binary.BigEndian.AppendUint32(nil, uint32(i)))
			if err != nil {
				errs <- err
				return
			}
			out <- m
		}
		errs <- nil
	}
	open := func(s *Session, in <-chan []byte) {
		i := 0
		for m := range in {
			_, p, err := s.Open(nil, m)
			if err != nil || binary.BigEndian.Uint32(p) != uint32(i) {
				errs <- fmt.Errorf("message %d: %v", i, err)
				for range in {
				}
				return
			}
			i++
		}
		errs <- nil
	}
	go seal(cs, toServer)
	go seal(ss, toClient)
	go open(ss, toServer)
	go open(cs, toClient)
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenInPlace(t *testing.T) {
	cc, sc := pair(t)
	cs, ss, _ := handshake(t, cc, sc)
	for _, n := range []int{0, 1, 30, 31, 32, 33, 100, 4096} {
		payload := bytes.Repeat([]byte{byte(n + 1)}, n)
		m, _ := cs.Seal(nil, FlagMore|FlagCommand, payload)
		bad := bytes.Clone(m)
		bad[len(bad)-1] ^= 1
		keep := bytes.Clone(bad)
		if _, _, err := ss.OpenInPlace(bad); !errors.Is(err, ErrCrypto) || !bytes.Equal(bad, keep) {
			t.Fatalf("n=%d: altered box: %v (body changed: %v)", n, err, !bytes.Equal(bad, keep))
		}
		f, p, err := ss.OpenInPlace(m)
		if err != nil || f != FlagMore|FlagCommand || !bytes.Equal(p, payload) || len(p) > 0 && &p[0] != &m[MessageOverhead] {
			t.Fatalf("n=%d: OpenInPlace = %d, %v", n, f, err)
		}
		if _, _, err := ss.OpenInPlace(m); !errors.Is(err, ErrNonce) {
			t.Fatalf("n=%d: replay: %v", n, err)
		}
	}
}

// SealFrame's output is the frame the test framer (and libzmq) writes.
func TestSealFrame(t *testing.T) {
	cc, sc := pair(t)
	a, _, _ := handshake(t, cc, sc)
	for _, n := range []int{0, 255 - MessageOverhead, 256 - MessageOverhead, 5000} {
		payload := make([]byte, n)
		fr, err := a.SealFrame([]byte("x"), FlagMore, payload)
		if err != nil {
			t.Fatal(err)
		}
		var w bytes.Buffer
		z := &zconn{w: bufio.NewWriter(&w)}
		a.sendNonce-- // the same nonce again, for comparison only
		body, _ := a.Seal(nil, FlagMore, payload)
		z.writeFrame(0, body)
		z.flush()
		if string(fr[:1]) != "x" || !bytes.Equal(fr[1:], w.Bytes()) {
			t.Fatalf("n=%d: SealFrame header %x, framer %x", n, fr[1:10], w.Bytes()[:9])
		}
	}
}
