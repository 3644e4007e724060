package socket

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/topo-zmq/topo/runtime/socket/internal/curve"
)

// ZMTP frame flags.
const (
	flagMore    = 0x01
	flagLong    = 0x02
	flagCommand = 0x04
	longHeader  = 9 // flags and an 8-byte size
)

// maxFrames bounds the frames of one message, so a peer sending endless empty
// frames with the MORE flag cannot grow a message without bound.
const maxFrames = 1 << 16

var errProtocol = errors.New("socket: ZMTP protocol error")

const (
	slabSize    = 8 << 10  // small frame bodies are carved from slabs of this size
	smallFrame  = 256      // frames up to this size come from a slab
	chunkedRead = 1 << 20  // frames above this size grow while they are read
	directBody  = 16 << 10 // bodies at least this large bypass the read buffer (fill); see vecWriteMin
	hdrSlab     = 128      // message headers ([][]byte) are carved from slabs of this many
)

// frameReader reads ZMTP 3.x frames from a buffered stream, enforcing a
// maximum message size before allocating anything. Not safe for concurrent use.
type frameReader struct {
	r *bufio.Reader
	// src is the stream r reads from, or nil: a large body's bytes past
	// what r holds are read from it straight into the body (fill).
	src  io.Reader
	max  int64 // largest message (sum of frame bodies)
	mid  bool  // next has consumed part of a message: a read now is mid-message
	slab []byte
	hdrs [][]byte
	tmp  [][]byte
	// sess, on a CURVE connection, opens every frame: each is a MESSAGE
	// box whose plaintext carries the frame's MORE and COMMAND flags.
	sess *curve.Session
	pre  []byte // the payload of the frame sess just opened
	// large: the last frame read was directBody bytes or more; the reader
	// goroutine then reads just the next header at a boundary (ttlReader).
	large bool
	// pool, when on (framepool.go), gives bodies of poolMin bytes or more
	// a class-sized buffer, reused when the program released one.
	pool *framePool
}

func newFrameReader(r *bufio.Reader, max int64) *frameReader {
	return &frameReader{r: r, max: max}
}

func (fr *frameReader) alloc(n int) []byte {
	if n > smallFrame {
		if n >= poolMin && fr.pool != nil && fr.pool.on.Load() {
			return fr.pool.get(n)
		}
		return make([]byte, n)
	}
	if len(fr.slab) < n {
		fr.slab = make([]byte, slabSize)
	}
	b := fr.slab[:n:n]
	fr.slab = fr.slab[n:]
	return b
}

