package curve

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/poly1305" //nolint:staticcheck // the MAC of NaCl's secretbox, which CurveZMQ fixes
	"golang.org/x/crypto/salsa20/salsa"
)

// Flags carried inside a MESSAGE box, in its first plaintext byte, with the
// values libzmq gives them (msg_t::more and msg_t::command).
const (
	FlagMore    byte = 0x01 // more frames of this message follow
	FlagCommand byte = 0x02 // the payload is a ZMTP command (PING, PONG, SUBSCRIBE, CANCEL, ...)

	flagMask = FlagMore | FlagCommand
)

const (
	messageName   = "\x07MESSAGE"
	messageHeader = len(messageName) + 8 // name and short nonce
	tagSize       = poly1305.TagSize

	// MessageOverhead is how many bytes a MESSAGE body adds to its payload:
	// the command name, the short nonce, the MAC and the flags byte.
	MessageOverhead = messageHeader + tagSize + 1
)

// Errors a Session returns. Each means the connection is broken and must be
// closed: CurveZMQ has no way to resynchronise.
var (
	// ErrNonce reports a MESSAGE whose short nonce is not greater than the
	// last one accepted (a replayed or reordered box).
	ErrNonce = errors.New("curve: MESSAGE nonce not increasing")
	// ErrMalformed reports a command body too short or of the wrong name.
	ErrMalformed = errors.New("curve: malformed command")
	// ErrCrypto reports a box that does not open: wrong key, or altered bytes.
	ErrCrypto = errors.New("curve: box does not open")
	// ErrNonceExhausted reports that 2^64-1 nonces have been used.
	ErrNonceExhausted = errors.New("curve: nonces exhausted")
)

// Session is the data path of one connection after the handshake: it seals
// outgoing frames into MESSAGE command bodies and opens incoming ones.
//
// Seal and Open touch separate state, so one goroutine may Seal while another
// Opens. Seal takes the connection's next nonce, so every path that writes to
// the connection (data frames and commands such as PING alike) must go through
// the same Session and must write the bodies to the connection in the order
// Seal returned them; the caller serializes Seal together with the write (one
// lock around both, or one writer goroutine). Open is likewise called by one
// reader at a time, in the order the bodies arrived.
type Session struct {
	key        [32]byte // box.Precompute(peer short-term public, own short-term secret)
	sendPrefix [16]byte
	recvPrefix [16]byte
	sendNonce  uint64 // the nonce the next Seal uses
	recvNonce  uint64 // the greatest nonce accepted so far

	peerKey  [32]byte
	peerMeta Metadata
}

// newSession takes the shared key box.Precompute made from the peer's
// short-term public key and our short-term secret.
func newSession(precomp *[32]byte, client bool, sendNonce, recvNonce uint64, peerKey [32]byte, meta Metadata) *Session {
	s := &Session{key: *precomp, sendNonce: sendNonce, recvNonce: recvNonce, peerKey: peerKey, peerMeta: meta}
	if client {
		copy(s.sendPrefix[:], "CurveZMQMESSAGEC")
		copy(s.recvPrefix[:], "CurveZMQMESSAGES")
	} else {
		copy(s.sendPrefix[:], "CurveZMQMESSAGES")
		copy(s.recvPrefix[:], "CurveZMQMESSAGEC")
	}
	return s
}

// PeerKey is the peer's long-term public key: the client's key on a server
// session (the one Authorize saw), the configured server key on a client.
func (s *Session) PeerKey() [32]byte { return s.peerKey }

// PeerMetadata is the metadata the peer sent in INITIATE (client) or READY
// (server). The caller must not modify it.
func (s *Session) PeerMetadata() Metadata { return s.peerMeta }

// SealedLen is the length of the MESSAGE body Seal produces for a payload of n bytes.
func SealedLen(n int) int { return MessageOverhead + n }

