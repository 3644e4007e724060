package socket

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/topo-zmq/topo/runtime/socket/internal/curve"
)

// The ZMTP connection engine: one conn per live tcp/ipc connection of a
// pipe. handshake runs the greeting and security handshake; serve attaches
// the pipe and runs the reader (this goroutine: frames, commands, the
// peer's PING TTL) and the writer (a goroutine: commands, then the pipe's
// queue, heartbeats) until the connection ends. Frames are encoded in one
// place (frame.go).
//
// The writer goroutine runs only while there is something to write: once
// it has flushed everything and finds both its queues empty it ends
// (wIdle), and the next push to either queue, a direct write's unwritten
// tail or Close starts another (kickWriter). So an idle connection holds
// one goroutine, its reader, and no buffer (bufpool.go). With heartbeats
// on, the writer keeps running to send its PINGs and watch the peer.

// errPeerTTL ends a connection whose peer asked, in a PING, to be dropped
// when silent for longer than a TTL and then was.
var errPeerTTL = errors.New("socket: peer heartbeat TTL expired")

// conn is one live tcp/ipc connection serving a pipe: a reader (the goroutine
// that ran the handshake) and, while there is something to write, a writer
// goroutine (wst).
type conn struct {
	s    *Socket
	p    *pipe
	nc   net.Conn
	ctrl *mq // commands to send (PONG, PING), ahead of messages
	done chan struct{}
	once sync.Once
	err  error
	rcvd atomic.Bool // data arrived since the last heartbeat check
	// wst is the writer's state (wIdle, wRun, wDone): a writer goroutine
	// starts only on a wIdle → wRun transition, so at most one runs.
	// wdone is closed by a writer that ends the connection's writing
	// (wDone); wexit is signalled by one that goes idle.
	wst   atomic.Int32
	wdone chan struct{}
	wexit chan struct{}

	// The read side: owned by the reader goroutine, or lent to Recv (see
	// direct.go; rd says who holds it). br is nil while the reader
	// goroutine waits on an idle connection (bufpool.go); rraw, rfn, pfn
	// and the fields after them serve those waits and their reads.
	br   *bufio.Reader
	fr   *frameReader
	rraw syscall.RawConn // nil: no waits without a buffer
	rfn  func(uintptr) bool
	pfn  func(uintptr) bool
	pwok bool // peekRead: the poller reported the connection readable
	rb   []byte
	rn   int
	rerr error
	// ttl is the TTL of the peer's last PING (ZMTP 3.1), 0 if none: while
	// it is set, every read from the network must see bytes within ttl.
	// ttlArmed says a read deadline is set. Both owned by the read side.
	ttl         time.Duration
	ttlArmed    bool
	ttlDeadline time.Time

	// Direct reads (direct.go).
	rd      atomic.Int32
	want    atomic.Bool   // Recv asks for the read side
	grant   chan struct{} // reader → Recv: the read side is lent
	back    chan struct{} // Recv → reader: the read side is returned
	appDone <-chan struct{}
	// noDirectRead: Recv never reads this connection itself (CURVE).
	noDirectRead bool

	// The write side: held by the writer goroutine while it writes, and by
	// a direct write (direct.go). Guarded by wmu.
	wmu   sync.Mutex
	codec frameCodec    // encodes every frame written (frame.go)
	bw    *bufio.Writer // nil while nothing is buffered (bufpool.go)
	pend  []byte        // the unwritten tail of a direct write, written first
	wbuf  []byte
	wn    int
	werr  error
	raw   syscall.RawConn // nil: no direct writes
	wfn   func(uintptr) bool
	hdr   [9]byte // a large frame's header (writeLargeLocked, tryWriteLarge)
	// idleAt is when the last writer goroutine went idle (monoClock), for
	// idleWrite; set only with raw.
	idleAt atomic.Int64
	// lw is the state of large direct writes (tryWriteLarge), made by the
	// first one.
	lw *largeWrite
}

// The writer's states (conn.wst).
const (
	wIdle int32 = iota // no writer goroutine: nothing to write
	wRun               // a writer goroutine runs
	wDone              // the connection writes no more: no writer starts again
)

