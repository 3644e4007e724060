package socket

import (
	"sync"
	"sync/atomic"
)

// spscChunk is one block of a spsc queue's slots.
type spscChunk struct {
	msgs [spscChunkLen]Msg
	rel  [spscChunkLen]bool // outbound (mq's single-producer mode): release once written
	// inl holds the messages pushCopy copied in (SendCopy), made with the
	// first of them and kept while the chunk is recycled: msgs[i] is then
	// inl[i].hdr[:], a Msg in the chunk's own memory.
	inl  *[spscChunkLen]inlineSlot
	next atomic.Pointer[spscChunk]
}

// inlineMax is the largest single-frame message SendCopy copies into an
// outbound queue's slot (libzmq keeps messages up to 33 bytes inside its
// zmq_msg_t in the same way); a slot is then one cache line.
const inlineMax = 40

// inlineSlot is one copied-in message: its frame header and bytes.
type inlineSlot struct {
	hdr [1][]byte
	b   [inlineMax]byte
}

const (
	spscChunkLen = 128
	spscSpares   = 8 // chunks (3 KiB each) a queue keeps for reuse
)

// spsc is the inbound queue of an inproc pipe: exactly one producer (the
// peer socket's Send, serialised by the peer's sendMu) and one consumer (this
// socket's Recv). It is lock-free on the message path, in the manner of
// libzmq's ypipe: the producer writes a slot and publishes a count; the
// consumer reads everything published since it last looked in one go. The
// message path costs the producer one atomic store per message and the
// consumer one atomic load and store per batch, where a mutex-guarded queue
// makes the two cores trade the lock's cache line on every message.
//
// Its semantics match mq's for an inbound pipe: a high-water mark counted
// over messages published and not yet seen by the consumer (what the
// consumer has looked at no longer counts, as mq's swapped-out batch does
// not), activation when the queue becomes readable, and a space signal for a
// producer refused at the mark.
type spsc struct {
	// Producer-owned.
	tail   *spscChunk
	tpos   int
	pushes uint64 // messages published (producer's own copy of pushed)
	room   uint64 // taken as last loaded by the producer
	// byteCap > 0 (the producer's Send blocks, see outByteBound): the
	// queue also counts as full while byteCap or more bytes of large
	// messages wait that the consumer has not taken; largeIn and largeOut
	// are the bytes of large messages pushed and taken.
	byteCap int64
	largeIn atomic.Int64
	_       cacheLinePad

	pushed atomic.Uint64 // messages published; written by the producer
	_      cacheLinePad

	// Consumer-owned.
	head     *spscChunk
	hpos     int
	pops     uint64 // messages taken
	seen     uint64 // pushed as last loaded
	_        cacheLinePad
	taken    atomic.Uint64 // seen, published for the producer's HWM check
	largeOut atomic.Int64  // written by the consumer only
	cbyteCap int64         // byteCap, for the consumer: read on its own line
	// written: the consumer counts a large message out of the byte bound
	// once it has written it (tookLarge, called by mq.written), not when
	// it takes it: an outbound queue's bound is on bytes not yet written.
	written bool
	_       cacheLinePad

	active    atomic.Bool // registered as readable with the socket
	wantSpace atomic.Bool // the producer was refused at the mark
	// spare holds chunks the consumer is done with, for the producer's
	// next ones: several, as the consumer runs up to a high-water mark's
	// worth of chunks behind and then frees them in a burst (one slot,
	// as libzmq's yqueue has, dropped all but one of them, and the
	// producer allocated a 3 KiB chunk per 128 messages, 24 B a message).
	spare [spscSpares]atomic.Pointer[spscChunk]
	cap   int // <= 0: unbounded

	mu     sync.Mutex    // guards spaceW
	spaceW chan struct{} // signalled when space frees after a refusal
}

// newSPSC returns an empty queue; its first chunk is allocated by the first
// push, so an idle inproc pipe costs no slots.
func newSPSC(capacity int) *spsc {
	return &spsc{tpos: spscChunkLen, cap: capacity}
}

