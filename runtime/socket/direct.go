package socket

import (
	"context"
	"encoding/binary"
	"errors"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Direct I/O for REQ and REP over tcp and ipc, and large direct writes
// for every socket type (tryWriteLarge, at the end).
//
// A request-reply round trip is bound by latency, not throughput, and on a
// machine with an idle CPU every hand-off between goroutines costs a wake-up
// of another OS thread (the Go scheduler starts an M for the idle P). On the
// 2-vCPU machines this project is measured on, one such hand-off per side
// adds tens of microseconds to a round trip, and a connection served by a
// reader and a writer goroutine has two per side. So for REQ and REP:
//
//   - Send writes a small message straight to the connection when the
//     connection's writer has nothing queued (tryWrite). The write is a single
//     non-blocking system call; whatever the kernel does not take is left for
//     the writer goroutine, ahead of anything else, so Send never blocks on
//     the network and frames are never interleaved.
//   - Recv on a socket with exactly one pipe reads the connection itself
//     instead of parking until the reader goroutine hands it a message. The
//     reader goroutine lends its read side (the buffered reader and the frame
//     parser) at a message boundary, when asked, and takes it back when the
//     Recv side stops using it, when the socket closes, or after
//     reclaimEvery of disuse, so that PINGs are answered and a disconnect is
//     seen while the application is not receiving.
//
// Lending protocol. c.rd says who may read the connection: rdReader (the
// reader goroutine), rdLent (nobody is reading; Recv may take it), rdApp
// (Recv is reading) or rdGone (the connection ended). Recv asks for the
// read side by setting c.want and kicking: a read deadline in the past makes
// the reader goroutine's blocked read return. The reader yields only at a
// message boundary (ttlReader.Read), moving rdReader → rdLent and signalling
// c.grant; Recv moves rdLent → rdApp with a CAS. Recv parses a message only
// once all of it is buffered (msgComplete), so being interrupted never
// leaves a half-parsed message: bytes stay in the bufio.Reader for whoever
// reads next. Recv is kicked out of its read when its ctx ends, the socket
// closes, or another pipe delivers (announce).

// directWriteMax bounds the messages Send writes directly (header bytes
// included); larger ones go through the writer goroutine.
const directWriteMax = 8 << 10

// reclaimEvery is how long the reader goroutine leaves its read side lent
// but unused before it takes it back.
const reclaimEvery = 20 * time.Millisecond

// Read-side owners of a connection (conn.rd).
const (
	rdReader int32 = iota
	rdLent
	rdApp
	rdGone
)

var (
	// errYield is the reader goroutine's signal, from ttlReader.Read, that
	// Recv asked for the read side at a message boundary.
	errYield = errors.New("socket: read side requested")
	// errKicked ends a direct read that must give way: ctx done, socket
	// closed, or another pipe readable.
	errKicked = errors.New("socket: direct read interrupted")
	// errBigMsg ends a direct read whose message cannot be buffered whole.
	errBigMsg = errors.New("socket: message too large to read directly")
)

// kickPast is a read deadline in the past: setting it makes a blocked read
// return at once.
var kickPast = time.Unix(1, 0)

// kick makes a read blocked on c return (to yield, or to give way).
func (c *conn) kick() {
	_ = c.nc.SetReadDeadline(kickPast)
}

// appStop reports whether a direct read must give way. Recv side only.
func (c *conn) appStop() bool {
	s := c.s
	if s.closed.Load() || s.readyN.Load() > 0 {
		return true
	}
	select {
	case <-c.appDone:
		return true
	default:
		return false
	}
}

// lend gives the read side to Recv and waits until it comes back; false
// means the connection ended meanwhile. Reader goroutine only.
func (c *conn) lend() bool {
	c.want.Store(false)
	if !c.rd.CompareAndSwap(rdReader, rdLent) {
		return false
	}
	signal(c.grant)
	t := time.NewTimer(reclaimEvery)
	defer t.Stop()
	closing := c.s.closing
	for {
		select {
		case <-c.back:
			if c.rd.Load() == rdReader {
				return true
			}
		case <-t.C:
			if c.rd.CompareAndSwap(rdLent, rdReader) {
				return true
			}
			t.Reset(reclaimEvery)
		case <-closing:
			// Linger needs the reader (to see the peer close); Close kicks
			// a Recv that is reading, which then gives the read side back.
			if c.rd.CompareAndSwap(rdLent, rdReader) {
				return true
			}
			closing = nil
		case <-c.done:
			return false
		}
	}
}

// giveBack returns the read side to the reader goroutine. Recv side, while
// holding it (rdApp).
func (c *conn) giveBack() {
	if c.rd.CompareAndSwap(rdApp, rdReader) {
		signal(c.back)
	}
}

// directConn returns the connection Recv may read directly, or nil.
func (s *Socket) directConn() *conn {
	if !s.tr.direct {
		return nil
	}
	ps := *s.pipes.Load()
	if len(ps) != 1 {
		return nil
	}
	c := ps[0].conn.Load()
	if c != nil && c.noDirectRead {
		return nil
	}
	return c
}

// recvDirect is next's alternative to parking: it reads c until a message
// or command arrives, the read side is refused, or Recv must give way. It
// reports false when the caller should park as usual instead.
func (s *Socket) recvDirect(ctx context.Context, c *conn) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if s.closed.Load() {
		return false, ErrClosed
	}
	switch c.rd.Load() {
	case rdLent:
		if !c.rd.CompareAndSwap(rdLent, rdApp) {
			return true, nil // reclaimed or gone meanwhile: look again
		}
	case rdReader:
		c.want.Store(true)
		c.kick()
		// The reader yields only once it has delivered what it buffered,
		// and may wait for room to deliver it: wait for either.
		if !s.ready.park() {
			return true, nil
		}
		select {
		case <-c.grant:
		case <-s.ready.wake:
		case <-ctx.Done():
			return false, ctx.Err()
		case <-s.closing:
			return false, ErrClosed
		case <-c.done:
		}
		return true, nil // a message may have come first: look again
	default:
		return false, nil
	}
	c.appDone = ctx.Done()
	s.direct.Store(c)
	s.watchCtx(ctx)
	err := c.readDirect()
	s.direct.Store(nil)
	c.appDone = nil
	switch {
	case err == nil:
		c.rd.CompareAndSwap(rdApp, rdLent) // fails only if the connection ended
		return true, nil
	case errors.Is(err, errKicked):
		if ctx.Err() != nil {
			c.rd.CompareAndSwap(rdApp, rdLent) // keep it for the next Recv
			return false, ctx.Err()
		}
		c.giveBack()
		return true, nil
	case errors.Is(err, errBigMsg):
		c.giveBack()
		return false, nil
	default:
		c.readFailed(err)
		return true, nil
	}
}