// kickWriter starts a writer goroutine if none runs and the connection
// still writes. Called after something was queued for it (mq.kick), after
// a direct write left a tail, and by Close. Safe from any goroutine.
func (c *conn) kickWriter() {
	if c.wst.Load() == wIdle && c.wst.CompareAndSwap(wIdle, wRun) {
		c.s.wg.Add(1) // serve, still running (not wDone), holds a count
		go c.writer()
	}
}

// wakeWriter wakes the writer, or starts one, to look at its queues again.
func (c *conn) wakeWriter() {
	signal(c.p.out.wake)
	c.kickWriter()
}

// kickWriter starts the writer of p's live connection, if it has one and
// it is idle (mq.kick of a tcp/ipc pipe's outbound queue).
func (p *pipe) kickWriter() {
	if c := p.conn.Load(); c != nil {
		c.kickWriter()
	}
}

// stopWriter waits until no writer goroutine runs and none can start: the
// connection has been killed (c.done is closed), so a running writer ends
// (wDone) or goes idle, and an idle one is marked wDone here.
func (c *conn) stopWriter() {
	for {
		switch c.wst.Load() {
		case wIdle:
			if c.wst.CompareAndSwap(wIdle, wDone) {
				return
			}
		case wDone:
			<-c.wdone
			return
		default:
			select {
			case <-c.wdone:
				return
			case <-c.wexit:
			}
		}
	}
}

// ttlReader is what the reader's bufio.Reader reads from: before every read
// from the network it sets the deadline that the peer's PING TTL asks for,
// so the connection ends when no byte at all arrives from the peer for that
// long. What this side sends (PONGs, its own PINGs) does not count. Used by
// the reader goroutine only.
type ttlReader struct{ c *conn }

// It is also where the read side changes hands (direct.go): the reader
// goroutine yields it at a message boundary when Recv asks, and a Recv
// reading directly gives way when it must. A read interrupted by a kick is
// retried otherwise.
func (r ttlReader) Read(b []byte) (int, error) {
	c := r.c
	for {
		c.armTTL()
		var n int
		var err error
		ok := false
		if rd := c.rd.Load(); rd == rdApp {
			if c.appStop() {
				return 0, errKicked
			}
		} else if c.want.Load() && !c.fr.mid {
			return 0, errYield
		} else if rd == rdReader && !c.fr.mid {
			if c.fr.large && len(b) > longHeader {
				// After a large frame, read only the next frame's header
				// at a boundary: a full buffer would take most of a large
				// body too, to be copied out of it; this way the body is
				// read straight into its frame (frameReader.fill).
				b = b[:longHeader]
			}
			n, err, ok = c.readIdle(b) // errIdle: nothing to read (bufpool.go)
		}
		if !ok {
			n, err = c.nc.Read(b)
		}
		if n == 0 && err != nil && errors.Is(err, os.ErrDeadlineExceeded) && (c.ttl == 0 || time.Now().Before(c.ttlDeadline)) {
			// Not the TTL: a kick. Clear its deadline and look again.
			c.ttlArmed = true
			continue
		}
		return n, err
	}
}

// armTTL sets the read deadline the peer's PING TTL asks for, or clears
// one no longer asked for. Read side only.
func (c *conn) armTTL() {
	if c.ttl > 0 {
		c.ttlDeadline = time.Now().Add(c.ttl)
		_ = c.nc.SetReadDeadline(c.ttlDeadline)
		c.ttlArmed = true
	} else if c.ttlArmed {
		_ = c.nc.SetReadDeadline(time.Time{})
		c.ttlArmed = false
	}
}

func (c *conn) kill(err error) {
	c.once.Do(func() {
		c.err = err
		c.rd.Store(rdGone)
		close(c.done)
		_ = c.nc.Close()
	})
}

// readFailed ends the connection after a read error.
func (c *conn) readFailed(err error) {
	s, p := c.s, c.p
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		err = io.EOF
	} else if c.ttl > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("socket %s: %s: peer %s sent nothing for the TTL of its PING (%v): %w", s.typ, p.endpoint, p.peerAddr(), c.ttl, errPeerTTL)
		s.log.Debug("peer heartbeat TTL expired", "endpoint", p.endpoint, "err", err)
	} else {
		s.log.Debug("connection read failed", "endpoint", p.endpoint, "err", err)
	}
	c.kill(err)
}