// Seal appends to dst the body of a MESSAGE command carrying one ZMTP frame:
// "\x07MESSAGE", the 8-byte short nonce, and the box of flags (FlagMore,
// FlagCommand) followed by payload. For a command frame (PING, SUBSCRIBE...)
// payload is the whole command body, name included, and flags has
// FlagCommand, as libzmq does.
//
// The caller writes the body as a ZMTP frame of its own with neither MORE nor
// COMMAND set on the frame, exactly as libzmq 4.3 does: the frame's flags
// travel inside the box. Seal does not allocate when cap(dst)-len(dst) is at
// least SealedLen(len(payload)); payload must not overlap dst's spare capacity.
func (s *Session) Seal(dst []byte, flags byte, payload []byte) ([]byte, error) {
	if s.sendNonce == 0 { // wrapped past 2^64-1
		return dst, ErrNonceExhausted
	}
	n := s.sendNonce
	s.sendNonce++

	ret, out := grow(dst, SealedLen(len(payload)))
	copy(out, messageName)
	binary.BigEndian.PutUint64(out[len(messageName):], n)

	var nonce [24]byte
	copy(nonce[:16], s.sendPrefix[:])
	binary.BigEndian.PutUint64(nonce[16:], n)
	sealInto(out[messageHeader:], flags&flagMask, payload, &nonce, &s.key)
	return ret, nil
}

// SealFrame is Seal with the ZMTP frame around the body: it appends the
// frame header libzmq writes for a MESSAGE (flags 0, or 0x02 with an 8-byte
// size when the body exceeds 255 bytes) and then the body, so a writer can
// put the whole frame on the wire in one write. It has Seal's contract.
func (s *Session) SealFrame(dst []byte, flags byte, payload []byte) ([]byte, error) {
	n := SealedLen(len(payload))
	l := len(dst)
	if n > 255 {
		dst = append(dst, 0x02)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	} else {
		dst = append(dst, 0x00, byte(n))
	}
	out, err := s.Seal(dst, flags, payload)
	if err != nil {
		return dst[:l], err
	}
	return out, nil
}

// Open checks and opens the body of a MESSAGE command (as Seal produced it,
// on the peer) and appends the frame's payload to dst. It returns the flags
// from inside the box (FlagMore, FlagCommand; other bits are dropped, as
// libzmq does) and dst extended by the payload. The short nonce must be
// greater than every nonce accepted before, else ErrNonce; a body too short
// or not named MESSAGE gives ErrMalformed; a box that does not open gives
// ErrCrypto. After any error the connection must be closed. Open does not
// allocate when dst has room for len(body)-MessageOverhead more bytes; dst's
// spare capacity must not overlap body.
func (s *Session) Open(dst, body []byte) (flags byte, payload []byte, err error) {
	n, err := s.check(body)
	if err != nil {
		return 0, dst, err
	}
	ret, out := grow(dst, len(body)-MessageOverhead)
	f, ok := openInto(out, body[messageHeader:], s.nonce(n), &s.key)
	if !ok {
		return 0, dst, ErrCrypto
	}
	s.recvNonce = n
	return f & flagMask, ret, nil
}

// OpenInPlace is Open decrypting within body: payload is
// body[MessageOverhead:], and body's other bytes are left undefined. It
// never allocates. On error body is unchanged.
func (s *Session) OpenInPlace(body []byte) (flags byte, payload []byte, err error) {
	n, err := s.check(body)
	if err != nil {
		return 0, nil, err
	}
	f, ok := openInto(nil, body[messageHeader:], s.nonce(n), &s.key)
	if !ok {
		return 0, nil, ErrCrypto
	}
	s.recvNonce = n
	return f & flagMask, body[MessageOverhead:], nil
}

// check validates a MESSAGE body's name, length and nonce and returns the nonce.
func (s *Session) check(body []byte) (uint64, error) {
	if len(body) < MessageOverhead || string(body[:len(messageName)]) != messageName {
		return 0, ErrMalformed
	}
	n := binary.BigEndian.Uint64(body[len(messageName):])
	if n <= s.recvNonce {
		return 0, fmt.Errorf("%w: got %d after %d", ErrNonce, n, s.recvNonce)
	}
	return n, nil
}