// ctxWatch is a Recv ctx's registration to kick direct reads when it ends:
// context.AfterFunc allocates, so one registration serves every Recv with
// the same ctx (the same Done channel) until another ctx comes or the
// socket closes.
type ctxWatch struct {
	done <-chan struct{}
	stop func() bool
}

// watchCtx makes sure that a direct read is kicked when ctx ends. Recv side.
func (s *Socket) watchCtx(ctx context.Context) {
	d := ctx.Done()
	if d == nil {
		return
	}
	if w := s.ctxw.Load(); w != nil && w.done == d {
		return
	}
	w := &ctxWatch{done: d}
	w.stop = context.AfterFunc(ctx, func() {
		if c := s.direct.Load(); c != nil {
			c.kick()
		}
	})
	if old := s.ctxw.Swap(w); old != nil {
		old.stop()
	}
	if s.closed.Load() {
		s.unwatchCtx()
	}
}

// unwatchCtx drops the ctx registration (Close).
func (s *Socket) unwatchCtx() {
	if w := s.ctxw.Swap(nil); w != nil {
		w.stop()
	}
}

// readDirect delivers the next message or command from c's stream to the
// socket, reading only while none is buffered whole. Recv side, holding the
// read side.
func (c *conn) readDirect() error {
	br := c.br
	for {
		b, _ := br.Peek(br.Buffered())
		ok, need := msgComplete(b)
		if ok {
			m, isCmd, err := c.fr.next()
			if err != nil {
				return err
			}
			if c.s.opt.HeartbeatIvl > 0 {
				c.rcvd.Store(true)
			}
			if isCmd {
				if !c.command(m[0]) {
					return c.err
				}
				continue
			}
			if c.s.enqueueIn(c.p, m, true, nil) == pushClosed {
				return errKicked
			}
			c.p.directIn.Add(1)
			return nil
		}
		if need > br.Size() {
			return errBigMsg
		}
		if _, err := br.Peek(len(b) + 1); err != nil {
			return err
		}
	}
}