// handshake runs the ZMTP greeting and security handshake on nc through
// zmq4.Open, bounded by HandshakeTimeout and by a frame-size guard, and
// returns the peer's identity and, on a CURVE socket, the connection's
// session. ep is the connected endpoint ("" for an accepted connection):
// it picks a CURVE client's server key. It never panics on hostile input.
func (s *Socket) handshake(nc net.Conn, server bool, ep string) (peerID []byte, meta peerMeta, sess *curve.Session, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: handshake panicked: %v", errProtocol, r)
		}
	}()
	_ = nc.SetDeadline(time.Now().Add(s.opt.HandshakeTimeout))
	g := newGuardConn(nc, handshakeFrameLimit)
	sec := s.opt.Security
	var cs *curveShake
	if s.curve != nil {
		cs = &curveShake{cc: s.curve, endpoint: ep}
		sec = cs
		server = !s.curve.client // the greeting's as-server follows the role
	}
	if s.opt.Run != "" || s.opt.Name != "" {
		sec = announcer{Security: sec, run: s.opt.Run, name: s.opt.Name}
	}
	zc, err := zmq4.Open(g, sec, zmq4.SocketType(s.typ), zmq4.SocketIdentity(s.opt.Identity), server, nil)
	if err != nil {
		return nil, meta, nil, err
	}
	peerType, perr := ParseType(zc.Peer.Meta["Socket-Type"])
	if perr != nil || !Compatible(s.typ, peerType) {
		return nil, meta, nil, fmt.Errorf("%w: peer socket type %q is not compatible with %s", errProtocol, zc.Peer.Meta["Socket-Type"], s.typ)
	}
	_ = nc.SetDeadline(time.Time{})
	if id := zc.Peer.Meta["Identity"]; id != "" {
		peerID = []byte(id)
	}
	if cs != nil {
		sess = cs.sess
	}
	return peerID, metaOf(zc.Peer.Meta), sess, nil
}

// serve runs an established connection on pipe p until it ends: the calling
// goroutine reads, a second goroutine writes. keep says whether p outlives
// the connection (connect side). It returns when both are done.
func (s *Socket) serve(stop context.Context, nc net.Conn, p *pipe, peerID []byte, meta peerMeta, sess *curve.Session, keep bool) {
	addr := ""
	if ra := nc.RemoteAddr(); ra != nil {
		addr = ra.String()
	}
	c := &conn{s: s, p: p, nc: nc, ctrl: newMQ(0), done: make(chan struct{}), wdone: make(chan struct{}),
		wexit: make(chan struct{}, 1), grant: make(chan struct{}, 1), back: make(chan struct{}, 1)}
	c.ctrl.kick = c.kickWriter
	c.codec = zmtpCodec{}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.rraw, c.rfn, c.pfn = raw, c.rawRead, c.peekRead
			if s.tr.direct || s.sendsData() { // direct I/O, and idle writes (idleWrite)
				c.raw, c.wfn = raw, c.rawWrite
			}
		}
	}
	if c.rraw == nil { // else the reader takes a buffer once bytes come
		c.br = s.ctx.getReader(ttlReader{c})
	}
	c.fr = newFrameReader(c.br, s.opt.MaxMsgSize)
	c.fr.pool = &s.ctx.frames
	c.fr.src = ttlReader{c}
	if sess != nil {
		c.codec = &curveCodec{sess: sess}
		c.fr.sess = sess
		// Direct reads parse a message only once msgComplete sees all of
		// it buffered, which it cannot tell through the boxes: a CURVE
		// connection is always read by its reader goroutine.
		c.noDirectRead = true
	}
	if s.tr.subscriber {
		p.out.reset() // subscriptions are re-sent by attach
	}
	s.mu.Lock()
	if s.closed.Load() || stop.Err() != nil { // Disconnect cancels stop under s.mu
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	s.live[c] = struct{}{}
	s.mu.Unlock()
	if err := s.attach(p, peerID, addr, meta); err != nil {
		s.mu.Lock()
		delete(s.live, c)
		s.mu.Unlock()
		_ = nc.Close()
		s.emit(Event{Kind: EventHandshakeFailed, Endpoint: p.endpoint, Peer: addr, Err: err})
		s.st.hsFailed.Add(1) // after the event: a count seen means the event was delivered
		if !keep {
			p.out.close()
		}
		return
	}
	s.log.Debug("peer connected", "socket", string(s.typ), "endpoint", p.endpoint, "peer", addr)
	p.conn.Store(c)
	c.kickWriter() // the first writer, unless a push's kick started it already
	c.reader()
	c.kill(io.EOF)
	p.conn.CompareAndSwap(c, nil)
	c.stopWriter()
	s.mu.Lock()
	delete(s.live, c)
	s.mu.Unlock()
	if !keep {
		p.out.close()
	}
	s.detach(p, keep, c.err)
	s.log.Debug("peer disconnected", "socket", string(s.typ), "endpoint", p.endpoint, "peer", addr, "err", c.err)
}