// push appends m (producer only). Unless force is set, it refuses with
// pushFull while the queue holds cap messages the consumer has not yet seen,
// and then signals w once space frees. activated reports that the queue
// just became readable and must be announced to the consumer.
func (q *spsc) push(m Msg, force bool, w chan struct{}) (r pushResult, activated bool) {
	return q.pushRel(m, false, force, w)
}

// pushRel is push that records rel with m (outbound queues: give m's
// frames to the pool once written), returned by tryPopRel.
func (q *spsc) pushRel(m Msg, rel, force bool, w chan struct{}) (r pushResult, activated bool) {
	var large int64
	if q.byteCap > 0 {
		large = largeSize(m)
	}
	if !force && (q.cap > 0 && q.pushes-q.room >= uint64(q.cap) || large > 0) && !q.admit(large, w) {
		return pushFull, false
	}
	if large > 0 {
		q.largeIn.Add(large)
	}
	if q.tpos == spscChunkLen {
		q.nextChunk()
	}
	q.tail.msgs[q.tpos] = m
	if rel { // chunks are zeroed when recycled: inproc never writes here
		q.tail.rel[q.tpos] = true
	}
	return pushOK, q.publish()
}

// pushCopy is push of a copy of the one-frame message f, at most inlineMax
// bytes, into the queue's own memory (SendCopy's outbound queues): the
// consumer's Msg is valid until its next tryPopRel. Producer only.
func (q *spsc) pushCopy(f []byte, force bool, w chan struct{}) (r pushResult, activated bool) {
	if !force && q.cap > 0 && q.pushes-q.room >= uint64(q.cap) && !q.admit(0, w) {
		return pushFull, false
	}
	if q.tpos == spscChunkLen {
		q.nextChunk()
	}
	c := q.tail
	if c.inl == nil {
		c.inl = new([spscChunkLen]inlineSlot)
	}
	sl := &c.inl[q.tpos]
	n := copy(sl.b[:], f)
	sl.hdr[0] = sl.b[:n:n]
	c.msgs[q.tpos] = sl.hdr[:]
	return pushOK, q.publish()
}

// admit reports whether a push (not forced) of a message with large bytes
// of large frames may go in, once the producer's copy of taken says the
// queue may be at its mark or the message is large: not while the queue
// holds cap messages the consumer has not seen or byteCap bytes of large
// ones; a refused push registers w, to be signalled once space frees.
// Producer only.
func (q *spsc) admit(large int64, w chan struct{}) bool {
	if q.cap > 0 && q.pushes-q.reloadRoom() >= uint64(q.cap) || large > 0 && q.bytesFull() {
		q.mu.Lock()
		q.spaceW = w
		q.mu.Unlock()
		q.wantSpace.Store(true)
		if q.cap > 0 && q.pushes-q.reloadRoom() >= uint64(q.cap) || large > 0 && q.bytesFull() {
			return false
		}
		// The consumer made room meanwhile and may not have seen wantSpace.
		q.wantSpace.Store(false)
	}
	return true
}

// nextChunk moves the producer to a spare or new chunk, the tail being
// full. Producer only.
func (q *spsc) nextChunk() {
	var c *spscChunk
	for i := range q.spare {
		if c = q.spare[i].Swap(nil); c != nil {
			break
		}
	}
	if c == nil {
		c = &spscChunk{}
	}
	if q.tail == nil {
		q.head = c // the first chunk; published to the consumer by publish
	} else {
		q.tail.next.Store(c)
	}
	q.tail, q.tpos = c, 0
}

// publish makes the slot just written visible to the consumer and reports
// whether the queue just became readable. Producer only.
func (q *spsc) publish() (activated bool) {
	q.tpos++
	q.pushes++
	q.pushed.Store(q.pushes)
	return !q.active.Load() && q.active.CompareAndSwap(false, true)
}

