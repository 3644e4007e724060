package socket

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// pattern is what a socket type does: one value per socket, chosen once by
// newPattern (the only place that looks at the type), built on the shared
// policies below (lb round-robin, fq fair-queue, dist fan-out) and on
// subSet. The Socket shell calls it and knows no type.
type pattern interface {
	// send is Send's body (the caller holds s.sendMu; m has a frame).
	send(ctx context.Context, m Msg) error
	// recv is Recv's body (the caller holds s.recvMu).
	recv(ctx context.Context) (Msg, error)
	// deliver takes m from peer p; see Socket.deliver.
	deliver(p *pipe, m Msg, w chan struct{}) pushResult
	// attachLocked admits p, whose peer announced peerID, or refuses it;
	// it returns what to send p first (subscriptions). Caller holds s.mu.
	attachLocked(p *pipe, peerID []byte) ([]Msg, error)
	// detachLocked forgets p and returns what to queue for Recv on p's
	// behalf (an XPUB's cancels). Caller holds s.mu.
	detachLocked(p *pipe) []Msg
	// subscribe changes one of the socket's own subscriptions.
	subscribe(prefix []byte, on bool) error
}

// sendsData reports whether Send puts application messages on s's
// connections: every type but PULL (no Send) and SUB (only its
// subscriptions, queued by Subscribe and attach). The outbound queue's
// single-producer mode and the direct writes of idleWrite and
// tryWriteLarge apply to these only.
func (s *Socket) sendsData() bool { return s.typ != PULL && s.typ != SUB }

// traits are the fixed facts about a socket type that the pipe, the
// connection engine and the transports act on.
type traits struct {
	// direct: Send writes small messages straight to the connection and
	// Recv reads it itself (direct.go).
	direct bool
	// publisher: peers send subscriptions (PUB, XPUB); their messages are
	// delivered one by one, never in batches.
	publisher bool
	// subscriber: the socket's own subscriptions go to every peer on
	// attach, so a reconnecting pipe's old queue is dropped (SUB, XSUB).
	subscriber bool
	// lazyPipe: a Connect makes its pipe when the handshake completes,
	// not at once (ROUTER, PUB, XPUB).
	lazyPipe bool
	// filter, if set, is what a connection's reader keeps (SUB).
	filter *atomic.Pointer[subSet]
	// canRecv: Recv is allowed (Type.CanRecv).
	canRecv bool
	// byteBound: Send blocks at the high-water mark (it never drops), and
	// an outbound queue also counts as full while it holds outByteBound
	// bytes of large messages not yet written (queue.go).
	byteBound bool
}

// newPattern returns the behaviour of socket type t for s: the only switch
// on the socket type.
func newPattern(s *Socket, t Type) (pattern, traits) {
	switch t {
	case PUSH:
		return padded[push](s), traits{byteBound: true}
	case PULL:
		return padded[pull](s), traits{}
	case PAIR:
		return padded[pair](s), traits{byteBound: true}
	case DEALER:
		return padded[dealer](s), traits{byteBound: true}
	case REQ:
		return padded[req](s), traits{direct: true, byteBound: true}
	case REP:
		return padded[rep](s), traits{direct: true}
	case ROUTER:
		r := padded[router](s)
		r.byID = map[string]*pipe{}
		return r, traits{lazyPipe: true}
	case PUB:
		return padded[pub](s), traits{publisher: true, lazyPipe: true}
	case XPUB:
		x := padded[xpub](s)
		x.subs = newSubSet()
		return x, traits{publisher: true, lazyPipe: true}
	case SUB:
		u := padded[sub](s)
		u.own, u.filters = &prefixTrie{}, true
		u.filter.Store(&subSet{})
		return u, traits{subscriber: true, filter: &u.filter}
	default: // XSUB (NewSocket accepts only the eleven types)
		x := padded[xsub](s)
		x.own = &prefixTrie{}
		return x, traits{subscriber: true}
	}
}

// padded allocates a pattern of type T for s on cache lines of its own:
// Send and Recv write its state on every message, and another object
// sharing its line would slow them both.
func padded[T any, P interface {
	*T
	setSocket(*Socket)
}](s *Socket) P {
	v := &struct {
		_ cacheLinePad
		t T
		_ cacheLinePad
	}{}
	p := P(&v.t)
	p.setSocket(s)
	return p
}

