package socket

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-zeromq/zmq4"
)

// pipe is the socket's end of its relation with one peer. A tcp/ipc pipe
// owns an outbound queue drained by its current connection's writer; a pipe
// made by Connect outlives connections (its queue survives reconnects, as in
// libzmq). An inproc pipe delivers straight into the peer socket.
type pipe struct {
	s        *Socket
	endpoint string
	out      *mq                  // tcp/ipc outbound queue
	in       *mq                  // inbound queue, read by Recv in turn with the other pipes
	fast     *spsc                // inproc, when the peer's Send is the only producer: used instead of in
	peer     *pipe                // inproc: the other end
	conn     atomic.Pointer[conn] // tcp/ipc: the live connection, if any (direct I/O)

	connected  atomic.Bool
	subscribed atomic.Bool
	subMu      sync.Mutex
	subs       *subSet // PUB/XPUB: what the peer subscribed to; guarded by subMu
	// subView is subs' prefixes while they are few (subSet.smallView),
	// republished under subMu at every change, so that a publisher's
	// fan-out matches each message without taking subMu; nil while subs
	// is large (then subMatch locks).
	subView atomic.Pointer[[][]byte]
	dead    atomic.Bool
	// lastIdle is when Send last wrote a message straight to an idle
	// connection (idleWrite), on monoClock; Send side only.
	lastIdle int64
	// Messages written or read straight on the connection (direct.go),
	// past the queues that count the others (Stats.Edges).
	directOut, directIn atomic.Uint64

	// guarded by s.mu
	listed bool
	id     []byte
	addr   string
	meta   peerMeta // what the peer announced (Options.Run, Name)
}

// peerMeta is what a peer announced about itself in its handshake.
type peerMeta struct{ run, name string }

// infoLocked describes p's peer. Caller holds p.s.mu.
func (p *pipe) infoLocked() PeerInfo {
	return PeerInfo{Endpoint: p.endpoint, Addr: p.addr, Run: p.meta.run, Name: p.meta.name, External: p.s.external(p.meta), Subscribed: p.subscribed.Load()}
}

// external reports whether a peer that announced m is outside s's run.
func (s *Socket) external(m peerMeta) bool { return s.opt.Run == "" || m.run != s.opt.Run }

// edge reads what p exchanged with its peer: application messages queued
// towards it (sent) and from it (recv), and the messages waiting in p's
// own outbound and inbound queues. An inproc pipe has no outbound queue:
// what it sent is what its peer's inbound queue took.
func (p *pipe) edge() (sent, recv uint64, qOut, qIn int) {
	if q := p.peer; q != nil {
		sent, _ = q.inCounts()
	} else if p.out != nil {
		sent, qOut = p.out.counts()
	}
	sent += p.directOut.Load()
	recv, qIn = p.inCounts()
	return sent, recv + p.directIn.Load(), qOut, qIn
}

// inCounts is the pushed count and depth of p's inbound queue.
func (p *pipe) inCounts() (uint64, int) {
	if p.fast != nil {
		return p.fast.counts()
	}
	return p.in.counts()
}

// peerEvent is an Event about p's connection, naming its peer.
func (p *pipe) peerEvent(k EventKind, err error) Event {
	p.s.mu.Lock()
	in := p.infoLocked()
	p.s.mu.Unlock()
	return Event{Kind: k, Endpoint: in.Endpoint, Peer: in.Addr, PeerRun: in.Run, PeerName: in.Name, External: in.External, Err: err}
}

// announcer is a Security that adds the socket's run and name to the
// metadata its mechanism sends (READY, or PLAIN's INITIATE and READY).
// zmq4 sends an application property as "X-" and its name in lower case;
// property names are case-insensitive in ZMTP.
type announcer struct {
	zmq4.Security
	run, name string
}

func (a announcer) Handshake(c *zmq4.Conn, server bool) error {
	c.Meta[PropRun[2:]] = a.run
	c.Meta[PropPeer[2:]] = a.name
	return a.Security.Handshake(c, server)
}

// metaOf reads what a peer announced (property names in any case).
func metaOf(md zmq4.Metadata) peerMeta {
	var m peerMeta
	for k, v := range md {
		switch {
		case strings.EqualFold(k, PropRun):
			m.run = v
		case strings.EqualFold(k, PropPeer):
			m.name = v
		}
	}
	return m
}

func newPipe(s *Socket, endpoint string) *pipe {
	p := &pipe{s: s, endpoint: endpoint, in: newMQ(s.opt.RecvHWM)}
	p.subs = newSubSet()
	p.subView.Store(p.subs.smallView())
	return p
}

