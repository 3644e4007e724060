package socket

import "sync/atomic"

// mq's single-producer mode: the outbound queue of a tcp/ipc pipe whose
// only producer is Send (every socket type but SUB and XSUB, whose
// Subscribe and attach also queue subscriptions, from other goroutines,
// and PULL, which never sends).
// The queue is then a spsc (spsc.go), lock-free on the message path as an
// inproc pipe is: Send writes a slot and publishes a count, the writer
// goroutine takes everything published in one go. A mutex-guarded mq
// makes Send take and release its lock once per message, which was a
// fifth of a 16 B PUSH's CPU.
//
// The writer's side keeps mq's protocol: park reports whether the queue is
// empty and, if so, marks it so that the next push wakes the writer
// (q.wake) and starts one if none runs (q.kick); spsc's activation is
// that mark. Large messages leave the byte bound once written (written),
// and SendRelease's mark travels with each message (pushRel, tryPopRel).

// spOut is an outbound queue in single-producer mode: the spsc, what a
// message sent with SendRelease carries as item.p (its pipe), and close's
// flag. Apart from mq so that queues in the other mode stay as small.
type spOut struct {
	q      *spsc
	rel    *pipe
	closed atomic.Bool
}

// newSPQueue makes an outbound queue in single-producer mode for s's pipe
// p (the bound, the byte bound as newOutQueue's).
func (s *Socket) newSPQueue(p *pipe) *mq {
	q := newMQ(s.opt.SendHWM)
	sp := newSPSC(s.opt.SendHWM)
	sp.written = true
	if s.tr.byteBound && sp.cap > 0 { // SendHWM -1: unbounded, bytes too
		sp.byteCap, sp.cbyteCap = outByteBound, outByteBound
	}
	q.sp = &spOut{q: sp, rel: p}
	return q
}

// spPush is push in single-producer mode (Send only).
func (q *mq) spPush(it item, force bool, w chan struct{}) pushResult {
	if q.sp.closed.Load() {
		return pushClosed
	}
	r, activated := q.sp.q.pushRel(it.m, it.p != nil, force, w)
	if r != pushOK {
		return r
	}
	if activated {
		signal(q.wake)
		if q.kick != nil {
			q.kick()
		}
	}
	return pushOK
}

// pushCopy queues a copy of the one-frame message f (at most inlineMax
// bytes) in the queue's own memory and reports false, queueing nothing,
// when the queue is not in single-producer mode (SendCopy then copies f
// into a buffer of its own). Send only.
func (q *mq) pushCopy(f []byte, w chan struct{}) (pushResult, bool) {
	if q.sp == nil {
		return 0, false
	}
	if q.sp.closed.Load() {
		return pushClosed, true
	}
	r, activated := q.sp.q.pushCopy(f, false, w)
	if activated {
		signal(q.wake)
		if q.kick != nil {
			q.kick()
		}
	}
	return r, true
}

// spTryPop is tryPop in single-producer mode (the writer, under c.wmu).
func (q *mq) spTryPop() (item, bool) {
	m, rel, ok := q.sp.q.tryPopRel()
	if !ok {
		return item{}, false
	}
	it := item{m: m}
	if rel {
		it.p = q.sp.rel
	}
	return it, true
}

// spPark is park in single-producer mode: true when the queue is empty
// and the next push will wake the writer.
func (q *mq) spPark() bool {
	return !q.sp.closed.Load() && q.sp.q.deactivate()
}

// spClose is close in single-producer mode: pushes are refused from now
// on, and the writer and a Send waiting for room are woken.
func (q *mq) spClose() {
	q.sp.closed.Store(true)
	signal(q.wake)
	sp := q.sp.q
	sp.mu.Lock()
	if sp.spaceW != nil {
		signal(sp.spaceW)
	}
	sp.mu.Unlock()
	if q.kick != nil {
		q.kick()
	}
}
