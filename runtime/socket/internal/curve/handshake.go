package curve

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/nacl/box"
	"golang.org/x/crypto/nacl/secretbox"
)

// Sizes of the handshake command bodies (RFC 26, as libzmq sends them).
const (
	HelloLen       = 200
	WelcomeLen     = 168
	minInitiateLen = 257 // with no metadata
	minReadyLen    = 30  // with no metadata
)

// MaxHandshakeLen is the longest handshake command body a peer may send
// when metadata is bounded by maxMetadata (DefaultMaxMetadata when <= 0):
// an INITIATE with that much metadata.
func MaxHandshakeLen(maxMetadata int) int {
	if maxMetadata <= 0 {
		maxMetadata = DefaultMaxMetadata
	}
	return minInitiateLen + maxMetadata
}

// ErrRefused reports an ERROR command: on a Client, the server's ERROR
// (a *PeerError); on a Server, the Authorize hook's refusal (a *RefusedError).
var ErrRefused = errors.New("curve: handshake refused")

// ErrState reports a handshake call out of order, or after the handshake
// failed or finished (a replayed INITIATE, a second HELLO).
var ErrState = errors.New("curve: handshake command out of order")

// PeerError is the ERROR command a server sent instead of WELCOME or READY.
type PeerError struct {
	Reason string // up to 255 bytes, as the server sent it; libzmq sends a ZAP status code such as "400"
}

func (e *PeerError) Error() string { return "curve: server refused the handshake: " + e.Reason }

// Is makes errors.Is(err, ErrRefused) true.
func (e *PeerError) Is(target error) bool { return target == ErrRefused }

// RefusedError is what Server.OnInitiate returns when Authorize refuses a
// client; the reply it returns alongside is the ERROR command to send.
type RefusedError struct {
	Key [32]byte // the client's long-term public key
	Err error    // what Authorize returned
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("curve: client %s refused: %v", KeyString(e.Key), e.Err)
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Unwrap returns Authorize's error.
func (e *RefusedError) Unwrap() error { return e.Err }

// ErrorReason is the reason a Server puts in the ERROR command when Authorize
// refuses: the ZAP status code libzmq sends for a failed authentication, which
// libzmq clients report as ZMQ_EVENT_HANDSHAKE_FAILED_AUTH with status 400.
// The Authorize error itself is not sent.
const ErrorReason = "400"

// AppendError appends an ERROR command body with the given reason (at most
// 255 bytes; longer is cut).
func AppendError(dst []byte, reason string) []byte {
	if len(reason) > 255 {
		reason = reason[:255]
	}
	dst = append(dst, "\x05ERROR"...)
	dst = append(dst, byte(len(reason)))
	return append(dst, reason...)
}

// parseError decodes an ERROR command body.
func parseError(b []byte) error {
	if len(b) < 7 || int(b[6]) > len(b)-7 {
		return fmt.Errorf("%w: ERROR of %d bytes", ErrMalformed, len(b))
	}
	return &PeerError{Reason: string(b[7 : 7+int(b[6])])}
}

func isCommand(b []byte, name string) bool {
	return len(b) >= len(name) && string(b[:len(name)]) == name
}

type hsState uint8

const (
	stateStart hsState = iota
	stateWait          // client: WELCOME sent-for; server: HELLO received, WELCOME sent
	stateWait2         // client: INITIATE sent, waiting for READY
	stateDone
	stateFailed
)

func randomBytes(r io.Reader, b []byte) error {
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("curve: random bytes: %w", err)
	}
	return nil
}

func wipe(k *[32]byte) { *k = [32]byte{} }

// ClientConfig configures one client handshake.
type ClientConfig struct {
	Key         KeyPair   // the client's long-term key pair
	ServerKey   [32]byte  // the server's long-term public key
	Metadata    Metadata  // sent in INITIATE; ZMTP wants Socket-Type
	MaxMetadata int       // bound on the READY metadata and our own; DefaultMaxMetadata when 0
	Rand        io.Reader // crypto/rand when nil
}