// tryWrite writes m straight to the connection when nothing is queued ahead
// of it, and reports whether it took m. Send side (REQ, REP).
func (c *conn) tryWrite(m Msg) bool {
	if c.raw == nil || c.s.closed.Load() {
		return false
	}
	n := 0
	for _, f := range m {
		n += 9 + len(f)
	}
	if n > directWriteMax || !c.wmu.TryLock() {
		return false
	}
	defer c.wmu.Unlock()
	if c.rd.Load() == rdGone || len(c.pend) > 0 || (c.bw != nil && c.bw.Buffered() > 0) || !c.p.out.drained() || !c.ctrl.drained() {
		return false
	}
	c.wbuf = appendMsg(c.wbuf[:0], c.codec, m)
	if err := c.codec.failed(); err != nil {
		c.kill(err)
		return false
	}
	c.wn, c.werr = 0, nil
	err := c.raw.Write(c.wfn)
	if err == nil {
		err = c.werr
	}
	if err == syscall.EAGAIN || err == syscall.EINTR {
		err = nil
	}
	if err != nil {
		c.kill(err)
		return false
	}
	if c.wn < len(c.wbuf) {
		c.pend = append(c.pend[:0], c.wbuf[max(c.wn, 0):]...)
		c.wakeWriter()
	}
	c.p.directOut.Add(1)
	return true
}

// tryWriteLarge writes a large single-frame message straight to a plain
// connection from the caller, for every socket type, when nothing is
// queued or being written ahead of it, and reports whether it took m.
// Header and body go in one non-blocking vectored write from the
// caller's buffer (no copy); what the kernel does not take is left for
// the writer goroutine (c.lw.big, after the header's rest in c.pend), so
// Send never blocks on the network here either. rel gives m's frames to
// the pool once all of them are written. Without this a sender of large
// messages handed each one to the writer goroutine, which then had
// nothing else queued, went idle and was started again for the next:
// two goroutine hand-offs per message. Not for PUB and XPUB: a fan-out
// would write every peer's copy from the one sending goroutine, where
// their writers write them in parallel. Send side.
func (c *conn) tryWriteLarge(m Msg, rel bool) bool {
	if len(m) != 1 || len(m[0]) < largeMsgMin || c.s.tr.publisher || c.rraw == nil || c.s.closed.Load() {
		return false
	}
	if _, plain := c.codec.(zmtpCodec); !plain || !c.wmu.TryLock() {
		return false
	}
	defer c.wmu.Unlock()
	lw := c.lw
	if lw == nil {
		lw = &largeWrite{}
		lw.fn = func(fd uintptr) bool {
			c.wn, c.werr = unix.Writev(int(fd), lw.iov)
			return true
		}
		c.lw = lw
	}
	if c.rd.Load() == rdGone || len(c.pend) > 0 || len(lw.big) > 0 || (c.bw != nil && c.bw.Buffered() > 0) || !c.p.out.drained() || !c.ctrl.drained() {
		return false
	}
	body := m[0]
	hdr := c.hdr[:]
	hdr[0] = flagLong
	binary.BigEndian.PutUint64(hdr[1:], uint64(len(body)))
	lw.iov = append(lw.iov[:0], hdr, body)
	c.wn, c.werr = 0, nil
	err := c.rraw.Write(lw.fn)
	clear(lw.iov)
	if err == nil {
		err = c.werr
	}
	if err == syscall.EAGAIN || err == syscall.EINTR {
		err, c.wn = nil, 0
	}
	if err != nil {
		c.kill(err)
		return false
	}
	c.p.directOut.Add(1)
	switch n := c.wn; {
	case n >= len(hdr)+len(body):
		if rel {
			c.s.ctx.frames.putMsg(m)
		}
		return true
	case n < len(hdr):
		c.pend = append(c.pend[:0], hdr[n:]...)
		lw.big = body
	default:
		lw.big = body[n-len(hdr):]
	}
	if rel {
		lw.rel = m
	}
	c.wakeWriter()
	return true
}