func (c *conn) reader() {
	s, p := c.s, c.p
	fr := c.fr
	wake := make(chan struct{}, 1)
	hb := s.opt.HeartbeatIvl > 0
	// PUB and XPUB see subscriptions, handled one by one; other types hand
	// messages to the pipe's inbound queue in batches (one lock per batch).
	batched := !s.tr.publisher
	var filter *subSet
	var bb *itemBatch // batch's array, from the pool while messages flow
	var batch []item
	// The batch is handed over once it holds as many messages as the
	// inbound queue may (RecvHWM), or outByteBound of large messages:
	// else a reader whose buffer kept bytes after each large frame read
	// 59 frames of 1 MiB ahead of a PULL with RecvHWM 4, 74 MB the
	// high-water mark did not count.
	batchMax := len(itemBatch{})
	if p.in.cap > 0 {
		batchMax = min(batchMax, p.in.cap)
	}
	var batchLarge int64
	discard := false
	var failed error // a read error, reported once the batch read before it is delivered
	if c.br == nil {
		if err := c.idleWait(); err != nil {
			c.readFailed(err)
			return
		}
	}
	for {
		m, isCmd, err := fr.next()
		if err != nil {
			if errors.Is(err, errYield) {
				if !c.lend() {
					return
				}
				continue
			}
			if err == errIdle {
				if bb != nil && len(batch) == 0 {
					s.ctx.putBatch(bb)
					bb, batch = nil, nil
				}
				if err = c.idleWait(); err == nil {
					continue
				}
			}
			if len(batch) == 0 || discard {
				c.readFailed(err)
				return
			}
			// What arrived whole before the bad frame is delivered, as
			// libzmq does; then the connection ends.
			failed = err
		} else if hb {
			c.rcvd.Store(true)
		}
		switch {
		case failed != nil: // hand over what came before it
		case isCmd:
			if !c.command(m[0]) {
				return
			}
		case discard:
			continue
		case !batched:
			if !c.deliverOne(m, wake) {
				discard = true
			}
			continue
		default:
			keep := true
			if f := s.tr.filter; f != nil {
				if filter == nil || len(batch) == 0 {
					filter = f.Load()
				}
				keep = filter.match(m[0])
			}
			if keep {
				if bb == nil {
					bb = s.ctx.getBatch()
					batch = bb[:0]
				}
				batch = append(batch, item{m: m, p: p})
				batchLarge += largeSize(m)
			}
			// A dropped message that was the last one buffered hands
			// over what the batch holds, as a kept one does.
			if len(batch) < cap(batch) && len(batch) < batchMax && batchLarge < outByteBound && c.br.Buffered() > 0 || len(batch) == 0 {
				continue
			}
		}
		if len(batch) == 0 {
			continue
		}
		// Hand the batch over, waiting for room while the queue is full.
		rest := batch
		for len(rest) > 0 {
			if s.closed.Load() {
				discard = true
				break
			}
			n, activated, closed := p.in.pushBatch(rest, wake)
			if closed {
				discard = true
				break
			}
			if activated {
				s.announce(p)
			}
			rest = rest[n:]
			if len(rest) == 0 {
				break
			}
			if n > 0 {
				continue
			}
			select {
			case <-wake:
			case <-c.done:
				return
			}
		}
		clear(batch)
		batch = batch[:0]
		batchLarge = 0
		if failed != nil {
			c.readFailed(failed)
			return
		}
	}
}

// deliverOne hands one message to the socket, waiting while the queue is
// full; false means the socket is closing.
func (c *conn) deliverOne(m Msg, wake chan struct{}) bool {
	for {
		switch c.s.deliver(c.p, m, wake) {
		case pushOK:
			return true
		case pushClosed:
			return false
		case pushRefused:
			c.kill(c.s.subLimitErr(c.p))
			return false
		}
		select {
		case <-wake:
		case <-c.done:
			return true
		}
	}
}

