package socket

import (
	"context"
	"fmt"
	"sync/atomic"
)

// ---- Send ----

// Send sends m according to the socket's pattern. It blocks while the
// pattern requires it (PUSH, DEALER, REQ, PAIR with every peer at its
// high-water mark or no peer at all) until ctx is done; PUB, XPUB, ROUTER
// and REP never block (they drop and count instead, see Options). The caller
// must not modify m's frames after Send returns nil. One goroutine at a time.
func (s *Socket) Send(ctx context.Context, m Msg) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if len(m) == 0 {
		m = Msg{nil}
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if err := s.pat.send(ctx, m); err != nil {
		return err
	}
	s.sentLocked(m)
	return nil
}

// SendCopy is Send for a program that keeps m: the socket copies what it
// holds on to, so the caller may change or reuse m's frames as soon as
// SendCopy returns, whatever it returns (as zmq_send copies the caller's
// buffer). A one-frame message of up to 40 bytes queued for a tcp or ipc
// connection is copied into the outbound queue's own memory, and a small
// message the socket writes to the connection at once (see "Direct I/O"
// in the package documentation) is copied only into the connection's
// buffer: sending them allocates nothing, where Send needs a fresh
// message from the caller each time. Frames of 1 KiB or more are copied
// into frames from the Context's pool and sent as SendRelease sends them;
// a PUB or XPUB with more than one peer makes one copy for all of them;
// other messages are copied into memory of their own (small ones carved
// from larger blocks, as received frames are). One goroutine at a time,
// like Send.
func (s *Socket) SendCopy(ctx context.Context, m Msg) error {
	if s.closed.Load() {
		return ErrClosed
	}
	for _, f := range m {
		if len(f) >= poolMin {
			return s.sendPooledCopy(ctx, m)
		}
	}
	if len(m) == 0 {
		m = Msg{nil}
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	var err error
	if s.tr.publisher && len(*s.pipes.Load()) > 1 {
		// A fan-out shares one copy among its peers, as Send shares m,
		// rather than copying into every peer's queue.
		err = s.pat.send(ctx, s.copies.clone(m))
	} else {
		s.copySend = true
		err = s.pat.send(ctx, m)
		s.copySend = false
	}
	if err != nil {
		return err
	}
	s.sentLocked(m)
	return nil
}

// sendPooledCopy is SendCopy of a message with a frame of poolMin bytes
// or more: every frame is copied into one from AllocFrame, and the copy
// goes with SendRelease.
func (s *Socket) sendPooledCopy(ctx context.Context, m Msg) error {
	c := make(Msg, len(m))
	for i, f := range m {
		c[i] = s.ctx.AllocFrame(len(f))
		copy(c[i], f)
	}
	return s.SendRelease(ctx, c)
}

// copyArena carves SendCopy's copies of small messages from slabs, as
// the frame reader carves received frames: an allocation per slab of
// messages rather than two per message. Each copy owns its bytes (a slab
// is never reused; the garbage collector frees it once no copy in it is
// referenced). Send side, under sendMu.
type copyArena struct {
	b []byte
	h [][]byte
}

const (
	copySlab = 16 << 10 // bytes of a slab of copies
	copyHdrs = 512      // frame headers carved at a time
)

// clone copies m: from the arena when it is small, else as cloneMsg.
func (a *copyArena) clone(m Msg) Msg {
	n := 0
	for _, f := range m {
		n += len(f)
	}
	if n > copySlab/16 || len(m) > copyHdrs/16 {
		return cloneMsg(m)
	}
	if len(a.b) < n {
		a.b = make([]byte, copySlab)
	}
	if len(a.h) < len(m) {
		a.h = make([][]byte, copyHdrs)
	}
	c := Msg(a.h[:len(m):len(m)])
	a.h = a.h[len(m):]
	for i, f := range m {
		c[i] = a.b[:len(f):len(f)]
		a.b = a.b[copy(a.b, f):]
	}
	return c
}

// sentLocked counts m as sent and shows it to the tap, if one is set
// (Send and SendCopy, under sendMu).
func (s *Socket) sentLocked(m Msg) {
	s.out.add(m, &s.msgsOut, &s.bytesOut)
	if t := s.tap.Load(); t != nil {
		(*t)(true, m)
	}
}

// cloneMsg copies m's frames into one new buffer.
func cloneMsg(m Msg) Msg {
	n := 0
	for _, f := range m {
		n += len(f)
	}
	b := make([]byte, n)
	c := make(Msg, len(m))
	for i, f := range m {
		c[i] = b[:len(f):len(f)]
		b = b[copy(b, f):]
	}
	return c
}

// TapFunc sees a message the application sent on a socket (out) or
// received from it (SetTap). It runs on the Send or Recv goroutine, so it
// must not block, and it must neither keep nor modify m: copy what it
// keeps.
type TapFunc func(out bool, m Msg)

// SetTap makes f see every message Send sends and Recv returns from now
// on, as the application sees them (a ROUTER's with the routing id
// frame, a REQ's without the envelope); nil removes it. With no tap set,
// Send and Recv pay one atomic load each. Safe at any time.
func (s *Socket) SetTap(f TapFunc) {
	if f == nil {
		s.tap.Store(nil)
		return
	}
	s.tap.Store(&f)
}
func msgBytes(m Msg) uint64 {
	var n int
	for _, f := range m {
		n += len(f)
	}
	return uint64(n)
}

// sendWoken reports whether a blocked Send has been signalled.
func (s *Socket) sendWoken() bool { return len(s.sendWake) > 0 }

func (s *Socket) drop(p *pipe, why string) {
	s.st.dropped.Add(1)
	if s.opt.OnEvent != nil {
		ep := ""
		if p != nil {
			ep = p.endpoint
		}
		s.emit(Event{Kind: EventDropped, Endpoint: ep, Err: fmt.Errorf("socket %s: %s", s.typ, why)})
	}
}

// ---- receiving side: messages from pipes ----

// deliver hands m, received from pipe p, to the socket's pattern. It never
// blocks; pushFull means the inbound queue is at its bound (w is signalled
// when it frees). Called by connection readers and by inproc peers' Send.
func (s *Socket) deliver(p *pipe, m Msg, w chan struct{}) pushResult {
	return s.pat.deliver(p, m, w)
}

// enqueueIn queues m on p's inbound queue and announces p to Recv when the
// queue becomes readable.
func (s *Socket) enqueueIn(p *pipe, m Msg, force bool, w chan struct{}) pushResult {
	if s.closed.Load() {
		return pushClosed
	}
	var r pushResult
	var activated bool
	if p.fast != nil {
		r, activated = p.fast.push(m, force, w)
	} else {
		r, activated = p.in.pushActivate(item{m: m, p: p}, force, w)
	}
	if activated {
		s.announce(p)
	}
	return r
}

// ---- Recv ----

// Recv returns the next message according to the socket's pattern, blocking
// until one arrives, ctx is done, or the socket is closed. ROUTER prefixes
// the sender's routing id; REQ and REP strip (and REP remembers) the
// envelope. One goroutine at a time.
func (s *Socket) Recv(ctx context.Context) (Msg, error) {
	if !s.tr.canRecv {
		return nil, fmt.Errorf("socket %s: recv: %w", s.typ, ErrNotSupported)
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	return s.pat.recv(ctx)
}

func (s *Socket) recvErr(err error) error {
	if err == ErrClosed {
		return ErrClosed
	}
	return fmt.Errorf("socket %s: recv: %w", s.typ, err)
}

func (s *Socket) counted(m Msg) Msg {
	s.in.add(m, &s.msgsIn, &s.bytesIn)
	if t := s.tap.Load(); t != nil {
		(*t)(false, m)
	}
	return m
}

// statsEvery is how many messages Send and Recv count locally before adding
// them to the shared counters: two atomic additions per message per side
// would be a noticeable part of an inproc message's cost.
const statsEvery = 64

// localCount is what Send or Recv counted and has not yet added to the
// socket's shared counters. Owned by Send (sendMu) or Recv (recvMu).
type localCount struct{ n, b uint64 }

func (c *localCount) add(m Msg, msgs, bytes *atomic.Uint64) {
	c.n++
	c.b += msgBytes(m)
	if c.n >= statsEvery {
		c.flush(msgs, bytes)
	}
}

func (c *localCount) flush(msgs, bytes *atomic.Uint64) {
	if c.n > 0 {
		msgs.Add(c.n)
		bytes.Add(c.b)
		c.n, c.b = 0, 0
	}
}

// flushOut publishes Send's local counts. Caller holds s.sendMu.
func (s *Socket) flushOut() { s.out.flush(&s.msgsOut, &s.bytesOut) }

// flushIn publishes Recv's local counts. Caller holds s.recvMu.
func (s *Socket) flushIn() { s.in.flush(&s.msgsIn, &s.bytesIn) }