// largeWrite is a connection's state for large direct writes
// (tryWriteLarge): fn, the vectored write of iov on the raw connection;
// big, the rest of one the kernel did not take, written by the writer
// goroutine after c.pend; rel, its message if sent with SendRelease (its
// frames go to the pool once big is written), or nil. Guarded by c.wmu.
type largeWrite struct {
	fn  func(uintptr) bool
	iov [][]byte
	big []byte
	rel Msg
}

// writeBigLocked writes the rest of a large direct write (c.lw.big) after
// whatever the write buffer holds, then gives its frames to the pool if
// it was sent with SendRelease. Caller holds c.wmu (the writer).
func (c *conn) writeBigLocked() error {
	if bw := c.bw; bw != nil && bw.Buffered() > 0 {
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	lw := c.lw
	_, err := c.nc.Write(lw.big)
	lw.big = nil
	if m := lw.rel; m != nil && err == nil {
		c.s.ctx.frames.putMsg(m)
	}
	lw.rel = nil
	return err
}

// idleGap is how long a connection must have had nothing to write for
// Send to write a message straight to it (idleWrite): a message sent
// sooner goes through the queue, so that a stream that keeps coming is
// written in batches by the writer goroutine.
const idleGap = 200 * time.Microsecond

// monoBase is the origin of monoClock.
var monoBase = time.Now()

// monoClock is a monotonic clock in nanoseconds.
func monoClock() int64 { return int64(time.Since(monoBase)) }

// writeSmall writes m straight to c when the socket's type allows it now:
// REQ and REP whenever nothing is queued ahead (tryWrite), the others when
// c is the only connection and idle (idleWrite). Send side.
func (p *pipe) writeSmall(c *conn, m Msg) bool {
	if p.s.tr.direct {
		return c.tryWrite(m)
	}
	return c.wst.Load() == wIdle && len(*p.s.pipes.Load()) == 1 && p.idleWrite(c, m)
}

// idleWrite writes a small message straight to c, which has no writer
// goroutine, when it is p's only connection and c has been idle for at
// least idleGap: its last writer went idle, and the last such write was,
// that long ago. A message that finds the connection idle would otherwise
// start a writer goroutine and wait for it to run: on an idle machine a
// thread wake-up, tens of microseconds of latency (PUB→SUB at 2,000
// msgs/s). Send side, for the socket types without REQ and REP's direct
// I/O.
func (p *pipe) idleWrite(c *conn, m Msg) bool {
	now := monoClock()
	if now-max(p.lastIdle, c.idleAt.Load()) < int64(idleGap) {
		return false
	}
	if !c.tryWrite(m) {
		return false
	}
	p.lastIdle = now
	return true
}

// rawWrite is conn.wfn: one non-blocking write of c.wbuf.
func (c *conn) rawWrite(fd uintptr) bool {
	c.wn, c.werr = syscall.Write(int(fd), c.wbuf)
	return true
}
