package socket

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"
)

// Context holds the inproc:// namespace shared by the sockets made from it
// and tracks those sockets so Close can close them all. The zero value is
// ready to use. All methods are safe for concurrent use.
type Context struct {
	mu       sync.Mutex
	binds    map[string]*Socket              // inproc name -> binder
	links    map[string]map[*inprocLink]bool // inproc name -> connectors
	sockets  map[*Socket]struct{}
	closed   bool
	stopping bool // StopRun was called
}

// StopRun says the run the sockets of c belong to is stopping (every
// socket of the run is about to close): from now on, closing one of them
// (Socket.Close, Context.Close) drops what is queued towards peers of the
// same run (Options.Run, see PeerInfo.External) instead of lingering to
// flush it, and a Close already lingering stops waiting for them. Those
// peers are stopping too: there is nobody to flush to. Messages towards
// external peers (libzmq peers, other runs, other hosts) still linger up
// to Options.Linger. Sockets without a Run are not affected. Safe for
// concurrent use; StopRun cannot be undone.
func (c *Context) StopRun() {
	c.mu.Lock()
	c.stopping = true
	ss := make([]*Socket, 0, len(c.sockets))
	for s := range c.sockets {
		ss = append(ss, s)
	}
	c.mu.Unlock()
	for _, s := range ss {
		s.stopRun()
	}
}

// stopRun marks the socket's run as stopping and, if the socket is
// already lingering, ends its connections to peers of its run.
func (s *Socket) stopRun() {
	if s.opt.Run == "" || s.runStopping.Swap(true) {
		return
	}
	if s.closed.Load() {
		s.killInRun()
	}
}

// killInRun closes the connections to peers of the socket's run, dropping
// what is queued towards them.
func (s *Socket) killInRun() {
	s.mu.Lock()
	var kill []*conn
	for c := range s.live {
		if !s.external(c.p.meta) {
			kill = append(kill, c)
		}
	}
	s.mu.Unlock()
	for _, c := range kill {
		c.kill(ErrClosed)
	}
}

// NewSocket creates a socket of type t. It starts no goroutine until the
// socket binds or connects. The caller owns the socket and must Close it.
func (c *Context) NewSocket(t Type, o Options) (*Socket, error) {
	if _, err := ParseType(string(t)); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	if o.Security != nil {
		switch o.Security.(type) {
		case Plain, *Plain:
		default:
			switch o.Security.Type() {
			case zmq4.NullSecurity:
			case zmq4.PlainSecurity:
				// zmq4's security/plain client clears its credentials after
				// one handshake: a reconnect would send empty ones.
				return nil, fmt.Errorf("socket %s: PLAIN mechanism %T: %w: it loses its credentials after one handshake; use socket.Plain", t, o.Security, ErrNotSupported)
			default:
				return nil, fmt.Errorf("socket %s: security mechanism %s: %w", t, o.Security.Type(), ErrNotSupported)
			}
		}
	}
	s := &Socket{
		ctx:      c,
		typ:      t,
		opt:      o,
		log:      o.Logger,
		ready:    newMQ(0),
		sendWake: make(chan struct{}, 1),
		closing:  make(chan struct{}),
		stateCh:  make(chan struct{}),
		lst:      map[string]*listener{},
		cons:     map[string]*connector{},
		shaking:  map[net.Conn]struct{}{},
		live:     map[*conn]struct{}{},
		byID:     map[string]*pipe{},
		xsubs:    map[string]int{},
		mysubs:   map[string]int{},
	}
	s.pipes.Store(&[]*pipe{})
	s.filter.Store(&subSet{})
	s.bg, s.cancel = context.WithCancel(context.Background())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		s.cancel()
		return nil, fmt.Errorf("socket %s: %w (context closed)", t, ErrClosed)
	}
	if c.stopping && o.Run != "" {
		s.runStopping.Store(true)
	}
	if c.sockets == nil {
		c.sockets = map[*Socket]struct{}{}
	}
	c.sockets[s] = struct{}{}
	return s, nil
}

// Close closes every socket still open that was made from c (each flushing up
// to its Linger) and makes NewSocket fail from then on.
func (c *Context) Close() error {
	c.mu.Lock()
	c.closed = true
	ss := make([]*Socket, 0, len(c.sockets))
	for s := range c.sockets {
		ss = append(ss, s)
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Close() }()
	}
	wg.Wait()
	return nil
}

