package socket

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"unsafe"
)

// within reports whether p starts inside b's memory.
func within(p, b []byte) bool {
	if len(p) == 0 || cap(b) == 0 {
		return false
	}
	s := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	q := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return q >= s && q < s+uintptr(cap(b))
}

// recordConn is a net.Conn that keeps what is written to it, and how
// many of those bytes were passed from inside watch's memory.
type recordConn struct {
	net.Conn
	out       bytes.Buffer
	watch     []byte
	fromWatch int
}

func (r *recordConn) Write(p []byte) (int, error) {
	if within(p, r.watch) {
		r.fromWatch += len(p)
	}
	return r.out.Write(p)
}

// A large plain frame goes to the connection from the sender's own buffer,
// without passing through (or taking) the write buffer, and the bytes on
// the wire are those appendMsg encodes, also after small frames buffered
// ahead of it in the same message.
func TestLargeFrameWrittenFromSendersBuffer(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 40<<10)
	for _, m := range []Msg{{big}, {[]byte("head"), nil, big}, {big, []byte("tail")}} {
		rc := &recordConn{watch: big}
		c := &conn{s: &Socket{ctx: &Context{}}, nc: rc, codec: zmtpCodec{}}
		c.wmu.Lock()
		if err := c.writeMsgLocked(m); err != nil {
			t.Fatal(err)
		}
		if c.bw != nil {
			if err := c.bw.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		c.wmu.Unlock()
		if want := appendMsg(nil, zmtpCodec{}, m); !bytes.Equal(rc.out.Bytes(), want) {
			t.Fatalf("%d frames: wire bytes differ from appendMsg's", len(m))
		}
		if rc.fromWatch != len(big) {
			t.Fatalf("%d frames: %d of the %d body bytes written from the sender's buffer", len(m), rc.fromWatch, len(big))
		}
		if len(m) == 1 && c.bw != nil {
			t.Fatal("a lone large frame took the write buffer")
		}
	}
}

// segReader hands out at most seg bytes per Read, as a network does.
type segReader struct {
	r   io.Reader
	seg int
}

func (s *segReader) Read(p []byte) (int, error) {
	if len(p) > s.seg {
		p = p[:s.seg]
	}
	return s.r.Read(p)
}

// A large body is read from the stream straight into the message's own
// buffer once the read buffer's bytes are taken, not through the read
// buffer; small frames after it and frames over a chunk still parse.
func TestLargeBodyReadIntoMsgBuffer(t *testing.T) {
	for _, size := range []int{40 << 10, 64 << 10, 3 << 20} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(i * 7)
		}
		stream := appendMsg(nil, zmtpCodec{}, Msg{body})
		stream = appendMsg(stream, zmtpCodec{}, Msg{[]byte("after")})
		sr := &segReader{r: bytes.NewReader(stream), seg: 1500}
		br := bufio.NewReaderSize(sr, 64<<10)
		fr := newFrameReader(br, 64<<20)
		ic := &intoCounter{sr: sr}
		fr.src = ic
		m, _, err := fr.next()
		if err != nil || !bytes.Equal(m[0], body) {
			t.Fatalf("size %d: %v, or the body differs", size, err)
		}
		// Only the first segment (header and the body's start) may go
		// through the read buffer.
		if ic.n < size-sr.seg {
			t.Fatalf("size %d: %d bytes read straight into the body, want at least %d", size, ic.n, size-sr.seg)
		}
		m, _, err = fr.next()
		if err != nil || string(m[0]) != "after" {
			t.Fatalf("size %d: frame after the large one: %v %q", size, err, m)
		}
	}
}

// intoCounter is a frameReader src that counts the bytes read through it
// (straight into a body, not into br's buffer).
type intoCounter struct {
	sr *segReader
	n  int
}

func (c *intoCounter) Read(p []byte) (int, error) {
	n, err := c.sr.Read(p)
	c.n += n
	return n, err
}
