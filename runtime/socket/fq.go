package socket

import (
	"context"
	"fmt"
	"sync/atomic"
)

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