func (o Options) withDefaults() Options {
	if o.SendHWM == 0 {
		o.SendHWM = 1000
	}
	if o.RecvHWM == 0 {
		o.RecvHWM = 1000
	}
	if o.Linger == 0 {
		o.Linger = time.Second
	}
	if o.MaxMsgSize == 0 {
		o.MaxMsgSize = 64 << 20
	} else if o.MaxMsgSize < 0 {
		o.MaxMsgSize = 1<<31 - 1
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
	if o.ReconnectIvl <= 0 {
		o.ReconnectIvl = 100 * time.Millisecond
	}
	if o.ReconnectIvlMax <= 0 {
		o.ReconnectIvlMax = 5 * time.Second
	}
	if o.ReconnectIvlMax < o.ReconnectIvl {
		o.ReconnectIvlMax = o.ReconnectIvl
	}
	if o.HeartbeatIvl > 0 && o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = 3 * o.HeartbeatIvl
	}
	if o.XPubVerboser {
		o.XPubVerbose = true
	}
	if o.MaxSubs == 0 {
		o.MaxSubs = 100_000
	} else if o.MaxSubs < 0 {
		o.MaxSubs = int(^uint(0) >> 1)
	}
	if o.MaxSubBytes == 0 {
		o.MaxSubBytes = 16 << 20
	} else if o.MaxSubBytes < 0 {
		o.MaxSubBytes = 1<<63 - 1
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Security == nil {
		o.Security = null.Security()
	}
	return o
}

// Socket is a ZeroMQ socket with libzmq semantics. Send may be called from
// one goroutine at a time and Recv from one goroutine at a time (the two may
// run concurrently); every other method is safe for concurrent use. The
// socket owns the goroutines serving its listeners, connections and
// reconnects; Close stops and waits for all of them.
type Socket struct {
	// Read by peers and connection goroutines on every message; written
	// rarely. Kept off the cache lines the Send and Recv goroutines write.
	ctx    *Context
	typ    Type
	closed atomic.Bool
	// runStopping: the socket's run is stopping (Context.StopRun); Close
	// does not linger for peers of the run.
	runStopping atomic.Bool
	pipes       atomic.Pointer[[]*pipe] // copy-on-write list of outbound pipes
	filter      atomic.Pointer[subSet]  // SUB: local filter
	ready       *mq                     // tokens: pipes whose inbound queue became readable
	sendWake    chan struct{}           // wakes a blocked Send: space freed or a pipe attached
	closing     chan struct{}           // closed by Close
	opt         Options
	log         *slog.Logger
	bg          context.Context // cancelled by Close: dials, backoffs
	cancel      context.CancelFunc

	_ cacheLinePad
	// Send-side state (Send is single-goroutine).
	sendMu   sync.Mutex
	rr       int
	reqPipe  *pipe // REQ: pipe awaiting the reply
	reqBusy  bool
	reqSeq   uint32 // REQ with ReqRelaxed: id of the current request
	sendSpin spinBudget
	out      localCount // sent, not yet added to msgsOut/bytesOut
	msgsOut  atomic.Uint64
	bytesOut atomic.Uint64

	_ cacheLinePad
	// Recv-side state (Recv is single-goroutine).
	recvMu   sync.Mutex
	ring     []*pipe // readable pipes, served in turn
	ringIdx  int
	repPipe  *pipe
	repEnv   Msg
	repBusy  atomic.Bool
	recvSpin spinBudget
	in       localCount // received, not yet added to msgsIn/bytesIn
	msgsIn   atomic.Uint64
	bytesIn  atomic.Uint64

	_      cacheLinePad
	readyN atomic.Int64         // tokens pushed and not yet taken (producers and Recv)
	direct atomic.Pointer[conn] // the connection a Recv is reading directly (direct.go)
	ctxw   atomic.Pointer[ctxWatch]

	_     cacheLinePad
	wg    sync.WaitGroup // every goroutine the socket owns
	subMu sync.Mutex     // serialises subscription changes with pipe attachment (SUB/XSUB)

	mu      sync.Mutex
	stateCh chan struct{} // closed and replaced on every peer/subscription change
	lst     map[string]*listener
	cons    map[string]*connector
	ilinks  []*inprocLink
	ibound  []string
	shaking map[net.Conn]struct{}
	live    map[*conn]struct{}
	byID    map[string]*pipe // ROUTER: routing id -> pipe
	xsubs   map[string]int   // XPUB: subscriptions across pipes
	mysubs  map[string]int   // SUB/XSUB: own subscriptions
	nextID  uint32
	bindSeq int
	peers   int

	st struct { // rarely changing counters
		dropped, connects, disconnects, hsFailed atomic.Uint64
		subscribes, subLimited                   atomic.Uint64
		directReads, directWrites                atomic.Uint64 // direct.go; read by tests
	}
}

// cacheLinePad separates fields written by different goroutines.
type cacheLinePad [64]byte

// Type returns the socket's type.
func (s *Socket) Type() Type { return s.typ }

func (s *Socket) emit(e Event) {
	if s.opt.OnEvent != nil {
		s.opt.OnEvent(e)
	}
}

// changed wakes WaitPeers callers. Caller holds s.mu.
func (s *Socket) changedLocked() {
	close(s.stateCh)
	s.stateCh = make(chan struct{})
}

// Stats returns the socket's counters. Safe at any time.
func (s *Socket) Stats() Stats {
	// Send and Recv count locally and publish every statsEvery messages and
	// before they block; an idle side's remainder is published here.
	if s.sendMu.TryLock() {
		s.flushOut()
		s.sendMu.Unlock()
	}
	if s.recvMu.TryLock() {
		s.flushIn()
		s.recvMu.Unlock()
	}
	st := Stats{
		MsgsIn:            s.msgsIn.Load(),
		MsgsOut:           s.msgsOut.Load(),
		BytesIn:           s.bytesIn.Load(),
		BytesOut:          s.bytesOut.Load(),
		Dropped:           s.st.dropped.Load(),
		Connects:          s.st.connects.Load(),
		Disconnects:       s.st.disconnects.Load(),
		HandshakeFailures: s.st.hsFailed.Load(),
		Subscribes:        s.st.subscribes.Load(),
		SubLimited:        s.st.subLimited.Load(),
	}
	s.mu.Lock()
	st.Peers = s.peers
	st.Subscribers = s.subscribersLocked()
	if s.peers > 0 {
		st.Conns = make([]PeerInfo, 0, s.peers)
		for _, p := range *s.pipes.Load() {
			if p.connected.Load() {
				st.Conns = append(st.Conns, p.infoLocked())
			}
		}
	}
	s.mu.Unlock()
	return st
}

func (s *Socket) subscribersLocked() int {
	n := 0
	for _, p := range *s.pipes.Load() {
		if p.connected.Load() && p.subscribed.Load() {
			n++
		}
	}
	return n
}

// WaitPeers blocks until n peer connections have completed their handshake
// since the socket was created (PUB and XPUB: until n peer connections have
// sent a subscription), ctx is done, or the socket is closed. Peers that
// have since left count: it answers "has every expected peer been wired?",
// and a peer that connected, did its work and closed was wired. Compare
// Stats().Peers for the peers connected right now.
func (s *Socket) WaitPeers(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		ch := s.stateCh
		s.mu.Unlock()
		have := s.Stats().Wired(s.typ)
		if have >= uint64(max(n, 0)) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("socket %s: waiting for %d peers (have %d): %w", s.typ, n, have, ctx.Err())
		case <-s.closing:
			return ErrClosed
		}
	}
}