// next reads one message, or one command (cmd true, one frame holding the
// command body including its name). It never allocates more than the frame
// sizes allowed by max, and for large frames only as data actually arrives.
func (fr *frameReader) next() (m Msg, cmd bool, err error) {
	var total uint64
	fr.tmp = fr.tmp[:0]
	fr.mid = false
	for {
		flags, err := fr.r.ReadByte()
		if err != nil {
			if len(fr.tmp) > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, false, err
		}
		fr.mid = true
		if flags&^(flagMore|flagLong|flagCommand) != 0 {
			return nil, false, fmt.Errorf("%w: reserved flag bits 0x%02x", errProtocol, flags)
		}
		if fr.sess != nil && flags&flagMore != 0 {
			return nil, false, fmt.Errorf("%w: CURVE: MORE flag on a MESSAGE frame", errProtocol)
		}
		var size uint64
		if flags&flagLong != 0 {
			b, err := fr.r.Peek(8)
			if err != nil {
				return nil, false, eof(err)
			}
			size = binary.BigEndian.Uint64(b)
			_, _ = fr.r.Discard(8)
		} else {
			b, err := fr.r.ReadByte()
			if err != nil {
				return nil, false, eof(err)
			}
			size = uint64(b)
		}
		if fr.sess != nil {
			if size > uint64(fr.max)+uint64(curve.MessageOverhead) {
				return nil, false, fmt.Errorf("%w: frame of %d bytes exceeds the limit of %d", ErrTooLarge, size-uint64(curve.MessageOverhead), fr.max)
			}
			body, err := fr.readBody(int(size))
			if err != nil {
				return nil, false, err
			}
			var inner byte
			var payload []byte
			if plen := int(size) - curve.MessageOverhead; plen >= poolMin && fr.pool != nil && fr.pool.on.Load() {
				// Decrypted into a buffer of its own class, so that
				// Release can pool it as one (in place, the payload would
				// start past the box's header); the box's buffer, read
				// from the pool too, goes straight back.
				inner, payload, err = fr.sess.Open(fr.pool.get(plen)[:0], body)
				fr.pool.put(body)
			} else {
				inner, payload, err = fr.sess.OpenInPlace(body)
			}
			if err != nil {
				return nil, false, fmt.Errorf("%w: CURVE: %v", errProtocol, err)
			}
			flags = 0
			if inner&curve.FlagMore != 0 {
				flags |= flagMore
			}
			if inner&curve.FlagCommand != 0 {
				flags |= flagCommand
			}
			size = uint64(len(payload))
			fr.pre = payload
		}
		isCmd := flags&flagCommand != 0
		if isCmd && (flags&flagMore != 0 || len(fr.tmp) > 0) {
			return nil, false, fmt.Errorf("%w: command frame inside a message", errProtocol)
		}
		if size > uint64(fr.max) || total+size > uint64(fr.max) {
			return nil, false, fmt.Errorf("%w: frame of %d bytes exceeds the limit of %d", ErrTooLarge, size, fr.max)
		}
		total += size
		if len(fr.tmp) >= maxFrames {
			return nil, false, fmt.Errorf("%w: more than %d frames in a message", ErrTooLarge, maxFrames)
		}
		fr.large = size >= directBody
		var body []byte
		if fr.sess != nil {
			body, fr.pre = fr.pre, nil
		} else if body, err = fr.readBody(int(size)); err != nil {
			return nil, false, err
		}
		if isCmd {
			return Msg{body}, true, nil
		}
		if flags&flagMore == 0 && len(fr.tmp) == 0 {
			// Single-frame message: no scratch copy.
			if len(fr.hdrs) < 1 {
				fr.hdrs = make([][]byte, hdrSlab)
			}
			m = Msg(fr.hdrs[:1:1])
			fr.hdrs = fr.hdrs[1:]
			m[0] = body
			return m, false, nil
		}
		fr.tmp = append(fr.tmp, body)
		if flags&flagMore == 0 {
			break
		}
	}
	n := len(fr.tmp)
	if n > hdrSlab/4 {
		m = make(Msg, n)
	} else {
		if len(fr.hdrs) < n {
			fr.hdrs = make([][]byte, hdrSlab)
		}
		m = Msg(fr.hdrs[:n:n])
		fr.hdrs = fr.hdrs[n:]
	}
	copy(m, fr.tmp)
	clear(fr.tmp)
	return m, false, nil
}

func (fr *frameReader) readBody(n int) ([]byte, error) {
	if n <= chunkedRead {
		b := fr.alloc(n)
		if err := fr.fill(b); err != nil {
			return nil, eof(err)
		}
		return b, nil
	}
	// A buffer the program released is read into whole: it costs no
	// allocation, whatever the header announces. Else the last step of
	// growth below allocates the class's size, so the frame, released,
	// is one.
	limit := n
	if fr.pool != nil && fr.pool.on.Load() {
		if idx, size, ok := ceilClass(n); ok {
			limit = size
			if b := fr.pool.take(idx, size); b != nil {
				if err := fr.fill(b[:n]); err != nil {
					fr.pool.put(b) // not handed out: reusable
					return nil, eof(err)
				}
				return b[:n], nil
			}
		}
	}
	// Large frame: grow as bytes arrive, so a header alone cannot make us
	// allocate the whole announced size (at most 4 times what arrived).
	b := make([]byte, 0, chunkedRead)
	for len(b) < n {
		if len(b) == cap(b) {
			c := min(n, 4*cap(b))
			if c == n && limit <= 4*cap(b) {
				c = limit // still at most 4 times what arrived
			}
			nb := make([]byte, len(b), c)
			copy(nb, b)
			b = nb
		}
		want := min(n, cap(b)) - len(b)
		err := fr.fill(b[len(b) : len(b)+want])
		if err != nil {
			return nil, eof(err)
		}
		b = b[:len(b)+want]
	}
	return b, nil
}

// fill reads len(b) bytes of a body. A large one takes what r holds and
// reads the rest from src straight into b, not through r's buffer (a copy
// fewer); a small one, or a small rest, is read through r, which may bring
// the frames after it along in the same read.
func (fr *frameReader) fill(b []byte) error {
	if fr.src == nil || len(b) < directBody {
		_, err := io.ReadFull(fr.r, b)
		return err
	}
	k := 0
	if h := fr.r.Buffered(); h > 0 {
		k, _ = fr.r.Read(b[:min(h, len(b))])
	}
	if len(b)-k < directBody/4 {
		_, err := io.ReadFull(fr.r, b[k:])
		return err
	}
	_, err := io.ReadFull(fr.src, b[k:])
	return err
}