// Client is the client side of one connection's CURVE handshake. A Client
// is used by one goroutine, once: Hello, then OnWelcome, then OnReady. Any
// error is final: the connection must be closed.
type Client struct {
	cfg         ClientConfig
	state       hsState
	meta        []byte // encoded cfg.Metadata
	shortPublic [32]byte
	shortSecret [32]byte
	serverShort [32]byte
	precomp     [32]byte
	helloKey    [32]byte // box.Precompute(server long-term, client short-term): HELLO and WELCOME
}

// NewClient makes a fresh short-term key pair for one connection.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	meta, err := AppendMetadata(nil, cfg.Metadata, cfg.MaxMetadata)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, meta: meta}
	pub, sec, err := box.GenerateKey(cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("curve: short-term key: %w", err)
	}
	c.shortPublic, c.shortSecret = *pub, *sec
	return c, nil
}

func (c *Client) fail(err error) error {
	c.state = stateFailed
	wipe(&c.shortSecret)
	wipe(&c.precomp)
	wipe(&c.helloKey)
	return err
}

// Hello returns the HELLO command body (200 bytes), with short nonce 1.
func (c *Client) Hello() ([]byte, error) {
	if c.state != stateStart {
		return nil, c.fail(fmt.Errorf("%w: HELLO", ErrState))
	}
	out := make([]byte, 120, HelloLen)
	copy(out, "\x05HELLO\x01\x00") // version 1.0, then 72 bytes of anti-amplification padding
	copy(out[80:], c.shortPublic[:])
	binary.BigEndian.PutUint64(out[112:], 1)
	var nonce [24]byte
	copy(nonce[:], "CurveZMQHELLO---")
	binary.BigEndian.PutUint64(nonce[16:], 1)
	var zeros [64]byte
	// One scalar multiplication for HELLO and WELCOME alike (box.Seal
	// and box.Open would each make it).
	box.Precompute(&c.helloKey, &c.cfg.ServerKey, &c.shortSecret)
	out = box.SealAfterPrecomputation(out, zeros[:], &nonce, &c.helloKey)
	c.state = stateWait
	return out, nil
}

// OnWelcome consumes the server's WELCOME and returns the INITIATE command
// body (short nonce 2) carrying the client's long-term key, the vouch and
// the metadata. An ERROR from the server gives a *PeerError.
func (c *Client) OnWelcome(welcome []byte) ([]byte, error) {
	if c.state != stateWait {
		return nil, c.fail(fmt.Errorf("%w: WELCOME", ErrState))
	}
	if isCommand(welcome, "\x05ERROR") {
		return nil, c.fail(parseError(welcome))
	}
	if len(welcome) != WelcomeLen || !isCommand(welcome, "\x07WELCOME") {
		return nil, c.fail(fmt.Errorf("%w: expected WELCOME (%d bytes), got %d bytes", ErrMalformed, WelcomeLen, len(welcome)))
	}
	var nonce [24]byte
	copy(nonce[:], "WELCOME-")
	copy(nonce[8:], welcome[8:24])
	var plain [128]byte
	_, ok := box.OpenAfterPrecomputation(plain[:0], welcome[24:], &nonce, &c.helloKey)
	wipe(&c.helloKey)
	if !ok {
		return nil, c.fail(fmt.Errorf("%w: WELCOME (wrong server key?)", ErrCrypto))
	}
	copy(c.serverShort[:], plain[:32])
	cookie := plain[32:128]
	box.Precompute(&c.precomp, &c.serverShort, &c.shortSecret)

	// vouch = Box [C',S](C->S')
	var vouchNonce [24]byte
	copy(vouchNonce[:], "VOUCH---")
	if err := randomBytes(c.cfg.Rand, vouchNonce[8:]); err != nil {
		return nil, c.fail(err)
	}
	var vouchPlain [64]byte
	copy(vouchPlain[:32], c.shortPublic[:])
	copy(vouchPlain[32:], c.cfg.ServerKey[:])
	secret := c.cfg.Key.Secret
	vouch := box.Seal(make([]byte, 0, 80), vouchPlain[:], &vouchNonce, &c.serverShort, &secret)
	wipe(&secret)

	plainInit := make([]byte, 0, 128+len(c.meta))
	plainInit = append(plainInit, c.cfg.Key.Public[:]...)
	plainInit = append(plainInit, vouchNonce[8:]...)
	plainInit = append(plainInit, vouch...)
	plainInit = append(plainInit, c.meta...)

	out := make([]byte, 113, minInitiateLen+len(c.meta))
	copy(out, "\x08INITIATE")
	copy(out[9:], cookie)
	binary.BigEndian.PutUint64(out[105:], 2)
	copy(nonce[:], "CurveZMQINITIATE")
	binary.BigEndian.PutUint64(nonce[16:], 2)
	out = box.SealAfterPrecomputation(out, plainInit, &nonce, &c.precomp)
	c.state = stateWait2
	return out, nil
}