// ---- subscriptions ----

// subSet is an immutable set of subscription prefixes with reference counts
// (a SUB's own filter, replaced wholesale on Subscribe/Unsubscribe).
type subSet struct {
	counts map[string]int
	list   [][]byte
	all    bool
}

func (ss *subSet) match(b []byte) bool {
	if ss.all {
		return true
	}
	for _, p := range ss.list {
		if bytes.HasPrefix(b, p) {
			return true
		}
	}
	return false
}

func subsFromMap(m map[string]int) *subSet {
	n := &subSet{counts: make(map[string]int, len(m))}
	for k, v := range m {
		n.counts[k] = v
		if k == "" {
			n.all = true
		}
		n.list = append(n.list, []byte(k))
	}
	return n
}

// isSubMsg reports whether m is a ZMTP 3.0 subscription message (\x01prefix
// subscribes, \x00prefix cancels).
func isSubMsg(m Msg) bool {
	return len(m) == 1 && len(m[0]) >= 1 && (m[0][0] == 0 || m[0][0] == 1)
}

// Subscribe adds a subscription prefix (SUB, XSUB). An empty prefix matches
// every message. Subscriptions are sent to every connected publisher and
// re-sent after a reconnect.
func (s *Socket) Subscribe(prefix []byte) error { return s.changeSub(prefix, true) }

