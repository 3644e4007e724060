package topology

import "github.com/hashicorp/hcl/v2"

// Curve is the top-level curve block: a seed shared by every host of the
// topology. With it, each socket's CURVE key pair is derived from the seed
// and the socket's name, "INSTANCE.SOCKET" ("worker[2].out"), with
// HKDF-SHA256 (internal/curvekey.DeriveKeyPair: the seed as input keying
// material, no salt, info "topo curve v1\x00" followed by the name; the
// first 32 bytes out are the secret key), so separate processes holding
// the same seed compute the same keys.
type Curve struct {
	// Seed is the decoded seed: the 40 Z85 characters of a seed file
	// (topo keygen -seed) are 32 bytes. Secret: never print it.
	Seed      []byte
	DeclRange hcl.Range
}

// CurveKey is a CURVE (Curve25519) key, public or secret: 32 bytes,
// written in a file as 40 characters of Z85. It has no String method, so
// a secret key formatted by mistake does not print as something to paste.
type CurveKey [32]byte

// IsZero reports whether the key is unset.
func (k CurveKey) IsZero() bool { return k == CurveKey{} }

// SocketCurve is a socket's curve block. As in libzmq, the role follows
// the keys: a block with a server key (ServerKey or ServerKeys) makes the
// socket a CURVE client on every connection; one without is a CURVE
// server, except that a connecting socket whose connects reach in-file
// CURVE servers is their client (the runtime hands it their keys). Every
// field is secret or close to it: diagnostics about them show no source
// and no value, and plan and -json show only public keys.
type SocketCurve struct {
	// SecretKey is the socket's long-term secret key; zero means derived
	// from the top-level seed or, without one, generated at apply time.
	SecretKey CurveKey
	// ServerKey is the public key of the server a client talks to on every
	// connection ServerKeys does not name.
	ServerKey CurveKey
	// ServerKeys gives a client the server key per connect endpoint, as
	// written in connect.
	ServerKeys map[string]CurveKey
	// Allow, for a server, lists the client public keys it accepts; nil
	// accepts any client that knows the server's public key.
	Allow []CurveKey
	// The ranges of the block and of its attributes (zero when absent).
	DeclRange, SecretKeyRange, ServerKeyRange, AllowRange hcl.Range
}

// HasServerKey reports whether the block names a server key, which makes
// the socket a CURVE client.
func (c *SocketCurve) HasServerKey() bool {
	return c != nil && (!c.ServerKey.IsZero() || len(c.ServerKeys) > 0)
}
