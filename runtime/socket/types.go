package socket

import (
	"context"
	"fmt"
	"sync/atomic"
)

// The socket types, each on the policies of pattern.go. Send-side state is
// guarded by s.sendMu, Recv-side state by s.recvMu, the rest by s.mu.

// sender round-robins its messages (lb).
type sender struct {
	base
	lb lb
}

func (t *sender) send(ctx context.Context, m Msg) error {
	_, err := t.lb.send(t.s, ctx, m)
	return err
}

// push round-robins its messages and discards what peers send.
type push struct{ sender }

func (*push) deliver(*pipe, Msg, chan struct{}) pushResult { return pushOK }

// pull fair-queues what its peers send.
type pull struct{ base }

func (t *pull) recv(ctx context.Context) (Msg, error) { return t.recvAny(ctx) }

// dealer round-robins and fair-queues.
type dealer struct{ sender }

func (t *dealer) recv(ctx context.Context) (Msg, error) { return t.recvAny(ctx) }

// pair is a dealer with at most one peer.
type pair struct{ dealer }

func (t *pair) attachLocked(p *pipe, _ []byte) ([]Msg, error) {
	for _, q := range *t.s.pipes.Load() {
		if q != p && q.connected.Load() {
			return nil, fmt.Errorf("socket PAIR: already has a peer")
		}
	}
	return nil, nil
}

// req sends a request (round-robin) and then takes only the reply from the
// pipe it went to.
type req struct {
	base
	lb   lb
	pipe *pipe  // the pipe awaiting the reply
	busy bool   // a request awaits its reply
	seq  uint32 // with ReqRelaxed: id of the current request
}

func (t *req) send(ctx context.Context, m Msg) error {
	s := t.s
	if t.busy && !s.opt.ReqRelaxed {
		return fmt.Errorf("socket REQ: send before the previous reply was received: %w", ErrState)
	}
	env := make(Msg, 0, len(m)+2)
	if s.opt.ReqRelaxed {
		t.seq++
		env = append(env, []byte{byte(t.seq >> 24), byte(t.seq >> 16), byte(t.seq >> 8), byte(t.seq)})
	}
	env = append(env, []byte{})
	env = append(env, m...)
	p, err := t.lb.send(s, ctx, env)
	if err == nil {
		t.pipe = p
		t.busy = true
	}
	return err
}

func (t *req) recv(ctx context.Context) (Msg, error) {
	s := t.s
	s.sendMu.Lock()
	busy, want, seq := t.busy, t.pipe, t.seq
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
		done := t.seq == seq
		if done {
			t.busy, t.pipe = false, nil
		}
		s.sendMu.Unlock()
		if !done {
			continue // a new request was sent meanwhile
		}
		return s.counted(m[1:]), nil
	}
}

// rep takes a request (fair-queued), remembers its envelope and sends the
// reply back along it.
type rep struct {
	base
	pipe *pipe // Recv side: where the reply goes
	env  Msg   // Recv side: the request's envelope
	busy atomic.Bool
}

func (t *rep) recv(ctx context.Context) (Msg, error) {
	s := t.s
	if t.busy.Load() {
		return nil, fmt.Errorf("socket REP: recv before replying: %w", ErrState)
	}
	for {
		it, err := s.next(ctx)
		if err != nil {
			return nil, s.recvErr(err)
		}
		i := 0
		for i < len(it.m) && len(it.m[i]) != 0 {
			i++
		}
		if i >= len(it.m)-1 {
			continue // no delimiter or no body: malformed request
		}
		t.pipe = it.p
		t.env = it.m[:i+1]
		t.busy.Store(true)
		return s.counted(it.m[i+1:]), nil
	}
}

func (t *rep) send(_ context.Context, m Msg) error {
	s := t.s
	if !t.busy.Load() {
		return fmt.Errorf("socket REP: send without a request: %w", ErrState)
	}
	s.recvMu.Lock()
	p, env := t.pipe, t.env
	t.pipe, t.env = nil, nil
	t.busy.Store(false)
	s.recvMu.Unlock()
	out := make(Msg, 0, len(env)+len(m))
	out = append(out, env...)
	out = append(out, m...)
	if p.trySend(out, nil, s.relSend) != pushOK {
		s.drop(p, "reply to a peer that is gone or at high-water mark")
	}
	return nil
}

// router names each peer by a routing id: Recv prefixes it, Send routes
// by it.
type router struct {
	base
	byID   map[string]*pipe // routing id -> pipe
	nextID uint32
}