// Unsubscribe removes one reference to a subscription prefix (SUB, XSUB).
func (s *Socket) Unsubscribe(prefix []byte) error { return s.changeSub(prefix, false) }

func (s *Socket) changeSub(prefix []byte, on bool) error {
	if s.typ != SUB && s.typ != XSUB {
		return fmt.Errorf("socket %s: subscribe: %w", s.typ, ErrNotSupported)
	}
	if s.closed.Load() {
		return ErrClosed
	}
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.mu.Lock()
	k := string(prefix)
	old := s.mysubs[k]
	send := false
	if on {
		s.mysubs[k] = old + 1
		send = old == 0
	} else if old > 0 {
		if old == 1 {
			delete(s.mysubs, k)
			send = true
		} else {
			s.mysubs[k] = old - 1
		}
	}
	s.filter.Store(subsFromMap(s.mysubs))
	s.mu.Unlock()
	if !send {
		return nil
	}
	m := subMsg(prefix, on)
	for _, p := range *s.pipes.Load() {
		if p.connected.Load() {
			p.sendForce(m)
		}
	}
	return nil
}

func subMsg(prefix []byte, on bool) Msg {
	b := make([]byte, 1+len(prefix))
	if on {
		b[0] = 1
	}
	copy(b[1:], prefix)
	return Msg{b}
}

// applyPeerSub records a subscription change from p on a PUB/XPUB socket and
// reports whether an XPUB should pass it to the application. over reports a
// subscription past the peer's budget (MaxSubs, MaxSubBytes): it is not
// recorded, and the caller disconnects the peer.
func (s *Socket) applyPeerSub(p *pipe, on bool, prefix []byte) (fwd, over bool) {
	d := -1
	if on {
		d = 1
	}
	p.subMu.Lock()
	if on && !p.subs.has(prefix) && (len(p.subs.counts) >= s.opt.MaxSubs || p.subs.bytes+int64(len(prefix)) > s.opt.MaxSubBytes) {
		p.subMu.Unlock()
		return false, true
	}
	known := p.subs.add(prefix, d)
	p.subMu.Unlock()
	if !known {
		return false, false
	}
	s.mu.Lock()
	if on && !p.subscribed.Load() {
		p.subscribed.Store(true)
		s.st.subscribes.Add(1)
		s.changedLocked()
	}
	if s.typ == XPUB {
		k := string(prefix)
		c := s.xsubs[k] + d
		if c <= 0 {
			delete(s.xsubs, k)
			fwd = !on
		} else {
			s.xsubs[k] = c
			fwd = on && c == 1
		}
		// XPubVerbose: every subscribe; XPubVerboser: every cancel too.
		fwd = fwd || (on && s.opt.XPubVerbose) || (!on && s.opt.XPubVerboser)
	}
	s.mu.Unlock()
	if on && s.opt.OnEvent != nil {
		s.emit(p.peerEvent(EventSubscribed, nil))
	}
	return fwd, false
}

// subLimitErr is why a peer over its subscription budget is disconnected;
// counted once per peer.
func (s *Socket) subLimitErr(p *pipe) error {
	s.st.subLimited.Add(1)
	n, b := s.opt.MaxSubs, s.opt.MaxSubBytes
	err := fmt.Errorf("socket %s: %s: peer %s: %w (%d prefixes, %d bytes)", s.typ, p.endpoint, p.peerAddr(), ErrSubLimit, n, b)
	s.log.Warn("peer subscribed past its budget; disconnecting it", "endpoint", p.endpoint, "peer", p.peerAddr(), "max_subs", n, "max_sub_bytes", b)
	return err
}

// ---- receiving side: messages from pipes ----

