package curve

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Property is one ZMTP metadata property (RFC 37): a name of 1 to 255
// characters from [A-Za-z0-9.+_-] and a value of any bytes.
type Property struct {
	Name  string
	Value []byte
}

// Metadata is the list of properties a peer sends in INITIATE or READY,
// in order: "Socket-Type" (required by ZMTP), "Identity" (REQ, DEALER,
// ROUTER), and any application ones.
type Metadata []Property

// Get returns the value of the first property named name; ZMTP names
// compare without regard to case.
func (m Metadata) Get(name string) ([]byte, bool) {
	for _, p := range m {
		if equalFold(p.Name, name) {
			return p.Value, true
		}
	}
	return nil, false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// DefaultMaxMetadata is the default bound on the encoded size of the
// metadata a peer may send (and of what we send): 16 KiB.
const DefaultMaxMetadata = 16 << 10

// ErrMetadata reports metadata that is malformed or over its size bound.
var ErrMetadata = errors.New("curve: bad metadata")

func validName(name string) error {
	if len(name) == 0 || len(name) > 255 {
		return fmt.Errorf("%w: property name of %d bytes", ErrMetadata, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '+') {
			return fmt.Errorf("%w: property name %q: character %q", ErrMetadata, name, c)
		}
	}
	return nil
}

// EncodedLen is the size of m on the wire.
func (m Metadata) EncodedLen() int {
	n := 0
	for _, p := range m {
		n += 1 + len(p.Name) + 4 + len(p.Value)
	}
	return n
}

// AppendMetadata appends m in ZMTP property encoding (name length octet,
// name, 4-octet big-endian value length, value) and checks the names and
// that the result stays within max bytes (DefaultMaxMetadata when max <= 0).
func AppendMetadata(dst []byte, m Metadata, max int) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxMetadata
	}
	if n := m.EncodedLen(); n > max {
		return dst, fmt.Errorf("%w: %d bytes, more than the limit of %d", ErrMetadata, n, max)
	}
	for _, p := range m {
		if err := validName(p.Name); err != nil {
			return dst, err
		}
		dst = append(dst, byte(len(p.Name)))
		dst = append(dst, p.Name...)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.Value)))
		dst = append(dst, p.Value...)
	}
	return dst, nil
}

// ParseMetadata decodes ZMTP properties. Every byte must belong to a
// property, names must be valid, and b must not exceed max bytes
// (DefaultMaxMetadata when max <= 0). Values are copied out of b.
func ParseMetadata(b []byte, max int) (Metadata, error) {
	if max <= 0 {
		max = DefaultMaxMetadata
	}
	if len(b) > max {
		return nil, fmt.Errorf("%w: %d bytes, more than the limit of %d", ErrMetadata, len(b), max)
	}
	var m Metadata
	for len(b) > 0 {
		nl := int(b[0])
		b = b[1:]
		if nl == 0 || len(b) < nl+4 {
			return nil, fmt.Errorf("%w: truncated property", ErrMetadata)
		}
		name := string(b[:nl])
		if err := validName(name); err != nil {
			return nil, err
		}
		vl := binary.BigEndian.Uint32(b[nl:])
		b = b[nl+4:]
		if uint64(vl) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: property %q claims %d bytes, %d left", ErrMetadata, name, vl, len(b))
		}
		m = append(m, Property{Name: name, Value: append([]byte(nil), b[:vl]...)})
		b = b[vl:]
	}
	return m, nil
}