// heldByBytes reports whether a push refused now would be refused for the
// byte bound alone, with fewer than cap messages waiting (producer only).
func (q *spsc) heldByBytes() bool {
	return q.byteCap > 0 && q.bytesFull() && (q.cap <= 0 || q.pushes-q.reloadRoom() < uint64(q.cap))
}

// bytesFull reports whether byteCap or more bytes of large messages wait
// (producer only; never with none waiting, so a message larger than the
// bound still goes, alone).
func (q *spsc) bytesFull() bool {
	return q.largeIn.Load()-q.largeOut.Load() >= q.byteCap
}

// counts returns the messages pushed so far and how many wait that the
// consumer has not seen, as mq.counts. Safe from any goroutine.
func (q *spsc) counts() (pushed uint64, depth int) {
	taken := q.taken.Load()
	pushed = q.pushed.Load()
	if pushed < taken {
		return taken, 0
	}
	return pushed, int(pushed - taken)
}

// reloadRoom refreshes the producer's copy of taken (producer only): it is
// read only when the copy says the queue is full, so the producer does not
// fetch the consumer's cache line on every message.
func (q *spsc) reloadRoom() uint64 {
	q.room = q.taken.Load()
	return q.room
}

// avail reports whether messages are waiting (consumer only).
func (q *spsc) avail() bool {
	return q.pops != q.seen || q.pushed.Load() != q.seen
}

// tryPop returns the next message without waiting (consumer only).
func (q *spsc) tryPop() (Msg, bool) {
	m, _, ok := q.tryPopRel()
	return m, ok
}

// tryPopRel is tryPop that also returns what pushRel recorded with the
// message (consumer only).
func (q *spsc) tryPopRel() (m Msg, rel, ok bool) {
	if q.pops == q.seen {
		n := q.pushed.Load()
		if n == q.seen {
			return nil, false, false
		}
		q.seen = n
		q.taken.Store(n)
		if q.wantSpace.Load() && q.wantSpace.CompareAndSwap(true, false) {
			q.mu.Lock()
			if q.spaceW != nil {
				signal(q.spaceW)
			}
			q.mu.Unlock()
		}
	}
	if q.hpos == spscChunkLen {
		next := q.head.next.Load()
		// The producer has moved on to next for good: recycle head.
		clear(q.head.msgs[:])
		clear(q.head.rel[:])
		q.head.next.Store(nil)
		for i := range q.spare {
			if q.spare[i].CompareAndSwap(nil, q.head) {
				break
			}
		}
		q.head, q.hpos = next, 0
	}
	m, rel = q.head.msgs[q.hpos], q.head.rel[q.hpos]
	q.hpos++
	q.pops++
	if q.cbyteCap > 0 && !q.written {
		q.tookLarge(m)
	}
	return m, rel, true
}

// tookLarge counts m out of the byte bound if it is large and wakes a
// producer waiting for room once less than half the bound waits (a
// low-water mark: one wake per half of the bound, not per message).
// Consumer only.
func (q *spsc) tookLarge(m Msg) {
	n := largeSize(m)
	if n == 0 {
		return
	}
	held := q.largeIn.Load() - q.largeOut.Add(n)
	if held < q.cbyteCap/2 && q.wantSpace.Load() && q.wantSpace.CompareAndSwap(true, false) {
		q.mu.Lock()
		if q.spaceW != nil {
			signal(q.spaceW)
		}
		q.mu.Unlock()
	}
}

// deactivate marks the queue unreadable if it is empty (consumer only, after
// tryPop failed) and reports whether it did; false means it is still
// readable and stays with the consumer. If the producer announces it again
// meanwhile, the announcement brings it back.
func (q *spsc) deactivate() bool {
	q.active.Store(false)
	if q.pushed.Load() == q.seen {
		return true
	}
	// A message arrived after all: take the queue back unless its producer
	// already announced it anew.
	return !q.active.CompareAndSwap(false, true)
}