// deliver hands m, received from pipe p, to the socket. It never blocks;
// pushFull means the inbound queue is at its bound (w is signalled when it
// frees). Called by connection readers and by inproc peers' Send.
func (s *Socket) deliver(p *pipe, m Msg, w chan struct{}) pushResult {
	switch s.typ {
	case PUB, XPUB:
		if isSubMsg(m) {
			fwd, over := s.applyPeerSub(p, m[0][0] == 1, m[0][1:])
			if over {
				return pushRefused
			}
			if fwd {
				s.enqueueIn(p, m, true, nil)
			}
			return pushOK
		}
		if s.typ == PUB {
			return pushOK
		}
	case SUB:
		if len(m) == 0 || !s.filter.Load().match(m[0]) {
			return pushOK
		}
	case PUSH:
		return pushOK
	}
	return s.enqueueIn(p, m, false, w)
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

// next returns the next inbound message, fair-queued: readable pipes are
// served one message each in turn. Recv-side only.
func (s *Socket) next(ctx context.Context) (item, error) {
	for {
		if s.readyN.Load() > 0 {
			for {
				t, ok := s.ready.tryPop()
				if !ok {
					break
				}
				s.readyN.Add(-1)
				s.ring = append(s.ring, t.p)
			}
		}
		if n := len(s.ring); n > 0 {
			for k := 0; k < n; k++ {
				if s.ringIdx >= n {
					s.ringIdx = 0
				}
				p := s.ring[s.ringIdx]
				s.ringIdx++
				if it, ok := p.tryPop(); ok {
					return it, nil
				}
			}
			// Every readable pipe ran dry. Poll them briefly before giving
			// them up: while a stream flows the next message is usually a
			// moment away, and a pipe that stays active spares its producer
			// re-announcing it (see spin.go).
			if s.recvSpin.poll(s.ringReady) {
				continue
			}
			kept := s.ring[:0]
			for _, p := range s.ring {
				if !p.deactivate() {
					kept = append(kept, p)
				}
			}
			clear(s.ring[len(kept):])
			s.ring = kept
			s.ringIdx = 0
			continue
		}
		s.flushIn() // about to block: make Stats exact meanwhile
		if c := s.directConn(); c != nil {
			if ok, err := s.recvDirect(ctx, c); err != nil {
				return item{}, err
			} else if ok {
				continue
			}
		}
		t, err := s.ready.pop(ctx, s.closing, &s.recvSpin)
		if err != nil {
			return item{}, err
		}
		s.readyN.Add(-1)
		s.ring = append(s.ring, t.p)
	}
}

// ringReady reports whether a readable pipe (or a newly readable one) has
// a message, or the socket closed. Recv-side only.
func (s *Socket) ringReady() bool {
	for _, p := range s.ring {
		if p.avail() {
			return true
		}
	}
	return s.readyN.Load() > 0 || s.closed.Load()
}

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
	var err error
	switch s.typ {
	case PUSH, DEALER, PAIR:
		_, err = s.sendRR(ctx, m)
	case REQ:
		if s.reqBusy && !s.opt.ReqRelaxed {
			return fmt.Errorf("socket REQ: send before the previous reply was received: %w", ErrState)
		}
		env := make(Msg, 0, len(m)+2)
		if s.opt.ReqRelaxed {
			s.reqSeq++
			env = append(env, []byte{byte(s.reqSeq >> 24), byte(s.reqSeq >> 16), byte(s.reqSeq >> 8), byte(s.reqSeq)})
		}
		env = append(env, []byte{})
		env = append(env, m...)
		var p *pipe
		p, err = s.sendRR(ctx, env)
		if err == nil {
			s.reqPipe = p
			s.reqBusy = true
		}
	case REP:
		err = s.sendRep(m)
	case ROUTER:
		err = s.sendRouter(ctx, m)
	case PUB, XPUB:
		s.sendPub(m)
	case XSUB:
		s.sendXSub(m)
	default: // SUB, PULL
		return fmt.Errorf("socket %s: send: %w", s.typ, ErrNotSupported)
	}
	if err != nil {
		return err
	}
	s.out.add(m, &s.msgsOut, &s.bytesOut)
	return nil
}

func msgBytes(m Msg) uint64 {
	var n int
	for _, f := range m {
		n += len(f)
	}
	return uint64(n)
}