// command handles a ZMTP command from the peer; false ends the connection.
func (c *conn) command(body []byte) bool {
	name, data, ok := parseCmd(body)
	if !ok {
		c.kill(fmt.Errorf("%w: malformed command", errProtocol))
		return false
	}
	switch name {
	case "PING":
		ctx := []byte(nil)
		if len(data) >= 2 {
			// The TTL (deciseconds) applies from the next read on; 0
			// withdraws an earlier one.
			c.ttl = time.Duration(int(data[0])<<8|int(data[1])) * 100 * time.Millisecond
			ctx = data[2:]
			if len(ctx) > 16 {
				ctx = ctx[:16]
			}
		}
		c.ctrl.push(item{m: Msg{[]byte("PONG"), append([]byte(nil), ctx...)}}, true, nil)
		c.wakeWriter()
	case "PONG":
	case "SUBSCRIBE", "CANCEL":
		if c.s.tr.publisher {
			b := make([]byte, 1+len(data))
			if name == "SUBSCRIBE" {
				b[0] = 1
			}
			copy(b[1:], data)
			if c.s.deliver(c.p, Msg{b}, nil) == pushRefused {
				c.kill(c.s.subLimitErr(c.p))
				return false
			}
		}
	case "ERROR":
		c.kill(fmt.Errorf("%w: peer sent ERROR %q", errProtocol, data))
		return false
	}
	return true
}

// writer writes until it has nothing left to write, then ends and leaves
// the connection wIdle (kickWriter starts the next one), or, with
// heartbeats on, parks instead; it ends the connection's writing (wDone)
// once the connection is done, on a write error, and after Close's linger
// flush. Started only by kickWriter (serve for the first, then pushes,
// direct writes' tails and Close), so at most one runs.
func (c *conn) writer() {
	s, p := c.s, c.p
	defer s.wg.Done()
	ended := true // this goroutine ends the connection's writing, not just goes idle
	defer func() {
		if ended {
			c.wst.Store(wDone)
			close(c.wdone)
		}
	}()
	var tick <-chan time.Time
	if s.opt.HeartbeatIvl > 0 {
		t := time.NewTicker(s.opt.HeartbeatIvl)
		defer t.Stop()
		tick = t.C
		c.rcvd.Store(true)
	}
	var lastRecv = time.Now()
	for {
		c.wmu.Lock()
		err := c.drainLocked()
		if err == nil && s.closed.Load() {
			// Linger: everything queued is flushed; half-close and let the
			// reader wait for the peer to close its side.
			if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
			} else {
				c.kill(ErrClosed)
			}
			if s.opt.Linger < 0 {
				c.kill(ErrClosed)
			}
			c.wmu.Unlock()
			return
		}
		c.wmu.Unlock()
		if err != nil {
			c.kill(err)
			return
		}
		if !p.out.park() || !c.ctrl.park() {
			continue
		}
		if tick == nil {
			// Nothing to write and no heartbeat to keep: go idle. A push
			// from now on sees its queue's consumer parked and kicks;
			// one that came before the store found the writer running,
			// so look once more before ending.
			if c.raw != nil {
				c.idleAt.Store(monoClock())
			}
			c.wst.Store(wIdle)
			signal(c.wexit)
			select {
			case <-p.out.wake:
			case <-c.ctrl.wake:
			case <-s.closing:
			case <-c.done:
				// The connection is over: end its writing, unless a kick
				// or stopWriter came first.
				ended = c.wst.CompareAndSwap(wIdle, wDone)
				return
			default:
				ended = false
				return
			}
			if !c.wst.CompareAndSwap(wIdle, wRun) {
				ended = false // a kick started the next writer, or stopWriter ended it
				return
			}
			continue
		}
		select {
		case <-p.out.wake:
		case <-c.ctrl.wake:
		case <-c.done:
			return
		case <-s.closing:
		case now := <-tick:
			if c.rcvd.Swap(false) {
				lastRecv = now
			} else if now.Sub(lastRecv) > s.opt.HeartbeatTimeout {
				c.kill(fmt.Errorf("socket %s: %s: heartbeat timeout", s.typ, p.endpoint))
				return
			}
			c.ctrl.push(item{m: Msg{[]byte("PING"), pingTTL(s.opt.HeartbeatTTL)}}, true, nil)
		}
	}
}