func (t *router) recv(ctx context.Context) (Msg, error) {
	s := t.s
	it, err := s.next(ctx)
	if err != nil {
		return nil, s.recvErr(err)
	}
	out := make(Msg, 0, len(it.m)+1)
	out = append(out, it.p.routingID())
	out = append(out, it.m...)
	return s.counted(out), nil
}

func (t *router) send(ctx context.Context, m Msg) error {
	s := t.s
	if len(m) < 2 {
		return fmt.Errorf("socket ROUTER: send: a message needs a routing id frame and a body: %w", ErrState)
	}
	s.mu.Lock()
	p := t.byID[string(m[0])]
	s.mu.Unlock()
	if p == nil {
		if s.opt.RouterMandatory {
			return fmt.Errorf("socket ROUTER: send to %q: %w", m[0], ErrUnroutable)
		}
		s.drop(nil, "unroutable")
		return nil
	}
	var blocked blockClock
	for {
		r := p.trySend(m[1:], s.sendWake, s.relSend)
		if r != pushFull {
			blocked.stop(s)
		}
		switch r {
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
		blocked.start()
		s.flushOut() // about to block: make Stats exact meanwhile
		select {
		case <-s.sendWake:
		case <-ctx.Done():
			blocked.stop(s)
			return fmt.Errorf("socket ROUTER: send: %w", ctx.Err())
		case <-s.closing:
			blocked.stop(s)
			return ErrClosed
		}
	}
}

// attachLocked gives p the peer's announced identity, refused if in use,
// or else a generated one.
func (t *router) attachLocked(p *pipe, peerID []byte) ([]Msg, error) {
	if len(peerID) > 0 {
		if t.byID[string(peerID)] != nil {
			return nil, fmt.Errorf("socket ROUTER: routing id %q already in use", peerID)
		}
		p.id = append([]byte(nil), peerID...)
	} else {
		p.id = t.nextRoutingIDLocked()
	}
	t.byID[string(p.id)] = p
	return nil, nil
}

func (t *router) detachLocked(p *pipe) []Msg {
	if p.id != nil && t.byID[string(p.id)] == p {
		delete(t.byID, string(p.id))
	}
	return nil
}

// nextRoutingIDLocked generates a 5-byte routing id as libzmq does (0 then
// a 32-bit counter). Caller holds s.mu.
func (t *router) nextRoutingIDLocked() []byte {
	for {
		t.nextID++
		id := []byte{0, byte(t.nextID >> 24), byte(t.nextID >> 16), byte(t.nextID >> 8), byte(t.nextID)}
		if t.byID[string(id)] == nil {
			return id
		}
	}
}

// pub fans each message out to the peers subscribed to it.
type pub struct{ base }

func (t *pub) send(_ context.Context, m Msg) error {
	dist(t.s, m, true, "subscriber at high-water mark")
	return nil
}

// deliver records a peer's subscription; anything else is discarded.
func (t *pub) deliver(p *pipe, m Msg, _ chan struct{}) pushResult {
	if isSubMsg(m) {
		return t.peerSub(p, m, nil)
	}
	return pushOK
}

// peerSub applies subscription message m from p (x: the XPUB that may pass
// it to Recv, nil for a PUB).
func (t *pub) peerSub(p *pipe, m Msg, x *xpub) pushResult {
	fwd, over := t.s.applyPeerSub(p, m[0][0] == 1, m[0][1:], x)
	if over {
		return pushRefused
	}
	if fwd {
		t.s.enqueueIn(p, m, true, nil)
	}
	return pushOK
}

// xpub is a pub whose Recv sees subscriptions (see Options.XPubVerbose)
// and the peers' other messages.
type xpub struct {
	pub
	subs *subSet // subscriptions across peers
}

func (t *xpub) deliver(p *pipe, m Msg, w chan struct{}) pushResult {
	if isSubMsg(m) {
		return t.peerSub(p, m, t)
	}
	return t.s.enqueueIn(p, m, false, w)
}

func (t *xpub) recv(ctx context.Context) (Msg, error) { return t.recvAny(ctx) }

// forwardLocked counts a peer's subscription change (d is +1 or -1) and
// reports whether Recv sees it. Caller holds s.mu.
func (t *xpub) forwardLocked(prefix []byte, d int) bool {
	on := d > 0
	_, c := t.subs.add(prefix, d)
	fwd := false
	if c <= 0 {
		fwd = !on
	} else {
		fwd = on && c == 1
	}
	// XPubVerbose: every subscribe; XPubVerboser: every cancel too.
	return fwd || (on && t.s.opt.XPubVerbose) || (!on && t.s.opt.XPubVerboser)
}

// detachLocked releases p's subscriptions and passes the cancels Recv
// sees.
func (t *xpub) detachLocked(p *pipe) []Msg {
	var cancels []Msg
	p.resetSubs().each(func(k []byte, c int) {
		if _, n := t.subs.add(k, -c); n <= 0 || t.s.opt.XPubVerboser {
			cancels = append(cancels, subMsg(k, false))
		}
	})
	return cancels
}

// subscriber is what SUB and XSUB share: their own subscriptions, sent to
// every peer.
type subscriber struct {
	base
	// own holds the socket's own subscriptions and their counts, changed
	// in place in O(len(prefix)) under s.mu (and replaced by a compacted
	// copy now and then); a SUB's readers match with it without locks
	// once it holds more than smallSubs prefixes.
	own *prefixTrie
	// filter is what a SUB's readers match with (filters set): a subSet
	// that holds a copy of own's few prefixes, or only own.
	filter  atomic.Pointer[subSet]
	filters bool
	// cut is set (before the filter without it is published) once any
	// prefix lost its last reference: until then the filter has only
	// grown, so a message a reader kept still matches and a SUB's Recv
	// need not match it again.
	cut atomic.Bool
}

func (t *subscriber) subscribe(prefix []byte, on bool) error {
	s := t.s
	if s.closed.Load() {
		return ErrClosed
	}
	// With no pipe listed, one lock: no peer has the subscriptions to be
	// told, and a peer attached later takes them under s.mu after this.
	s.mu.Lock()
	if len(*s.pipes.Load()) == 0 {
		old, now := t.changeLocked(prefix, on)
		if t.filters && (old == 0) != (now == 0) {
			t.snapshotLocked()
		}
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.mu.Lock()
	old, now := t.changeLocked(prefix, on)
	if t.filters && (old == 0) != (now == 0) {
		t.snapshotLocked()
	}
	s.mu.Unlock()
	if (old == 0) != (now == 0) && len(*s.pipes.Load()) > 0 {
		forceAll(s, subMsg(prefix, on))
	}
	return nil
}

// snapshotLocked publishes the filter after a prefix was added to own or
// removed from it: while own holds at most smallSubs prefixes a list of
// them (the HasPrefix loop), else own itself (changed in place, replaced
// whole when compacted). Caller holds s.mu.
func (t *subscriber) snapshotLocked() {
	if t.own.distinct <= smallSubs {
		f := newSubSet()
		t.own.each(func(p []byte, _ int) { f.add(p, 1) })
		t.filter.Store(f)
		return
	}
	if t.filter.Load().trie != t.own {
		t.filter.Store(&subSet{trie: t.own})
	}
}

func (t *subscriber) attachLocked(*pipe, []byte) ([]Msg, error) {
	subs := make([]Msg, 0, t.own.distinct)
	t.own.each(func(p []byte, _ int) { subs = append(subs, subMsg(p, true)) })
	return subs, nil
}

// change counts one reference more (on) or less to prefix, reporting the
// count before and after. Caller holds s.mu.
func (t *subscriber) changeLocked(prefix []byte, on bool) (old, now int) {
	d := -1
	if on {
		d = 1
	}
	old, now = t.own.add(prefix, d)
	if old > 0 && now == 0 { // the caller publishes the filter again
		t.cut.Store(true)
		t.own = t.own.compacted()
	}
	return old, now
}

// sub keeps what matches its subscriptions.
type sub struct{ subscriber }

func (t *sub) deliver(p *pipe, m Msg, w chan struct{}) pushResult {
	if len(m) == 0 || !t.filter.Load().match(m[0]) {
		return pushOK
	}
	return t.s.enqueueIn(p, m, false, w)
}

func (t *sub) recv(ctx context.Context) (Msg, error) {
	s := t.s
	for {
		it, err := s.next(ctx)
		if err != nil {
			return nil, s.recvErr(err)
		}
		if t.cut.Load() && !t.filter.Load().match(it.m[0]) {
			continue // subscription removed since it was queued
		}
		return s.counted(it.m), nil
	}
}

// xsub sends subscriptions as messages and passes everything it gets.
type xsub struct{ subscriber }

func (t *xsub) send(_ context.Context, m Msg) error {
	s := t.s
	if !isSubMsg(m) {
		dist(s, m, false, "upstream at high-water mark")
		return nil
	}
	on := m[0][0] == 1
	s.subMu.Lock()
	s.mu.Lock()
	old, _ := t.changeLocked(m[0][1:], on)
	s.mu.Unlock()
	if on || old > 0 { // libzmq forwards every subscribe, a cancel only if known
		forceAll(s, m)
	}
	s.subMu.Unlock()
	return nil
}

func (t *xsub) recv(ctx context.Context) (Msg, error) { return t.recvAny(ctx) }