// subMatch reports whether the peer subscribed to a prefix of topic.
func (p *pipe) subMatch(topic []byte) bool {
	if v := p.subView.Load(); v != nil {
		return matchList(*v, topic)
	}
	p.subMu.Lock()
	ok := p.subs.match(topic)
	p.subMu.Unlock()
	return ok
}

// subsChangedLocked republishes subView after subs changed. Caller holds
// p.subMu.
func (p *pipe) subsChangedLocked() { p.subView.Store(p.subs.smallView()) }

// resetSubs forgets the peer's subscriptions and returns them.
func (p *pipe) resetSubs() *subSet {
	p.subMu.Lock()
	old := p.subs
	p.subs = newSubSet()
	p.subsChangedLocked()
	p.subMu.Unlock()
	return old
}

func (p *pipe) routingID() []byte {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.id
}

func (p *pipe) peerAddr() string {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.addr
}

// tryPop takes the next message from p's inbound queue (Recv-side only).
func (p *pipe) tryPop() (item, bool) {
	if p.fast != nil {
		m, ok := p.fast.tryPop()
		return item{m: m, p: p}, ok
	}
	return p.in.tryPop()
}

// avail reports whether p's inbound queue has messages (Recv-side only).
func (p *pipe) avail() bool {
	if p.fast != nil {
		return p.fast.avail()
	}
	return p.in.avail.Load()
}

// deactivate marks p's inbound queue unreadable if it is empty (Recv-side
// only) and reports whether it did.
func (p *pipe) deactivate() bool {
	if p.fast != nil {
		return p.fast.deactivate()
	}
	return p.in.deactivate()
}

// trySend queues m toward the peer without blocking. rel (SendRelease on
// a single-receiver pattern) asks a connection to give m's frames to the
// Context's pool once it has written them; an inproc peer takes m's frames
// as they are (lent: its Release gives them back), and a direct write
// copies them.
func (p *pipe) trySend(m Msg, w chan struct{}, rel bool) pushResult {
	cp := p.s.copySend
	if q := p.peer; q != nil {
		if p.dead.Load() {
			return pushClosed
		}
		if cp {
			m = p.s.copies.clone(m) // the receiver keeps what it gets
		}
		if rel {
			p.s.ctx.frames.lend(m) // before the receiver can see m
		} else {
			// A lent frame sent on with Send may go to several receivers
			// (a fan-out, a resend): none may give it back.
			p.s.ctx.frames.disown(m)
		}
		r := q.s.deliver(q, m, w)
		if r == pushRefused {
			p.killWith(q.s.subLimitErr(q))
			return pushClosed
		}
		return r
	}
	if !cp && len(m) == 1 && len(m[0]) >= largeMsgMin { // tryWriteLarge's case, checked here to keep small messages' path as short as it was (SendCopy's large frames come with rel)
		if c := p.conn.Load(); c != nil && c.tryWriteLarge(m, rel) {
			return pushOK
		}
	}
	if c := p.conn.Load(); c != nil && p.writeSmall(c, m) {
		if rel {
			p.s.ctx.frames.putMsg(m) // tryWrite copied m
		}
		return pushOK
	}
	if cp {
		if len(m) == 1 && len(m[0]) <= inlineMax {
			if r, ok := p.out.pushCopy(m[0], w); ok {
				return r
			}
		}
		m = p.s.copies.clone(m)
	}
	it := item{m: m}
	if rel {
		it.p = p // on an outbound queue, p set means: release once written
	}
	return p.out.push(it, false, w)
}

// heldByBytes reports whether p, which has just refused a message, holds
// fewer messages than its high-water mark and is full only for the byte
// bound (outByteBound), over tcp and ipc or inproc. Sender side only.
func (p *pipe) heldByBytes() bool {
	if q := p.peer; q != nil {
		return q.fast != nil && q.fast.heldByBytes()
	}
	return p.out.heldByBytes()
}

// sendForce queues m ignoring the high-water mark (subscriptions).
func (p *pipe) sendForce(m Msg) {
	if q := p.peer; q != nil {
		if !p.dead.Load() {
			switch q.s.deliver(q, m, nil) {
			case pushFull:
				q.s.enqueueIn(q, m, true, nil)
			case pushRefused:
				p.killWith(q.s.subLimitErr(q))
			}
		}
		return
	}
	p.out.push(item{m: m}, true, nil)
}

// kill ends an inproc pipe pair: both sockets detach their end.
func (p *pipe) kill() { p.killWith(ErrClosed) }

// killWith is kill with the cause the peer's socket reports (err).
func (p *pipe) killWith(err error) {
	q := p.peer
	if q == nil || p.dead.Swap(true) {
		return
	}
	q.dead.Store(true)
	p.s.detach(p, false, ErrClosed)
	q.s.detach(q, false, err)
	signal(q.s.sendWake)
}