func eof(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// msgComplete reports whether b, the start of a ZMTP stream at a message
// boundary, holds a whole message or command; if not, need is how many bytes
// would (at least) be needed. A header next rejects as soon as it reads it
// (reserved flag bits, a misplaced command) counts as complete, so that next
// reports the error.
func msgComplete(b []byte) (ok bool, need int) {
	off := 0
	for {
		if off >= len(b) {
			return false, off + 2
		}
		flags := b[off]
		if flags&^(flagMore|flagLong|flagCommand) != 0 {
			return true, 0 // next rejects it at once
		}
		if len(b)-off < 2 {
			return false, off + 2
		}
		hdr, size := 2, uint64(b[off+1])
		if flags&flagLong != 0 {
			if len(b)-off < 9 {
				return false, off + 9
			}
			hdr, size = 9, binary.BigEndian.Uint64(b[off+1:])
		}
		if flags&flagCommand != 0 && (flags&flagMore != 0 || off > 0) {
			return true, 0 // next rejects it once it has the header
		}
		if size > uint64(len(b)) {
			// Larger than anything buffered: either over the limit (next
			// reports it) or incomplete; need saturates.
			return false, int(min(size, 1<<40)) + off + hdr
		}
		end := off + hdr + int(size)
		if end > len(b) {
			return false, end
		}
		if flags&flagMore == 0 || flags&flagCommand != 0 {
			return true, 0
		}
		off = end
	}
}

// frameCodec encodes the frames one connection sends, data and commands
// alike: plain ZMTP framing (zmtpCodec, for NULL and PLAIN) or a security
// mechanism's wrapping of it (CURVE seals each frame). A connection has one
// codec, used only under conn.wmu, by its writer goroutine and by direct
// writes (direct.go) alike, so a per-connection nonce advances in the order
// the frames go on the wire.
type frameCodec interface {
	// appendFrame appends one frame (flags: flagMore, flagCommand) to b.
	appendFrame(b []byte, flags byte, body []byte) []byte
	// writeFrame writes one frame to w.
	writeFrame(w *bufio.Writer, flags byte, body []byte) error
	// failed reports an error appendFrame met (CURVE's nonces exhausted):
	// what it appended since must not be sent, and the connection must end.
	failed() error
}

// zmtpCodec is ZMTP 3's framing, unencrypted.
type zmtpCodec struct{}

func (zmtpCodec) appendFrame(b []byte, flags byte, body []byte) []byte {
	if n := len(body); n > 255 {
		b = append(b, flags|flagLong)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	} else {
		b = append(b, flags, byte(n))
	}
	return append(b, body...)
}

func (zmtpCodec) writeFrame(w *bufio.Writer, flags byte, body []byte) error {
	return writeFrame(w, flags, body)
}

func (zmtpCodec) failed() error { return nil }

// writeFrame writes one plain ZMTP frame header and body.
func writeFrame(w *bufio.Writer, flags byte, body []byte) error {
	n := len(body)
	if n > 255 {
		// Byte by byte: a header array passed to Write would escape.
		_ = w.WriteByte(flags | flagLong)
		for sh := 56; sh >= 0; sh -= 8 {
			_ = w.WriteByte(byte(uint64(n) >> sh))
		}
	} else {
		_ = w.WriteByte(flags)
		_ = w.WriteByte(byte(n))
	}
	_, err := w.Write(body)
	return err
}

// moreFlag is the flags of frame i of a message of n frames.
func moreFlag(i, n int) byte {
	if i < n-1 {
		return flagMore
	}
	return 0
}

// appendMsg appends m's frames, encoded by fc, to b.
func appendMsg(b []byte, fc frameCodec, m Msg) []byte {
	for i, f := range m {
		b = fc.appendFrame(b, moreFlag(i, len(m)), f)
	}
	return b
}

// writeMsg writes all frames of m, encoded by fc.
func writeMsg(w *bufio.Writer, fc frameCodec, m Msg) error {
	for i, f := range m {
		if err := fc.writeFrame(w, moreFlag(i, len(m)), f); err != nil {
			return err
		}
	}
	return nil
}

// writeCmd writes a ZMTP command frame (name length, name, data), encoded
// by fc.
func writeCmd(w *bufio.Writer, fc frameCodec, name string, data []byte) error {
	body := make([]byte, 0, 1+len(name)+len(data))
	body = append(body, byte(len(name)))
	body = append(body, name...)
	body = append(body, data...)
	return fc.writeFrame(w, flagCommand, body)
}

// parseCmd splits a command body into its name and data.
func parseCmd(b []byte) (name string, data []byte, ok bool) {
	if len(b) < 1 || int(b[0]) > len(b)-1 {
		return "", nil, false
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], true
}
