package curvekey

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"
)

// KeyPair is a Curve25519 key pair: a long-term identity of a client or a
// server, as libzmq's zmq_curve_keypair makes them.
type KeyPair struct {
	Public [32]byte
	Secret [32]byte
}

// GenerateKey makes a key pair from 32 bytes of r (crypto/rand when r is nil).
func GenerateKey(r io.Reader) (KeyPair, error) {
	if r == nil {
		r = rand.Reader
	}
	var kp KeyPair
	if _, err := io.ReadFull(r, kp.Secret[:]); err != nil {
		return KeyPair{}, fmt.Errorf("generate key: %w", err)
	}
	kp.Public = PublicFromSecret(kp.Secret)
	return kp, nil
}

// PublicFromSecret computes the public key of a secret key, as libzmq's
// zmq_curve_public does (X25519 with the base point).
func PublicFromSecret(secret [32]byte) [32]byte {
	var pub [32]byte
	curve25519.ScalarBaseMult(&pub, &secret) //nolint:staticcheck // X25519(secret, Basepoint), never fails
	return pub
}

// ParseKey decodes a 40-character Z85 key, the form libzmq's tools print.
func ParseKey(z85 string) ([32]byte, error) {
	var k [32]byte
	if len(z85) != 40 {
		return k, fmt.Errorf("%w: a key is 40 characters, got %d", ErrZ85, len(z85))
	}
	b, err := DecodeZ85(z85)
	if err != nil {
		return k, err
	}
	copy(k[:], b)
	return k, nil
}

// KeyString encodes a key as 40 characters of Z85.
func KeyString(k [32]byte) string {
	s, _ := EncodeZ85(k[:]) // 32 is a multiple of 4
	return s
}

// DeriveKeyPair derives a key pair from a shared seed and a name, so that
// every host holding the seed computes the same keys for the same name
// without exchanging them. The secret key is HKDF-SHA256 (RFC 5869) with the
// seed as input keying material, no salt, and info "topo curve v1\x00" followed
// by name; the first 32 bytes of output are the secret. The seed should hold
// at least 32 bytes of entropy.
func DeriveKeyPair(seed []byte, name string) (KeyPair, error) {
	if len(seed) == 0 {
		return KeyPair{}, fmt.Errorf("derive key %q: empty seed", name)
	}
	info := append([]byte("topo curve v1\x00"), name...)
	return GenerateKey(hkdf.New(sha256.New, seed, nil, info))
}
