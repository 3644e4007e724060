// Package curvekey is the one place topo encodes, decodes and derives CURVE
// keys: Z85 (ZeroMQ RFC 32), the 40-character key form, Curve25519 key
// pairs (GenerateKey, PublicFromSecret) and the seed derivation
// (DeriveKeyPair). The socket layer (runtime/socket/internal/curve,
// socket.ParseCurveKey) and the language (topology's key checks) both use
// it, so there is one decoder.
package curvekey
