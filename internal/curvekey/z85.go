package curvekey

import (
	"errors"
	"fmt"
	"strings"
)

// z85Alphabet is the 85 printable characters of ZeroMQ RFC 32, in value order.
const z85Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

// ErrZ85 reports input EncodeZ85 or DecodeZ85 refuses.
var ErrZ85 = errors.New("bad Z85")

// EncodeZ85 encodes src as Z85 (ZeroMQ RFC 32): every 4 bytes, read as a
// big-endian number, become 5 characters. len(src) must be a multiple of 4.
func EncodeZ85(src []byte) (string, error) {
	if len(src)%4 != 0 {
		return "", fmt.Errorf("%w: %d bytes is not a multiple of 4", ErrZ85, len(src))
	}
	out := make([]byte, len(src)/4*5)
	for i, o := 0, 0; i < len(src); i, o = i+4, o+5 {
		v := uint32(src[i])<<24 | uint32(src[i+1])<<16 | uint32(src[i+2])<<8 | uint32(src[i+3])
		for j := 4; j >= 0; j-- {
			out[o+j] = z85Alphabet[v%85]
			v /= 85
		}
	}
	return string(out), nil
}

// DecodeZ85 decodes Z85 text (ZeroMQ RFC 32). len(s) must be a multiple of
// 5, every character in the alphabet, and no group may exceed 2^32-1.
func DecodeZ85(s string) ([]byte, error) {
	if len(s)%5 != 0 {
		return nil, fmt.Errorf("%w: %d characters is not a multiple of 5", ErrZ85, len(s))
	}
	out := make([]byte, len(s)/5*4)
	for i, o := 0, 0; i < len(s); i, o = i+5, o+4 {
		var v uint64
		for j := 0; j < 5; j++ {
			d := strings.IndexByte(z85Alphabet, s[i+j])
			if d < 0 {
				return nil, fmt.Errorf("%w: character %q at offset %d", ErrZ85, s[i+j], i+j)
			}
			v = v*85 + uint64(d)
		}
		if v > 0xFFFFFFFF {
			return nil, fmt.Errorf("%w: group at offset %d exceeds 32 bits", ErrZ85, i)
		}
		out[o], out[o+1], out[o+2], out[o+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	return out, nil
}