// sendRR round-robins m over the pipes, blocking while all are full.
func (s *Socket) sendRR(ctx context.Context, m Msg) (*pipe, error) {
	for {
		ps := *s.pipes.Load()
		n := len(ps)
		for i := 0; i < n; i++ {
			j := s.rr + i
			if j >= n {
				j -= n
			}
			p := ps[j]
			if p.trySend(m, s.sendWake) == pushOK {
				s.rr = j + 1
				if s.rr >= n {
					s.rr = 0
				}
				return p, nil
			}
		}
		s.flushOut() // about to block: make Stats exact meanwhile
		s.sendSpin.poll(s.sendWoken)
		select {
		case <-s.sendWake:
		case <-ctx.Done():
			return nil, fmt.Errorf("socket %s: send: %w", s.typ, ctx.Err())
		case <-s.closing:
			return nil, ErrClosed
		}
	}
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

func (s *Socket) sendPub(m Msg) {
	for _, p := range *s.pipes.Load() {
		if !p.subMatch(m[0]) {
			continue
		}
		if p.trySend(m, nil) == pushFull {
			s.drop(p, "subscriber at high-water mark")
		}
	}
}

func (s *Socket) sendXSub(m Msg) {
	if isSubMsg(m) {
		on := m[0][0] == 1
		s.subMu.Lock()
		s.mu.Lock()
		k := string(m[0][1:])
		old := s.mysubs[k]
		send := on || old > 0 // libzmq forwards every subscribe, a cancel only if known
		if on {
			s.mysubs[k] = old + 1
		} else if old > 0 {
			if old == 1 {
				delete(s.mysubs, k)
			} else {
				s.mysubs[k] = old - 1
			}
		}
		s.mu.Unlock()
		if send {
			for _, p := range *s.pipes.Load() {
				if p.connected.Load() {
					p.sendForce(m)
				}
			}
		}
		s.subMu.Unlock()
		return
	}
	for _, p := range *s.pipes.Load() {
		if p.trySend(m, nil) == pushFull {
			s.drop(p, "upstream at high-water mark")
		}
	}
}

func (s *Socket) sendRep(m Msg) error {
	if !s.repBusy.Load() {
		return fmt.Errorf("socket REP: send without a request: %w", ErrState)
	}
	s.recvMu.Lock()
	p, env := s.repPipe, s.repEnv
	s.repPipe, s.repEnv = nil, nil
	s.repBusy.Store(false)
	s.recvMu.Unlock()
	out := make(Msg, 0, len(env)+len(m))
	out = append(out, env...)
	out = append(out, m...)
	if p.trySend(out, nil) != pushOK {
		s.drop(p, "reply to a peer that is gone or at high-water mark")
	}
	return nil
}

func (s *Socket) sendRouter(ctx context.Context, m Msg) error {
	if len(m) < 2 {
		return fmt.Errorf("socket ROUTER: send: a message needs a routing id frame and a body: %w", ErrState)
	}
	s.mu.Lock()
	p := s.byID[string(m[0])]
	s.mu.Unlock()
	if p == nil {
		if s.opt.RouterMandatory {
			return fmt.Errorf("socket ROUTER: send to %q: %w", m[0], ErrUnroutable)
		}
		s.drop(nil, "unroutable")
		return nil
	}
	for {
		switch p.trySend(m[1:], s.sendWake) {
		case pushOK:
			return nil
		case pushClosed:
			if s.opt.RouterMandatory {
				return fmt.Errorf("socket ROUTER: send to %q: %w", m[0], ErrUnroutable)
			}
			s.drop(p, "peer gone")
			return nil
		}
		if !s.opt.RouterMandatory {
			s.drop(p, "peer at high-water mark")
			return nil
		}
		s.flushOut() // about to block: make Stats exact meanwhile
		select {
		case <-s.sendWake:
		case <-ctx.Done():
			return fmt.Errorf("socket ROUTER: send: %w", ctx.Err())
		case <-s.closing:
			return ErrClosed
		}
	}
}

// ---- Recv ----

// Recv returns the next message according to the socket's pattern, blocking
// until one arrives, ctx is done, or the socket is closed. ROUTER prefixes
// the sender's routing id; REQ and REP strip (and REP remembers) the
// envelope. One goroutine at a time.
func (s *Socket) Recv(ctx context.Context) (Msg, error) {
	if !s.typ.CanRecv() {
		return nil, fmt.Errorf("socket %s: recv: %w", s.typ, ErrNotSupported)
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	if s.typ == REQ {
		s.sendMu.Lock()
		busy, want, seq := s.reqBusy, s.reqPipe, s.reqSeq
		s.sendMu.Unlock()
		if !busy {
			return nil, fmt.Errorf("socket REQ: recv without a request: %w", ErrState)
		}
		for {
			it, err := s.next(ctx)
			if err != nil {
				return nil, s.recvErr(err)
			}
			m := it.m
			if s.opt.ReqRelaxed {
				if len(m) < 1 || len(m[0]) != 4 || uint32(m[0][0])<<24|uint32(m[0][1])<<16|uint32(m[0][2])<<8|uint32(m[0][3]) != seq {
					continue // a late reply to an earlier request
				}
				m = m[1:]
			}
			if it.p != want || len(m) < 2 || len(m[0]) != 0 {
				continue // not the reply we wait for
			}
			s.sendMu.Lock()
			done := s.reqSeq == seq
			if done {
				s.reqBusy, s.reqPipe = false, nil
			}
			s.sendMu.Unlock()
			if !done {
				continue // a new request was sent meanwhile
			}
			return s.counted(m[1:]), nil
		}
	}
	if s.typ == REP && s.repBusy.Load() {
		return nil, fmt.Errorf("socket REP: recv before replying: %w", ErrState)
	}
	for {
		it, err := s.next(ctx)
		if err != nil {
			return nil, s.recvErr(err)
		}
		switch s.typ {
		case REP:
			i := 0
			for i < len(it.m) && len(it.m[i]) != 0 {
				i++
			}
			if i >= len(it.m)-1 {
				continue // no delimiter or no body: malformed request
			}
			s.repPipe = it.p
			s.repEnv = it.m[:i+1]
			s.repBusy.Store(true)
			return s.counted(it.m[i+1:]), nil
		case ROUTER:
			out := make(Msg, 0, len(it.m)+1)
			out = append(out, it.p.routingID())
			out = append(out, it.m...)
			return s.counted(out), nil
		case SUB:
			if !s.filter.Load().match(it.m[0]) {
				continue // subscription removed since it was queued
			}
		}
		return s.counted(it.m), nil
	}
}

func (s *Socket) recvErr(err error) error {
	if err == ErrClosed {
		return ErrClosed
	}
	return fmt.Errorf("socket %s: recv: %w", s.typ, err)
}

func (s *Socket) counted(m Msg) Msg {
	s.in.add(m, &s.msgsIn, &s.bytesIn)
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

// ---- pipes ----

// addPipe appends p to the outbound list. Caller holds s.mu.
func (s *Socket) addPipeLocked(p *pipe) {
	old := *s.pipes.Load()
	n := make([]*pipe, len(old), len(old)+1)
	copy(n, old)
	n = append(n, p)
	s.pipes.Store(&n)
}

// removePipe drops p from the outbound list. Caller holds s.mu.
func (s *Socket) removePipeLocked(p *pipe) {
	old := *s.pipes.Load()
	n := make([]*pipe, 0, len(old))
	for _, q := range old {
		if q != p {
			n = append(n, q)
		}
	}
	s.pipes.Store(&n)
}

// nextRoutingID generates a 5-byte routing id as libzmq does (0 then a
// 32-bit counter). Caller holds s.mu.
func (s *Socket) nextRoutingIDLocked() []byte {
	for {
		s.nextID++
		id := []byte{0, byte(s.nextID >> 24), byte(s.nextID >> 16), byte(s.nextID >> 8), byte(s.nextID)}
		if s.byID[string(id)] == nil {
			return id
		}
	}
}

// attach makes p live with a peer whose identity is peerID. It rejects the
// peer (returning an error) for a PAIR that already has one or a ROUTER
// routing id already in use.
func (s *Socket) attach(p *pipe, peerID []byte, addr string, meta peerMeta) error {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.typ == PAIR {
		for _, q := range *s.pipes.Load() {
			if q != p && q.connected.Load() {
				s.mu.Unlock()
				return fmt.Errorf("socket PAIR: already has a peer")
			}
		}
	}
	if s.typ == ROUTER {
		if len(peerID) > 0 {
			if s.byID[string(peerID)] != nil {
				s.mu.Unlock()
				return fmt.Errorf("socket ROUTER: routing id %q already in use", peerID)
			}
			p.id = append([]byte(nil), peerID...)
		} else {
			p.id = s.nextRoutingIDLocked()
		}
		s.byID[string(p.id)] = p
	}
	// A peer's subscriptions are forgotten when it detaches, not here: an
	// inproc peer that attached first may already have delivered its
	// subscriptions into this pipe.
	if !p.listed {
		p.listed = true
		s.addPipeLocked(p)
	}
	p.connected.Store(true)
	p.addr = addr
	p.meta = meta
	s.peers++
	s.st.connects.Add(1)
	s.changedLocked()
	var subs []Msg
	if s.typ == SUB || s.typ == XSUB {
		for k := range s.mysubs {
			subs = append(subs, subMsg([]byte(k), true))
		}
	}
	s.mu.Unlock()
	for _, m := range subs {
		p.sendForce(m)
	}
	signal(s.sendWake)
	if s.opt.OnEvent != nil {
		s.emit(p.peerEvent(EventConnected, nil))
	}
	return nil
}

// detach marks p disconnected; keep keeps it listed (a connecting pipe whose
// queue survives reconnects), otherwise p is removed for good.
func (s *Socket) detach(p *pipe, keep bool, cause error) {
	s.mu.Lock()
	wasConnected := p.connected.Swap(false)
	if s.typ == ROUTER && p.id != nil && s.byID[string(p.id)] == p {
		delete(s.byID, string(p.id))
	}
	var cancels []Msg
	if s.typ == XPUB {
		before := len(s.xsubs)
		for k, c := range p.resetSubs() {
			n := s.xsubs[k] - c
			if n <= 0 {
				delete(s.xsubs, k)
			} else {
				s.xsubs[k] = n
			}
			if n <= 0 || s.opt.XPubVerboser {
				cancels = append(cancels, subMsg([]byte(k), false))
			}
		}
		if len(s.xsubs) < before/2 {
			s.xsubs = cloneCounts(s.xsubs) // a Go map never shrinks: give the memory back
		}
	}
	p.resetSubs()
	p.subscribed.Store(false)
	if !keep && p.listed {
		p.listed = false
		s.removePipeLocked(p)
	}
	if wasConnected {
		s.peers--
		s.st.disconnects.Add(1)
	}
	s.changedLocked()
	s.mu.Unlock()
	for _, m := range cancels {
		s.enqueueIn(p, m, true, nil)
	}
	if wasConnected && s.opt.OnEvent != nil {
		s.emit(p.peerEvent(EventDisconnected, cause))
	}
}

// announce tells Recv that p's inbound queue became readable. A Recv
// reading another pipe's connection directly is made to give way.
func (s *Socket) announce(p *pipe) {
	s.readyN.Add(1)
	s.ready.push(item{p: p}, true, nil)
	if d := s.direct.Load(); d != nil && d.p != p {
		d.kick()
	}
}

// ---- Close ----

// Close stops the socket: Send and Recv return ErrClosed, listeners and
// reconnects stop, queued outbound messages are flushed for up to Linger,
// then every connection is closed. No goroutine of the socket outlives
// Close. Closing twice returns nil.
func (s *Socket) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.closing)
	s.cancel()
	s.ready.close()
	if d := s.direct.Load(); d != nil {
		d.kick()
	}
	s.unwatchCtx()

	s.mu.Lock()
	lst := make([]*listener, 0, len(s.lst))
	for _, l := range s.lst {
		lst = append(lst, l)
	}
	for c := range s.shaking {
		_ = c.Close()
	}
	ilinks := s.ilinks
	s.ilinks = nil
	ibound := s.ibound
	s.ibound = nil
	conns := make([]*conn, 0, len(s.live))
	for c := range s.live {
		conns = append(conns, c)
	}
	s.changedLocked()
	s.mu.Unlock()

	for _, l := range lst {
		_ = l.ln.Close()
	}
	s.ctx.dropInproc(s, ilinks, ibound)
	for _, p := range *s.pipes.Load() {
		if p.peer != nil {
			p.kill()
		}
	}

	// Linger: writers drain their queues, flush and half-close; readers wait
	// for the peer to close. Then everything is closed.
	for _, c := range conns {
		signal(c.p.out.wake)
	}
	if s.runStopping.Load() {
		s.killInRun()
	}
	if s.opt.Linger > 0 && len(conns) > 0 {
		t := time.NewTimer(s.opt.Linger)
		for _, c := range conns {
			select {
			case <-c.done:
			case <-t.C:
			}
		}
		t.Stop()
	}
	s.mu.Lock()
	for c := range s.live {
		c.kill(ErrClosed)
	}
	s.mu.Unlock()
	s.wg.Wait()
	for _, p := range *s.pipes.Load() {
		if p.out != nil {
			p.out.close()
		}
	}
	s.ctx.mu.Lock()
	delete(s.ctx.sockets, s)
	s.ctx.mu.Unlock()
	s.emit(Event{Kind: EventClosed})
	return nil
}
