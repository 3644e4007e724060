package socket

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-zeromq/zmq4"

	"github.com/topo-zmq/topo/runtime/socket/internal/curve"
)

// CurveKey is a CURVE (Curve25519) key, public or secret: 32 bytes, written
// as 40 characters of Z85 (RFC 32), the form libzmq's zmq_curve_keypair and
// topo keygen print. It has no String method, so a secret key formatted by
// mistake prints as bytes, not as something to paste; Z85 encodes on purpose.
type CurveKey [32]byte

// ParseCurveKey decodes a 40-character Z85 key. Whitespace around it (the
// newline at the end of a key file) is ignored. The error never contains s.
func ParseCurveKey(s string) (CurveKey, error) {
	k, err := curve.ParseKey(strings.TrimSpace(s))
	if err != nil {
		return CurveKey{}, errors.New("not a CURVE key: a key is 40 characters of Z85")
	}
	return CurveKey(k), nil
}

// Z85 encodes the key as 40 characters.
func (k CurveKey) Z85() string { return curve.KeyString(k) }

// IsZero reports whether the key is all zeros (not set).
func (k CurveKey) IsZero() bool { return k == CurveKey{} }

// CurveKeyPair is a long-term CURVE identity.
type CurveKeyPair struct {
	Public, Secret CurveKey
}

// NewCurveKeyPair makes a key pair from r (crypto/rand when r is nil).
func NewCurveKeyPair(r io.Reader) (CurveKeyPair, error) {
	kp, err := curve.GenerateKey(r)
	if err != nil {
		return CurveKeyPair{}, err
	}
	return CurveKeyPair{Public: kp.Public, Secret: kp.Secret}, nil
}

// CurveKeyPairFromSecret completes a key pair from its secret key, as
// libzmq's zmq_curve_public does.
func CurveKeyPairFromSecret(secret CurveKey) CurveKeyPair {
	return CurveKeyPair{Public: curve.PublicFromSecret(secret), Secret: secret}
}

// DeriveCurveKeyPair derives the key pair of name from a shared seed
// (HKDF-SHA256, documented in internal/curve.DeriveKeyPair), so every holder
// of the seed computes the same keys for the same name.
func DeriveCurveKeyPair(seed []byte, name string) (CurveKeyPair, error) {
	kp, err := curve.DeriveKeyPair(seed, name)
	if err != nil {
		return CurveKeyPair{}, err
	}
	return CurveKeyPair{Public: kp.Public, Secret: kp.Secret}, nil
}

// Curve is the CurveZMQ security mechanism (RFC 26, as libzmq 4.3 speaks
// it) for Options.Security: every connection is authenticated and every
// frame after the handshake, commands included, is encrypted.
//
// As in libzmq (ZMQ_CURVE_SERVER), the role follows the keys, not the
// direction of the connection: a Curve with a server key (ServerKey or
// ServerKeys) is a client on every connection of its socket, bound or
// connected; one without is a server. So a server may connect and a client
// may bind.
//
// A Curve value is never modified by the socket, so one value may serve
// any number of sockets.
//
// CURVE applies to tcp and ipc connections. inproc connections have no
// wire and are not encrypted or authenticated: sockets of one Context talk
// over inproc in memory whatever their keys (topo's language refuses curve
// on inproc endpoints).
type Curve struct {
	// Key is the socket's long-term key pair. A zero Secret means a fresh
	// pair made by NewSocket (a client that need not be recognised).
	Key CurveKeyPair
	// ServerKey is the public key of the server a client talks to, on every
	// connection ServerKeys does not name.
	ServerKey CurveKey
	// ServerKeys gives a client the server key per connected endpoint, as
	// passed to Connect, for a socket connecting to several servers (a SUB
	// on three publishers).
	ServerKeys map[string]CurveKey
	// Allow, for a server, lists the client public keys it accepts; nil
	// accepts any client that knows the server's public key. A refused
	// client gets an ERROR, is counted in Stats.HandshakeFailures and is
	// logged with its address and key; none of its messages is delivered.
	Allow []CurveKey
}

var _ zmq4.Security = Curve{}

// Client reports whether c takes the client role.
func (c Curve) Client() bool { return !c.ServerKey.IsZero() || len(c.ServerKeys) > 0 }

// Type returns zmq4.CurveSecurity.
func (Curve) Type() zmq4.SecurityType { return zmq4.CurveSecurity }

// errCurveSeam: the socket layer runs CURVE's handshake and data phase
// itself; zmq4's Security methods are never called for it.
var errCurveSeam = fmt.Errorf("socket: CURVE runs in the socket's frame layer, not through zmq4.Security: %w", ErrNotSupported)

// Handshake is not used: the socket runs CURVE itself.
func (Curve) Handshake(*zmq4.Conn, bool) error { return errCurveSeam }

// Encrypt is not used: the socket runs CURVE itself.
func (Curve) Encrypt(io.Writer, []byte) (int, error) { return 0, errCurveSeam }

// Decrypt is not used: the socket runs CURVE itself.
func (Curve) Decrypt(io.Writer, []byte) (int, error) { return 0, errCurveSeam }
