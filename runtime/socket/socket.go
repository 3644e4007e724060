package socket

import (
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
	stopping bool      // StopRun was called
	bufs     bufPools  // connection buffers (bufpool.go)
	frames   framePool // frame buffers a program reuses (framepool.go)
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
	ss := c.socketsLocked()
	c.mu.Unlock()
	for _, s := range ss {
		s.stopRun()
	}
}

// socketsLocked lists c's open sockets. Caller holds c.mu.
func (c *Context) socketsLocked() []*Socket {
	ss := make([]*Socket, 0, len(c.sockets))
	for s := range c.sockets {
		ss = append(ss, s)
	}
	return ss
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
	pt, err := ParseType(string(t))
	if err != nil {
		return nil, err
	}
	o = o.withDefaults()
	var cc *curveConf
	if o.Security != nil {
		switch sec := o.Security.(type) {
		case Plain, *Plain:
		case Curve, *Curve:
			cv, _ := sec.(Curve)
			if p, isPtr := sec.(*Curve); isPtr {
				if p == nil {
					return nil, fmt.Errorf("socket %s: nil *Curve", t)
				}
				cv = *p
			}
			if cc, err = newCurveConf(cv); err != nil {
				return nil, fmt.Errorf("socket %s: %w", t, err)
			}
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
		curve:    cc,
	}
	s.pat, s.tr = newPattern(s, pt)
	s.tr.canRecv = pt.CanRecv()
	s.pipes.Store(&[]*pipe{})
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
	ss := c.socketsLocked()
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
	pat    pattern // what the type does (pattern.go), chosen by NewSocket
	tr     traits
	closed atomic.Bool
	// runStopping: the socket's run is stopping (Context.StopRun); Close
	// does not linger for peers of the run.
	runStopping atomic.Bool
	pipes       atomic.Pointer[[]*pipe] // copy-on-write list of outbound pipes
	tap         atomic.Pointer[TapFunc] // SetTap; nil (the usual case) costs one load per message
	inprocSeen  atomic.Bool             // an inproc peer ever attached: Release does nothing
	ready       *mq                     // tokens: pipes whose inbound queue became readable
	sendWake    chan struct{}           // wakes a blocked Send: space freed or a pipe attached
	closing     chan struct{}           // closed by Close
	opt         Options
	curve       *curveConf // CURVE keys (Options.Security is a Curve); nil otherwise
	log         *slog.Logger
	bg          context.Context // cancelled by Close: dials, backoffs
	cancel      context.CancelFunc

	_ cacheLinePad
	// Send-side state (Send is single-goroutine).
	sendMu   sync.Mutex
	sendSpin spinBudget
	out      localCount // sent, not yet added to msgsOut/bytesOut
	relSend  bool       // SendRelease is sending: a connection pools the frames once written
	copySend bool       // SendCopy is sending: whatever keeps the Msg keeps a copy (pipe.trySend)
	copies   copyArena  // SendCopy's copies of small messages
	msgsOut  atomic.Uint64
	bytesOut atomic.Uint64

	_ cacheLinePad
	// Recv-side state (Recv is single-goroutine).
	recvMu   sync.Mutex
	ring     []*pipe // readable pipes, served in turn (fq, pattern.go)
	ringIdx  int
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
	subMu sync.Mutex     // serialises the socket's own subscription changes with pipe attachment

	mu      sync.Mutex
	stateCh chan struct{} // closed and replaced on every peer/subscription change
	lst     map[string]*listener
	cons    map[string]*connector
	ilinks  []*inprocLink
	ibound  []string
	shaking map[net.Conn]struct{}
	live    map[*conn]struct{}
	bindSeq int
	peers   int
	gone    map[edgeKey]EdgeStats // Stats.Edges of pipes removed for good
	seen    map[peerMeta]struct{} // peers that announced a Name, ever (PeersSeen); at most maxSeen

	st struct { // rarely changing counters
		dropped, connects, disconnects, hsFailed atomic.Uint64
		subscribes, subLimited                   atomic.Uint64
		sendBlocked                              atomic.Int64 // ns; Stats.SendBlocked
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
		HandshakeFailures: s.st.hsFailed.Load(),
		Subscribes:        s.st.subscribes.Load(),
		SubLimited:        s.st.subLimited.Load(),
		SendBlocked:       time.Duration(s.st.sendBlocked.Load()),
	}
	s.mu.Lock()
	// Under s.mu, as attach and detach change them: Peers, Connects and
	// Disconnects agree with each other.
	st.Connects, st.Disconnects = s.st.connects.Load(), s.st.disconnects.Load()
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
	st.Edges = s.edgesLocked()
	s.mu.Unlock()
	return st
}

// edgeKey names a Stats.Edges entry.
type edgeKey struct {
	peer     string
	external bool
}

// edgeOf is the Stats.Edges entry a peer that announced m counts under.
func (s *Socket) edgeOf(m peerMeta) edgeKey {
	if s.external(m) {
		return edgeKey{external: true}
	}
	return edgeKey{peer: m.name}
}

// edgesLocked sums Stats.Edges up: the listed pipes that have had a peer
// and the pipes gone for good. Caller holds s.mu.
func (s *Socket) edgesLocked() []EdgeStats {
	ps := *s.pipes.Load()
	if len(ps) == 0 && len(s.gone) == 0 {
		return nil
	}
	var out []EdgeStats
	at := func(k edgeKey) *EdgeStats {
		for i := range out {
			if out[i].Peer == k.peer && out[i].External == k.external {
				return &out[i]
			}
		}
		out = append(out, EdgeStats{Peer: k.peer, External: k.external})
		return &out[len(out)-1]
	}
	for k, g := range s.gone {
		e := at(k)
		e.Sent, e.Received = g.Sent, g.Received
	}
	for _, p := range ps {
		if p.addr == "" {
			continue // never had a peer: nobody to attribute to
		}
		e := at(s.edgeOf(p.meta))
		sent, recv, qo, qi := p.edge()
		e.Sent += sent
		e.Received += recv
		e.QueuedOut += qo
		e.QueuedIn += qi
	}
	return out
}

// forgetPipeLocked keeps the counts of p, removed for good, for
// Stats.Edges. Caller holds s.mu.
func (s *Socket) forgetPipeLocked(p *pipe) {
	if p.addr == "" {
		return
	}
	key := s.edgeOf(p.meta)
	if s.gone == nil {
		s.gone = map[edgeKey]EdgeStats{}
	}
	sent, recv, _, _ := p.edge()
	g := s.gone[key]
	g.Sent += sent
	g.Received += recv
	s.gone[key] = g
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

// maxSeen bounds what PeersSeen remembers: a socket that hostile or
// numerous peers connect to keeps at most this many names.
const maxSeen = 4096

// PeersSeen names every peer that completed a handshake with the socket
// since it was created and announced a name (Options.Name of a topo
// socket), whether it is still connected or not, each (Run, Name) once, in
// no particular order; only Run and Name are set. It remembers at most
// 4096. Readiness uses it for sockets that only receive: a peer that sent
// and left was wired (see plugins.SocketSpec.Peers).
func (s *Socket) PeersSeen() []PeerInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PeerInfo, 0, len(s.seen))
	for m := range s.seen {
		out = append(out, PeerInfo{Run: m.run, Name: m.name})
	}
	return out
}

// WaitUntil blocks until ok returns true for the socket's Stats, ctx is
// done (returning ctx's error) or the socket is closed (ErrClosed). ok is
// asked again each time a peer connects, disconnects or subscribes; it
// runs on the caller's goroutine and may call the socket's methods.
func (s *Socket) WaitUntil(ctx context.Context, ok func(Stats) bool) error {
	for {
		s.mu.Lock()
		ch := s.stateCh
		s.mu.Unlock()
		if ok(s.Stats()) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closing:
			return ErrClosed
		}
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
		c.wakeWriter()
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