// OnReady consumes the server's READY and returns the connection's Session:
// its first MESSAGE nonce is 3, and the server's must exceed READY's. An
// ERROR from the server gives a *PeerError.
func (c *Client) OnReady(ready []byte) (*Session, error) {
	if c.state != stateWait2 {
		return nil, c.fail(fmt.Errorf("%w: READY", ErrState))
	}
	if isCommand(ready, "\x05ERROR") {
		return nil, c.fail(parseError(ready))
	}
	if len(ready) < minReadyLen || !isCommand(ready, "\x05READY") {
		return nil, c.fail(fmt.Errorf("%w: expected READY, got %d bytes", ErrMalformed, len(ready)))
	}
	max := c.cfg.MaxMetadata
	if max <= 0 {
		max = DefaultMaxMetadata
	}
	if len(ready)-minReadyLen > max {
		return nil, c.fail(fmt.Errorf("%w: READY metadata of %d bytes, more than the limit of %d", ErrMetadata, len(ready)-minReadyLen, max))
	}
	n := binary.BigEndian.Uint64(ready[6:14])
	var nonce [24]byte
	copy(nonce[:], "CurveZMQREADY---")
	copy(nonce[16:], ready[6:14])
	plain, ok := box.OpenAfterPrecomputation(nil, ready[14:], &nonce, &c.precomp)
	if !ok {
		return nil, c.fail(fmt.Errorf("%w: READY", ErrCrypto))
	}
	meta, err := ParseMetadata(plain, max)
	if err != nil {
		return nil, c.fail(fmt.Errorf("READY: %w", err))
	}
	s := newSession(&c.precomp, true, 3, n, c.cfg.ServerKey, meta)
	c.state = stateDone
	wipe(&c.shortSecret)
	wipe(&c.precomp)
	return s, nil
}

// ServerConfig configures the server side of a connection's handshake.
type ServerConfig struct {
	Key      KeyPair  // the server's long-term key pair
	Metadata Metadata // sent in READY; ZMTP wants Socket-Type
	// Authorize, when not nil, is called with the client's long-term public
	// key once INITIATE has proved the client holds its secret. An error
	// refuses the client: OnInitiate returns an ERROR command to send and a
	// *RefusedError. Typically it checks the key against a set.
	Authorize   func(clientKey [32]byte) error
	MaxMetadata int       // bound on the INITIATE metadata and our own; DefaultMaxMetadata when 0
	Rand        io.Reader // crypto/rand when nil
}

// Server is the server side of one connection's CURVE handshake. A Server
// is used by one goroutine, once: OnHello, then OnInitiate. It holds the
// connection's cookie key, made in OnHello and wiped by OnInitiate, so a
// cookie from any other connection (or a replayed INITIATE) does not open.
// Any error is final: the connection must be closed.
type Server struct {
	cfg         ServerConfig
	state       hsState
	meta        []byte
	shortPublic [32]byte
	shortSecret [32]byte
	clientShort [32]byte
	cookieKey   [32]byte
	precomp     [32]byte
	helloNonce  uint64
}

// NewServer makes a fresh short-term key pair for one connection.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	meta, err := AppendMetadata(nil, cfg.Metadata, cfg.MaxMetadata)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, meta: meta}
	pub, sec, err := box.GenerateKey(cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("curve: short-term key: %w", err)
	}
	s.shortPublic, s.shortSecret = *pub, *sec
	return s, nil
}

