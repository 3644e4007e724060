package curve

// A tiny ZMTP 3.0 framer for the interop tests only: the greeting with
// mechanism CURVE, and frames (RFC 23/37). The socket layer has its own.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
)

const (
	zmtpMore    = 0x01
	zmtpLong    = 0x02
	zmtpCommand = 0x04
)

type zconn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func newZconn(c net.Conn) *zconn {
	return &zconn{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10)}
}

// greet exchanges ZMTP 3.0 greetings announcing CURVE and returns the peer's as-server flag.
func (z *zconn) greet(asServer bool) (bool, error) {
	g := make([]byte, 64)
	g[0], g[9], g[10], g[11] = 0xff, 0x7f, 3, 0
	copy(g[12:], "CURVE")
	if asServer {
		g[32] = 1
	}
	if _, err := z.w.Write(g); err != nil {
		return false, err
	}
	if err := z.w.Flush(); err != nil {
		return false, err
	}
	p := make([]byte, 64)
	if _, err := io.ReadFull(z.r, p); err != nil {
		return false, fmt.Errorf("greeting: %w", err)
	}
	if p[0] != 0xff || p[9] != 0x7f || p[10] < 3 || string(p[12:17]) != "CURVE" {
		return false, fmt.Errorf("greeting %q", p)
	}
	return p[32] == 1, nil
}

func (z *zconn) writeFrame(flags byte, body []byte) error {
	if len(body) > 255 {
		var h [9]byte
		h[0] = flags | zmtpLong
		binary.BigEndian.PutUint64(h[1:], uint64(len(body)))
		z.w.Write(h[:])
	} else {
		z.w.Write([]byte{flags, byte(len(body))})
	}
	_, err := z.w.Write(body)
	return err
}

func (z *zconn) flush() error { return z.w.Flush() }

// readFrame reads one frame of at most max bytes.
func (z *zconn) readFrame(max int) (byte, []byte, error) {
	flags, err := z.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	var n uint64
	if flags&zmtpLong != 0 {
		var h [8]byte
		if _, err := io.ReadFull(z.r, h[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(h[:])
	} else {
		b, err := z.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n = uint64(b)
	}
	if n > uint64(max) {
		return 0, nil, fmt.Errorf("frame of %d bytes", n)
	}
	body := make([]byte, n)
	_, err = io.ReadFull(z.r, body)
	return flags &^ zmtpLong, body, err
}

// readCommand reads one frame that must be a command.
func (z *zconn) readCommand() ([]byte, error) {
	f, b, err := z.readFrame(1 << 16)
	if err != nil {
		return nil, err
	}
	if f != zmtpCommand {
		return nil, fmt.Errorf("frame flags %#x during the handshake", f)
	}
	return b, nil
}

func (z *zconn) writeCommand(b []byte) error {
	if err := z.writeFrame(zmtpCommand, b); err != nil {
		return err
	}
	return z.flush()
}

// sendMsg seals a multipart message frame by frame, as libzmq: each MESSAGE
// in a frame with no flags, MORE inside the box (SealFrame writes the header).
func (z *zconn) sendMsg(s *Session, frames [][]byte) error {
	for i, f := range frames {
		var flags byte
		if i < len(frames)-1 {
			flags = FlagMore
		}
		fr, err := s.SealFrame(nil, flags, f)
		if err != nil {
			return err
		}
		if _, err := z.w.Write(fr); err != nil {
			return err
		}
	}
	return z.flush()
}

// recvMsg reads and opens frames up to the one without MORE. raw collects
// the MESSAGE bodies as they came (for the fuzz corpus).
func (z *zconn) recvMsg(s *Session, raw *[][]byte) ([][]byte, error) {
	var frames [][]byte
	for {
		f, body, err := z.readFrame(2 << 20)
		if err != nil {
			return nil, err
		}
		if f != 0 {
			return nil, fmt.Errorf("MESSAGE in a frame with flags %#x", f)
		}
		if raw != nil && len(body) < 4096 {
			*raw = append(*raw, bytes.Clone(body))
		}
		flags, p, err := s.OpenInPlace(body)
		if err != nil {
			return nil, err
		}
		if flags&FlagCommand != 0 {
			return nil, fmt.Errorf("unexpected command %q", p)
		}
		frames = append(frames, p)
		if flags&FlagMore == 0 {
			return frames, nil
		}
	}
}
