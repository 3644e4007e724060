package socket

import (
	"encoding/binary"
	"fmt"
	"net"
)

// handshakeFrameLimit bounds every frame zmq4 reads during the greeting and
// security handshake: zmq4 allocates a frame's announced size before reading it.
const handshakeFrameLimit = 64 << 10

// guardConn is the net.Conn handed to zmq4.Open. It parses the ZMTP frame
// headers flowing through Read and fails the read that completes a header
// announcing more than limit bytes, before zmq4 can allocate the body.
type guardConn struct {
	net.Conn
	limit uint64

	greet int // greeting bytes still to pass through
	state int // 0: flags, 1: short size, 2: long size, 3: body
	szBuf [8]byte
	szN   int
	long  bool
	body  uint64
}

func newGuardConn(c net.Conn, limit uint64) *guardConn {
	return &guardConn{Conn: c, limit: limit, greet: 64}
}

func (g *guardConn) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	if perr := g.scan(p[:n]); perr != nil {
		return 0, perr
	}
	return n, err
}

func (g *guardConn) scan(b []byte) error {
	for len(b) > 0 {
		if g.greet > 0 {
			k := min(g.greet, len(b))
			g.greet -= k
			b = b[k:]
			continue
		}
		switch g.state {
		case 0:
			fl := b[0]
			b = b[1:]
			if fl&^(flagMore|flagLong|flagCommand) != 0 {
				return fmt.Errorf("%w: reserved flag bits in handshake", errProtocol)
			}
			g.long = fl&flagLong != 0
			g.szN = 0
			if g.long {
				g.state = 2
			} else {
				g.state = 1
			}
		case 1:
			g.body = uint64(b[0])
			b = b[1:]
			g.state = 3
		case 2:
			k := copy(g.szBuf[g.szN:], b)
			g.szN += k
			b = b[k:]
			if g.szN == 8 {
				g.body = binary.BigEndian.Uint64(g.szBuf[:])
				if g.body > g.limit {
					return fmt.Errorf("%w: handshake frame of %d bytes", ErrTooLarge, g.body)
				}
				g.state = 3
			}
		case 3:
			k := uint64(len(b))
			if k > g.body {
				k = g.body
			}
			g.body -= k
			b = b[k:]
		}
		if g.state == 3 && g.body == 0 {
			g.state = 0
		}
	}
	// A short-size frame whose size byte was consumed with an empty body.
	if g.state == 3 && g.body == 0 {
		g.state = 0
	}
	return nil
}