func (s *Server) fail(err error) error {
	s.state = stateFailed
	wipe(&s.shortSecret)
	wipe(&s.cookieKey)
	wipe(&s.precomp)
	return err
}

// OnHello consumes the client's HELLO and returns the WELCOME command body.
// A HELLO that does not open (a client with the wrong server key) is an
// ErrCrypto; the server closes the connection without reply.
func (s *Server) OnHello(hello []byte) ([]byte, error) {
	if s.state != stateStart {
		return nil, s.fail(fmt.Errorf("%w: HELLO", ErrState))
	}
	if len(hello) != HelloLen || !isCommand(hello, "\x05HELLO") {
		return nil, s.fail(fmt.Errorf("%w: expected HELLO (%d bytes), got %d bytes", ErrMalformed, HelloLen, len(hello)))
	}
	if hello[6] != 1 || hello[7] != 0 {
		return nil, s.fail(fmt.Errorf("%w: HELLO version %d.%d, want 1.0", ErrMalformed, hello[6], hello[7]))
	}
	copy(s.clientShort[:], hello[80:112])
	s.helloNonce = binary.BigEndian.Uint64(hello[112:120])
	var nonce [24]byte
	copy(nonce[:], "CurveZMQHELLO---")
	copy(nonce[16:], hello[112:120])
	var plain [64]byte
	// One scalar multiplication for HELLO and WELCOME alike (box.Open and
	// box.Seal would each make it).
	var helloKey [32]byte
	secret := s.cfg.Key.Secret
	box.Precompute(&helloKey, &s.clientShort, &secret)
	wipe(&secret)
	defer wipe(&helloKey)
	_, ok := box.OpenAfterPrecomputation(plain[:0], hello[120:200], &nonce, &helloKey)
	if !ok {
		return nil, s.fail(fmt.Errorf("%w: HELLO (client has the wrong server key?)", ErrCrypto))
	}
	if plain != [64]byte{} {
		return nil, s.fail(fmt.Errorf("%w: HELLO signature is not zeros", ErrMalformed))
	}

	// cookie = Box [C' + s'](t), with a cookie key t for this connection only
	if err := randomBytes(s.cfg.Rand, s.cookieKey[:]); err != nil {
		return nil, s.fail(err)
	}
	var cookieNonce [24]byte
	copy(cookieNonce[:], "COOKIE--")
	if err := randomBytes(s.cfg.Rand, cookieNonce[8:]); err != nil {
		return nil, s.fail(err)
	}
	var cookiePlain [64]byte
	copy(cookiePlain[:32], s.clientShort[:])
	copy(cookiePlain[32:], s.shortSecret[:])
	welcomePlain := make([]byte, 48, 128)
	copy(welcomePlain, s.shortPublic[:])
	copy(welcomePlain[32:], cookieNonce[8:])
	welcomePlain = secretbox.Seal(welcomePlain, cookiePlain[:], &cookieNonce, &s.cookieKey)
	cookiePlain = [64]byte{}

	out := make([]byte, 24, WelcomeLen)
	copy(out, "\x07WELCOME")
	copy(nonce[:], "WELCOME-")
	if err := randomBytes(s.cfg.Rand, nonce[8:]); err != nil {
		return nil, s.fail(err)
	}
	copy(out[8:], nonce[8:])
	out = box.SealAfterPrecomputation(out, welcomePlain, &nonce, &helloKey)
	s.state = stateWait
	return out, nil
}

