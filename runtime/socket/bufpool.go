package socket

import (
	"bufio"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// Connection buffers held only while a connection moves data (issue 16).
//
// Each tcp/ipc connection reads and writes through 64 KiB buffers: large
// enough that a stream of small messages costs one system call per tens of
// thousands of bytes. An idle connection needs neither, and a socket holding
// 10,000 idle peers held 1.3 GB of them. So the buffers come from pools on
// the Context (shared by its sockets) and go back to them when the
// connection has nothing in flight:
//
//   - the write buffer is taken when the writer has something to write and
//     given back once all of it is flushed (drainLocked);
//   - the reader goroutine reads at a message boundary without blocking
//     (readIdle); when the network has nothing, its buffer (and the array
//     it batches messages in, 8 KiB that would otherwise sit on its stack)
//     goes back to the pool and it waits for the connection to become
//     readable without one (idleWait), then takes a buffer again.
//
// A buffer given back is empty, so no byte changes hands; what a pool holds
// the garbage collector may free.
const connBufSize = 64 << 10

// bufPools are a Context's pools of connection buffers.
type bufPools struct {
	r sync.Pool // *bufio.Reader of connBufSize
	w sync.Pool // *bufio.Writer of connBufSize
	b sync.Pool // *itemBatch
}

// itemBatch is the array of the batch a reader goroutine hands to its
// pipe's inbound queue (one lock per batch).
type itemBatch [256]item

func (c *Context) getBatch() *itemBatch {
	if b, ok := c.bufs.b.Get().(*itemBatch); ok {
		return b
	}
	return new(itemBatch)
}

// putBatch gives back b, whose items are cleared.
func (c *Context) putBatch(b *itemBatch) { c.bufs.b.Put(b) }

func (c *Context) getReader(r io.Reader) *bufio.Reader {
	if br, ok := c.bufs.r.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, connBufSize)
}

// putReader gives back br, which holds no unread byte.
func (c *Context) putReader(br *bufio.Reader) {
	br.Reset(nil)
	c.bufs.r.Put(br)
}

func (c *Context) getWriter(w io.Writer) *bufio.Writer {
	if bw, ok := c.bufs.w.Get().(*bufio.Writer); ok {
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, connBufSize)
}

// putWriter gives back bw, which holds no unflushed byte.
func (c *Context) putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	c.bufs.w.Put(bw)
}

// writerLocked returns the connection's write buffer, taking one from the
// pool if it holds none. Caller holds c.wmu.
func (c *conn) writerLocked() *bufio.Writer {
	if c.bw == nil {
		c.bw = c.s.ctx.getWriter(c.nc)
	}
	return c.bw
}

// releaseWriterLocked gives the write buffer back once it is flushed.
// Caller holds c.wmu.
func (c *conn) releaseWriterLocked() {
	if c.bw != nil && c.bw.Buffered() == 0 {
		c.s.ctx.putWriter(c.bw)
		c.bw = nil
	}
}

// errIdle is ttlReader.Read's signal to the reader goroutine: at a message
// boundary, the network had nothing to read.
var errIdle = errors.New("socket: connection idle")

// readIdle is one non-blocking read into b (the read buffer) at a message
// boundary by the reader goroutine; ok false means the caller should read
// as usual (no raw connection). A read that would block returns errIdle.
func (c *conn) readIdle(b []byte) (n int, err error, ok bool) {
	if c.rraw == nil {
		return 0, nil, false
	}
	c.rb = b
	err = c.rraw.Read(c.rfn)
	c.rb = nil
	if err != nil {
		return 0, err, true // a deadline (kick or TTL) or a closed connection
	}
	switch n, err = c.rn, c.rerr; {
	case err == syscall.EAGAIN:
		return 0, errIdle, true
	case err != nil:
		return 0, os.NewSyscallError("read", err), true
	case n == 0:
		return 0, io.EOF, true
	}
	return n, nil, true
}

// rawRead is conn.rfn: one read of c.rb that does not wait.
func (c *conn) rawRead(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), c.rb)
		if err == syscall.EINTR {
			continue
		}
		c.rn, c.rerr = max(n, 0), err
		return true
	}
}

// peekRead is conn.pfn: it reports whether the connection has a byte (or
// its end, or an error) to read, without reading it. The first call of a
// wait must look too, though the caller just saw nothing to read: RawConn.Read
// forgets a readiness the poller reported since, and the poller reports
// each change once. A call after that comes once the poller reported the
// connection readable and does not look again (a system call per wake-up
// that a request-reply server pays on every request): if the report was
// spurious, the read after it finds nothing and the reader waits again.
func (c *conn) peekRead(fd uintptr) bool {
	if c.pwok {
		return true
	}
	c.pwok = true
	var b [1]byte
	for {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err == syscall.EINTR {
			continue
		}
		return err != syscall.EAGAIN
	}
}

// idleWait gives the read buffer back and waits, holding none, until the
// connection is readable, Recv asks for the read side (direct.go), or the
// connection fails (its error is returned, as a read's would be). Reader
// goroutine only, at a message boundary with nothing buffered (or before
// the first read: a connection starts without a read buffer).
func (c *conn) idleWait() error {
	if c.br != nil {
		c.s.ctx.putReader(c.br)
		c.br, c.fr.r = nil, nil
	}
	if err := c.waitReadable(); err != nil {
		return err // the connection ends: it needs no buffer
	}
	c.br = c.s.ctx.getReader(ttlReader{c})
	c.fr.r = c.br
	return nil
}

func (c *conn) waitReadable() error {
	for {
		c.armTTL()
		if c.want.Load() {
			return nil // ttlReader.Read yields
		}
		c.pwok = false
		err := c.rraw.Read(c.pfn)
		if err == nil {
			return nil
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && (c.ttl == 0 || time.Now().Before(c.ttlDeadline)) {
			// Not the TTL: a kick. Clear its deadline and look again.
			c.ttlArmed = true
			continue
		}
		return err
	}
}