func (s *Session) nonce(n uint64) *[24]byte {
	var nonce [24]byte
	copy(nonce[:16], s.recvPrefix[:])
	binary.BigEndian.PutUint64(nonce[16:], n)
	return &nonce
}

// grow extends b by n bytes and returns the whole slice and the new part.
func grow(b []byte, n int) (whole, tail []byte) {
	l := len(b)
	if cap(b)-l < n {
		nb := make([]byte, l, l+n)
		copy(nb, b)
		b = nb
	}
	b = b[:l+n]
	return b, b[l:]
}

// xsalsaSetup derives the XSalsa20 subkey and counter for a 24-byte nonce
// and returns the first keystream block (the Poly1305 key in its first 32
// bytes, keystream for plaintext bytes 0..31 in the rest).
func xsalsaSetup(subKey *[32]byte, counter *[16]byte, first *[64]byte, nonce *[24]byte, key *[32]byte) {
	var hNonce [16]byte
	copy(hNonce[:], nonce[:16])
	salsa.HSalsa20(subKey, &hNonce, key, &salsa.Sigma)
	copy(counter[:8], nonce[16:])
	*first = [64]byte{}
	salsa.XORKeyStream(first[:], first[:], counter, subKey)
}

// sealInto writes secretbox.Seal(flags || payload) into out (len
// tagSize+1+len(payload)) without building the concatenation: byte for byte
// what nacl/secretbox produces (TestSealMatchesSecretbox checks).
func sealInto(out []byte, flags byte, payload []byte, nonce *[24]byte, key *[32]byte) {
	var subKey [32]byte
	var counter [16]byte
	var first [64]byte
	xsalsaSetup(&subKey, &counter, &first, nonce, key)

	ct := out[tagSize:]
	ct[0] = flags ^ first[32]
	head := payload
	if len(head) > 31 {
		head = head[:31]
	}
	for i, x := range head {
		ct[1+i] = x ^ first[33+i]
	}
	if rest := payload[len(head):]; len(rest) > 0 {
		counter[8] = 1
		salsa.XORKeyStream(ct[32:], rest, &counter, &subKey)
	}
	var polyKey [32]byte
	copy(polyKey[:], first[:32])
	var tag [tagSize]byte
	poly1305.Sum(&tag, ct, &polyKey)
	copy(out, tag[:])
}

// openInto verifies and opens a secretbox box (tag || ciphertext of flags ||
// payload) into out (len len(bx)-tagSize-1) and returns the flags byte. When
// out is nil it decrypts in place: the payload is then bx[tagSize+1:].
func openInto(out, bx []byte, nonce *[24]byte, key *[32]byte) (byte, bool) {
	var subKey [32]byte
	var counter [16]byte
	var first [64]byte
	xsalsaSetup(&subKey, &counter, &first, nonce, key)

	var polyKey [32]byte
	copy(polyKey[:], first[:32])
	var tag [tagSize]byte
	copy(tag[:], bx)
	ct := bx[tagSize:]
	if !poly1305.Verify(&tag, ct, &polyKey) {
		return 0, false
	}
	flags := ct[0] ^ first[32]
	if out == nil {
		// exact overlap only, which XORKeyStream allows
		for i := 1; i < len(ct) && i < 32; i++ {
			ct[i] ^= first[32+i]
		}
		if len(ct) > 32 {
			counter[8] = 1
			salsa.XORKeyStream(ct[32:], ct[32:], &counter, &subKey)
		}
		return flags, true
	}
	head := ct[1:]
	if len(head) > 31 {
		head = head[:31]
	}
	for i, x := range head {
		out[i] = x ^ first[33+i]
	}
	if len(ct) > 32 {
		counter[8] = 1
		salsa.XORKeyStream(out[31:], ct[32:], &counter, &subKey)
	}
	return flags, true
}