// drainLocked writes everything pending — the tail of a direct write,
// then commands (PONG, PING), then queued messages — and flushes. Caller
// holds c.wmu.
func (c *conn) drainLocked() error {
	p := c.p
	for {
		wrote := false
		if len(c.pend) > 0 {
			if _, err := c.writerLocked().Write(c.pend); err != nil {
				return err
			}
			c.pend = c.pend[:0]
			wrote = true
		}
		if c.lw != nil && len(c.lw.big) > 0 {
			if err := c.writeBigLocked(); err != nil {
				return err
			}
			wrote = true
		}
		for {
			it, ok := c.ctrl.tryPop()
			if !ok {
				break
			}
			wrote = true
			if err := writeCmd(c.writerLocked(), c.codec, string(it.m[0]), it.m[1]); err != nil {
				return err
			}
		}
		for i := 0; i < 4096; i++ {
			it, ok := p.out.tryPop()
			if !ok {
				break
			}
			wrote = true
			err := c.writeMsgLocked(it.m)
			p.out.written(it.m) // written or lost with the connection
			if err != nil {
				return err
			}
			if it.p != nil {
				// SendRelease: the write has returned, so the connection
				// holds no reference to the frames (writeMsgLocked copies
				// or writes them whole).
				c.s.ctx.frames.putMsg(it.m)
			}
		}
		if wrote {
			continue
		}
		w := c.bw
		if w == nil {
			return nil
		}
		if w.Buffered() == 0 {
			c.releaseWriterLocked()
			return nil
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}

// vecWriteMin is the smallest frame the writer sends from the Msg's own
// buffer (writeLargeLocked) rather than copying it into the write buffer.
// Below it the copy is cheaper than the extra system call a message of its
// own would cost a stream of them. At 16 KiB the vectored write is already
// cheaper: with directBody at 16 KiB too, PUSH→PULL of 16 KiB messages
// over tcp moved 1.14× (1.05–1.19, six interleaved pairs) and 24 KiB 1.22×
// what they did with both at 32 KiB (session 10).
const vecWriteMin = 16 << 10

// writeMsgLocked writes all frames of m. On a plain (NULL, PLAIN)
// connection a frame of vecWriteMin bytes or more is not copied: it goes
// from the sender's buffer to the connection with a vectored write
// (writeLargeLocked). A CURVE frame is sealed into the write buffer, so
// there it is copied whatever its size. The bytes on the wire are the same
// either way. Caller holds c.wmu.
func (c *conn) writeMsgLocked(m Msg) error {
	if _, plain := c.codec.(zmtpCodec); !plain {
		return writeMsg(c.writerLocked(), c.codec, m)
	}
	for i, f := range m {
		flags := moreFlag(i, len(m))
		var err error
		if len(f) >= vecWriteMin {
			err = c.writeLargeLocked(flags, f)
		} else {
			err = writeFrame(c.writerLocked(), flags, f)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// writeLargeLocked writes one plain frame of more than 255 bytes straight
// to the connection, after whatever the write buffer holds: with nothing
// buffered, header and body in one vectored write (writev); else the header
// joins the buffered bytes, they are flushed, and the body follows. Either
// way the body is not copied and the write buffer is not taken for it. The
// write returns only once the kernel has all of body, so the socket holds
// no reference to it afterwards. Caller holds c.wmu.
func (c *conn) writeLargeLocked(flags byte, body []byte) error {
	hdr := c.hdr[:]
	hdr[0] = flags | flagLong
	binary.BigEndian.PutUint64(hdr[1:], uint64(len(body)))
	if bw := c.bw; bw != nil && bw.Buffered() > 0 {
		_, _ = bw.Write(hdr)
		if err := bw.Flush(); err != nil {
			return err
		}
		_, err := c.nc.Write(body)
		return err
	}
	v := net.Buffers{hdr, body}
	_, err := v.WriteTo(c.nc)
	return err
}

// pingTTL encodes a PING's TTL field: deciseconds, rounded up so a peer
// never times us out sooner than asked, saturating at the field's maximum.
func pingTTL(d time.Duration) []byte {
	const unit = 100 * time.Millisecond
	ds := (d + unit - 1) / unit
	if d <= 0 {
		ds = 0
	}
	ds = min(ds, 0xffff)
	return []byte{byte(ds >> 8), byte(ds)}
}
