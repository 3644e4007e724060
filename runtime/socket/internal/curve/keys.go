package curve

import (
	"io"

	"github.com/topo-zmq/topo/internal/curvekey"
)

// KeyPair is a Curve25519 key pair: a long-term identity of a client or a
// server, as libzmq's zmq_curve_keypair makes them (curvekey.KeyPair).
type KeyPair = curvekey.KeyPair

// ErrZ85 reports input EncodeZ85 or DecodeZ85 refuses (curvekey.ErrZ85).
var ErrZ85 = curvekey.ErrZ85

// GenerateKey makes a key pair from 32 bytes of r (crypto/rand when r is nil).
func GenerateKey(r io.Reader) (KeyPair, error) { return curvekey.GenerateKey(r) }

// PublicFromSecret computes the public key of a secret key, as libzmq's
// zmq_curve_public does.
func PublicFromSecret(secret [32]byte) [32]byte { return curvekey.PublicFromSecret(secret) }

// ParseKey decodes a 40-character Z85 key.
func ParseKey(z85 string) ([32]byte, error) { return curvekey.ParseKey(z85) }

// KeyString encodes a key as 40 characters of Z85.
func KeyString(k [32]byte) string { return curvekey.KeyString(k) }

// DeriveKeyPair derives a key pair from a shared seed and a name
// (curvekey.DeriveKeyPair documents the KDF).
func DeriveKeyPair(seed []byte, name string) (KeyPair, error) {
	return curvekey.DeriveKeyPair(seed, name)
}

// EncodeZ85 encodes src as Z85 (curvekey.EncodeZ85).
func EncodeZ85(src []byte) (string, error) { return curvekey.EncodeZ85(src) }

// DecodeZ85 decodes Z85 text (curvekey.DecodeZ85).
func DecodeZ85(s string) ([]byte, error) { return curvekey.DecodeZ85(s) }