// OnInitiate consumes the client's INITIATE. On success it returns the READY
// command body (short nonce 1) and the connection's Session (first MESSAGE
// nonce 2; the client's must exceed INITIATE's). When Authorize refuses, it
// returns the ERROR command body to send before closing and a *RefusedError.
// Any other failure returns no reply: the connection is closed silently, as
// RFC 26 allows and libzmq does.
func (s *Server) OnInitiate(initiate []byte) (reply []byte, sess *Session, err error) {
	if s.state != stateWait {
		return nil, nil, s.fail(fmt.Errorf("%w: INITIATE", ErrState))
	}
	if len(initiate) < minInitiateLen || !isCommand(initiate, "\x08INITIATE") {
		return nil, nil, s.fail(fmt.Errorf("%w: expected INITIATE (at least %d bytes), got %d bytes", ErrMalformed, minInitiateLen, len(initiate)))
	}
	max := s.cfg.MaxMetadata
	if max <= 0 {
		max = DefaultMaxMetadata
	}
	if len(initiate)-minInitiateLen > max {
		return nil, nil, s.fail(fmt.Errorf("%w: INITIATE metadata of %d bytes, more than the limit of %d", ErrMetadata, len(initiate)-minInitiateLen, max))
	}

	var nonce [24]byte
	copy(nonce[:], "COOKIE--")
	copy(nonce[8:], initiate[9:25])
	var cookie [64]byte
	_, ok := secretbox.Open(cookie[:0], initiate[25:105], &nonce, &s.cookieKey)
	wipe(&s.cookieKey) // one INITIATE per cookie key: a replay cannot open it again
	if !ok {
		return nil, nil, s.fail(fmt.Errorf("%w: INITIATE cookie (not this connection's)", ErrCrypto))
	}
	okCookie := subtle.ConstantTimeCompare(cookie[:32], s.clientShort[:]) & subtle.ConstantTimeCompare(cookie[32:], s.shortSecret[:])
	cookie = [64]byte{}
	if okCookie != 1 {
		return nil, nil, s.fail(fmt.Errorf("%w: INITIATE cookie does not match", ErrCrypto))
	}

	n := binary.BigEndian.Uint64(initiate[105:113])
	if n <= s.helloNonce {
		return nil, nil, s.fail(fmt.Errorf("%w: INITIATE nonce %d after HELLO's %d", ErrNonce, n, s.helloNonce))
	}
	copy(nonce[:], "CurveZMQINITIATE")
	copy(nonce[16:], initiate[105:113])
	box.Precompute(&s.precomp, &s.clientShort, &s.shortSecret)
	plain, ok := box.OpenAfterPrecomputation(nil, initiate[113:], &nonce, &s.precomp)
	if !ok {
		return nil, nil, s.fail(fmt.Errorf("%w: INITIATE", ErrCrypto))
	}
	var clientKey [32]byte
	copy(clientKey[:], plain[:32])
	copy(nonce[:], "VOUCH---")
	copy(nonce[8:], plain[32:48])
	var vouch [64]byte
	if _, ok := box.Open(vouch[:0], plain[48:128], &nonce, &clientKey, &s.shortSecret); !ok {
		return nil, nil, s.fail(fmt.Errorf("%w: INITIATE vouch", ErrCrypto))
	}
	if subtle.ConstantTimeCompare(vouch[:32], s.clientShort[:])&subtle.ConstantTimeCompare(vouch[32:], s.cfg.Key.Public[:]) != 1 {
		return nil, nil, s.fail(fmt.Errorf("%w: INITIATE vouch names other keys", ErrCrypto))
	}
	meta, err := ParseMetadata(plain[128:], max)
	if err != nil {
		return nil, nil, s.fail(fmt.Errorf("INITIATE: %w", err))
	}
	if s.cfg.Authorize != nil {
		if aerr := s.cfg.Authorize(clientKey); aerr != nil {
			return AppendError(nil, ErrorReason), nil, s.fail(&RefusedError{Key: clientKey, Err: aerr})
		}
	}

	out := make([]byte, 14, minReadyLen+len(s.meta))
	copy(out, "\x05READY")
	binary.BigEndian.PutUint64(out[6:], 1)
	copy(nonce[:], "CurveZMQREADY---")
	binary.BigEndian.PutUint64(nonce[16:], 1)
	out = box.SealAfterPrecomputation(out, s.meta, &nonce, &s.precomp)
	sess = newSession(&s.precomp, false, 2, n, clientKey, meta)
	s.state = stateDone
	wipe(&s.shortSecret)
	wipe(&s.precomp)
	return out, sess, nil
}