// base is the default of every pattern method: a type embeds it and
// overrides what it does differently.
type base struct{ s *Socket }

func (b *base) setSocket(s *Socket) { b.s = s }

func (b base) send(context.Context, Msg) error {
	return fmt.Errorf("socket %s: send: %w", b.s.typ, ErrNotSupported)
}

func (b base) recv(context.Context) (Msg, error) {
	return nil, fmt.Errorf("socket %s: recv: %w", b.s.typ, ErrNotSupported)
}

// deliver queues m for Recv.
func (b base) deliver(p *pipe, m Msg, w chan struct{}) pushResult {
	return b.s.enqueueIn(p, m, false, w)
}

func (base) attachLocked(*pipe, []byte) ([]Msg, error) { return nil, nil }

func (base) detachLocked(*pipe) []Msg { return nil }

func (b base) subscribe([]byte, bool) error {
	return fmt.Errorf("socket %s: subscribe: %w", b.s.typ, ErrNotSupported)
}

// recvAny returns the next message as it came (fair-queued).
func (b base) recvAny(ctx context.Context) (Msg, error) {
	s := b.s
	it, err := s.next(ctx)
	if err != nil {
		return nil, s.recvErr(err)
	}
	return s.counted(it.m), nil
}

// ---- lb: round-robin ----

// lb sends each message to the next pipe in turn that has room, blocking
// while every pipe is full. Send side only.
type lb struct{ rr int }

func (l *lb) send(s *Socket, ctx context.Context, m Msg) (*pipe, error) {
	var blocked blockClock
	for {
		ps := *s.pipes.Load()
		n := len(ps)
		for i := 0; i < n; i++ {
			j := l.rr + i
			if j >= n {
				j -= n
			}
			p := ps[j]
			r := p.trySend(m, s.sendWake, s.relSend)
			if r == pushOK {
				l.rr = j + 1
				if l.rr >= n {
					l.rr = 0
				}
				blocked.stop(s)
				return p, nil
			}
			// A pipe full only for the byte bound keeps its turn: Send
			// waits for it (it registered s.sendWake), as libzmq, which
			// counts messages alone, would give it this message. Passing
			// it over made the peers' shares uneven whenever large
			// messages were among small ones.
			if r == pushFull && p.heldByBytes() {
				break
			}
		}
		if n > 0 {
			blocked.start()
		}
		s.flushOut() // about to block: make Stats exact meanwhile
		s.sendSpin.poll(s.sendWoken)
		select {
		case <-s.sendWake:
		case <-ctx.Done():
			blocked.stop(s)
			return nil, fmt.Errorf("socket %s: send: %w", s.typ, ctx.Err())
		case <-s.closing:
			blocked.stop(s)
			return nil, ErrClosed
		}
	}
}

// blockClock times a Send that waits at the high-water mark
// (Stats.SendBlocked): the zero value reads no clock, so a Send that does
// not wait pays nothing.
type blockClock struct{ t0 time.Time }

// start notes the wait's start, once.
func (b *blockClock) start() {
	if b.t0.IsZero() {
		b.t0 = time.Now()
	}
}

// stop adds the wait, if any, to s's SendBlocked.
func (b *blockClock) stop(s *Socket) {
	if !b.t0.IsZero() {
		s.st.sendBlocked.Add(int64(time.Since(b.t0)))
		b.t0 = time.Time{}
	}
}

// ---- fq: fair queue ----

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

// ---- dist: fan-out ----

// dist sends m to every pipe (bySubs: every pipe whose peer subscribed to
// a prefix of m's first frame), never blocking: a pipe at its high-water
// mark drops m and counts it (why).
func dist(s *Socket, m Msg, bySubs bool, why string) {
	for _, p := range *s.pipes.Load() {
		if bySubs && !p.subMatch(m[0]) {
			continue
		}
		if p.trySend(m, nil, false) == pushFull {
			s.drop(p, why)
		}
	}
}

// forceAll sends m to every connected peer, past the high-water mark
// (subscriptions).
func forceAll(s *Socket, m Msg) {
	for _, p := range *s.pipes.Load() {
		if p.connected.Load() {
			p.sendForce(m)
		}
	}
}
