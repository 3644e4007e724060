package socket

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// item is one queued message and, inbound, the pipe it came from. On an
// outbound queue p is nil, or the pipe itself to mark a message sent with
// SendRelease, whose frames the connection gives to the pool once written
// (a pointer rather than a flag keeps item at two words on the hot path).
type item struct {
	m Msg
	p *pipe
}

type pushResult int

const (
	pushOK pushResult = iota
	pushFull
	pushClosed
	pushRefused // a subscription past the peer's budget: disconnect it
)

// mq is a bounded multi-producer, single-consumer message queue with batched
// hand-off: producers append to a shared slice under a mutex; the consumer
// swaps the whole slice out at once and then pops without locking. The
// consumer (one goroutine at a time) owns local, head, lsegs and spent.
//
// A backlog (an unbounded queue whose consumer falls behind: a SUB under a
// flat-out PUB) is kept in segments of segItems rather than one slice: a
// slice grown by append copies everything queued at every doubling, and
// with a hundred such queues in one process those copies (and the garbage
// they leave) were a quarter of the receiving side's CPU. Producers fill
// items up to segItems, then move it to segs and start another segment,
// from free (segments the consumer finished and handed back) when there is
// one. While batches stay under segItems (every stream that keeps up) segs
// stays empty and the queue works as a pair of swapped slices.
type mq struct {
	mu      sync.Mutex
	items   []item   // the tail segment producers append to
	segs    [][]item // full segments ahead of items, oldest first
	n       int      // messages in segs and items
	free    [][]item // empty segments for producers to reuse (at most maxFreeSegs)
	cap     int      // <= 0: unbounded
	closed  bool
	waiting bool            // the consumer is parked on wake
	wake    chan struct{}   // cap 1: wakes the consumer
	spaceW  []chan struct{} // producers to signal when space frees
	active  bool            // inbound pipe queue: registered as readable with its socket
	avail   atomic.Bool     // items is not empty or the queue is closed; read by spin
	pushed  uint64          // messages pushed that were not forced (Stats.Edges)
	// kick, if set, is called (without q.mu) after wake was signalled for
	// a consumer that had parked: an outbound queue's consumer is a
	// writer goroutine that is not kept while it has nothing to write,
	// and kick starts one (conn.kickWriter). Set before the queue is
	// shared.
	kick func()
	// byteCap > 0 (outbound queues of sockets whose Send blocks, see
	// outByteBound): the queue also counts as full while large holds
	// byteCap or more; large is the bytes of large messages pushed and not
	// yet written (the writer's written), producers add under mu.
	byteCap int64
	large   atomic.Int64
	// sp, when set, is the queue: mq's single-producer mode (queue_sp.go),
	// for an outbound queue whose only producer is Send. Every method
	// below delegates to it.
	sp *spOut

	_     [64]byte // keep the consumer's fields off the producers' cache line
	local []item   // consumer-owned batch (its current segment)
	wcap  int64    // byteCap, for written: read on the consumer's own line
	head  int
	lsegs [][]item // the batch's segments after local; lsegs[:lsegI] are taken
	lsegI int
	spent [][]item // finished segments, emptied, handed to free at the next swap
	_     [64]byte
}

// segItems is the size of a backlog segment (8 KiB of items).
const segItems = 256

// maxFreeSegs bounds the empty segments a queue keeps for reuse (512 KiB).
const maxFreeSegs = 64

func newMQ(capacity int) *mq {
	return &mq{cap: capacity, wake: make(chan struct{}, 1)}
}

// outByteBound is how many bytes of large messages an outbound queue of a
// socket whose Send blocks at the high-water mark (PUSH, DEALER, PAIR, REQ)
// holds unwritten before it counts as full, whatever a bounded SendHWM
// allows (an unbounded one, -1, leaves bytes unbounded too):
// always at least one message, so a message larger than the bound still
// goes, alone. A message is large from largeMsgMin bytes. Without the
// bound a sender of 1 MiB messages ran up to 2×SendHWM (2,000) of them,
// 2 GB, ahead of its connection: every buffer it filled was memory the
// process had to fault in and the cache had long lost by the time the
// connection wrote it (issue 16: 40,000 page faults per 600 messages of 1
// MiB, where raw Go, writing one buffer, has 1,100). Small messages are
// not counted (no shared counter on their path), so SendHWM alone bounds a
// stream of them.
const outByteBound = 1 << 20

// largeMsgMin is the smallest message outByteBound counts.
const largeMsgMin = 32 << 10

// newOutQueue makes the outbound queue of s's tcp/ipc pipe p: in
// single-producer mode (queue_sp.go) when Send is its only producer and
// puts data on it (sendsData; XSUB's subscriptions come from other
// goroutines too, and a spsc is 480 bytes more per idle connection, of
// which a PULL may hold thousands).
func (s *Socket) newOutQueue(p *pipe) *mq {
	if s.sendsData() && !s.tr.subscriber {
		return s.newSPQueue(p)
	}
	q := newMQ(s.opt.SendHWM)
	if s.tr.byteBound && q.cap > 0 { // SendHWM -1: unbounded, bytes too
		q.byteCap, q.wcap = outByteBound, outByteBound
	}
	return q
}

// heldByBytes reports whether the queue counts as full for its byte bound
// alone, with fewer than cap messages in it.
func (q *mq) heldByBytes() bool {
	if q.sp != nil {
		return q.sp.q.heldByBytes()
	}
	if q.byteCap <= 0 || q.large.Load() < q.byteCap {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cap <= 0 || q.n < q.cap
}

// largeSize is m's size if it is at least largeMsgMin bytes, else 0.
func largeSize(m Msg) int64 {
	n := 0
	for _, f := range m {
		n += len(f)
	}
	if n < largeMsgMin {
		return 0
	}
	return int64(n)
}

// written records that the consumer has written m, which it popped: for a
// large message, bytes leave the byte bound, and producers waiting for
// room are signalled once less than half of it is held (a low-water mark,
// so that a sender at the bound is woken once per half of it rather than
// once per message). Consumer only.
func (q *mq) written(m Msg) {
	if q.sp != nil {
		if q.sp.q.cbyteCap > 0 {
			q.sp.q.tookLarge(m)
		}
		return
	}
	if q.wcap <= 0 {
		return
	}
	n := largeSize(m)
	if n == 0 {
		return
	}
	if v, lw := q.large.Add(-n), q.wcap/2; v < lw && v+n >= lw {
		q.mu.Lock()
		for _, w := range q.spaceW {
			signal(w)
		}
		q.spaceW = q.spaceW[:0]
		q.mu.Unlock()
	}
}

// appendLocked appends its to the tail, starting a new segment whenever the
// tail holds segItems. Caller holds q.mu.
func (q *mq) appendLocked(its ...item) {
	if len(its) == 1 && len(q.items) < cap(q.items) {
		q.n++
		q.items = append(q.items, its[0]) // one message, room in the tail: no segment to start
		return
	}
	q.n += len(its)
	for len(its) > 0 {
		if len(q.items) == cap(q.items) && cap(q.items) >= segItems {
			q.segs = append(q.segs, q.items)
			if k := len(q.free); k > 0 {
				q.items, q.free[k-1] = q.free[k-1], nil
				q.free = q.free[:k-1]
			} else {
				q.items = make([]item, 0, segItems)
			}
		}
		k := len(its)
		if c := cap(q.items); c >= segItems {
			k = min(k, c-len(q.items))
		} else {
			k = min(k, segItems-len(q.items))
		}
		q.items = append(q.items, its[:k]...)
		its = its[k:]
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// push appends it without blocking. force ignores the bound. When the queue
// is full and w is not nil, w is signalled once space frees.
func (q *mq) push(it item, force bool, w chan struct{}) pushResult {
	if q.sp != nil {
		return q.spPush(it, force, w)
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return pushClosed
	}
	if q.fullLocked(force, w) {
		q.mu.Unlock()
		return pushFull
	}
	q.appendLocked(it)
	if !force {
		q.pushed++
	}
	if q.byteCap > 0 {
		if n := largeSize(it.m); n > 0 {
			q.large.Add(n)
		}
	}
	q.markAvail()
	woke := q.waiting
	if woke {
		q.waiting = false
		signal(q.wake)
	}
	q.mu.Unlock()
	if woke && q.kick != nil {
		q.kick()
	}
	return pushOK
}

// fullLocked reports whether a push that is not forced must be refused
// because the queue is at its cap; if so it registers w (when not nil) to be
// signalled once space frees. Caller holds q.mu.
func (q *mq) fullLocked(force bool, w chan struct{}) bool {
	if force || (q.cap <= 0 || q.n < q.cap) && (q.byteCap <= 0 || q.large.Load() < q.byteCap) {
		return false
	}
	q.addSpaceWaiterLocked(w)
	return true
}

// addSpaceWaiterLocked registers w (if not nil) to be signalled once space
// frees. Caller holds q.mu.
func (q *mq) addSpaceWaiterLocked(w chan struct{}) {
	if w != nil && !slices.Contains(q.spaceW, w) {
		q.spaceW = append(q.spaceW, w)
	}
}

// pushActivate is push for an inbound pipe queue; activated reports that the
// queue just became readable and must be announced to the consumer.
func (q *mq) pushActivate(it item, force bool, w chan struct{}) (r pushResult, activated bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return pushClosed, false
	}
	if q.fullLocked(force, w) {
		q.mu.Unlock()
		return pushFull, false
	}
	q.appendLocked(it)
	if !force {
		q.pushed++
	}
	q.markAvail()
	if !q.active {
		q.active = true
		activated = true
	}
	q.mu.Unlock()
	return pushOK, activated
}

// pushBatch appends as many of its as fit under the bound (all of them when
// unbounded) and reports how many, whether the queue became readable, and
// whether it is closed. When none fit and w is not nil, w is signalled once
// space frees.
func (q *mq) pushBatch(its []item, w chan struct{}) (n int, activated, closed bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, false, true
	}
	n = len(its)
	if q.cap > 0 {
		n = min(n, q.cap-q.n)
	}
	if n <= 0 {
		q.addSpaceWaiterLocked(w)
		q.mu.Unlock()
		return 0, false, false
	}
	q.appendLocked(its[:n]...)
	q.pushed += uint64(n)
	q.markAvail()
	if !q.active {
		q.active = true
		activated = true
	}
	q.mu.Unlock()
	return n, activated, false
}

// counts returns the messages pushed unforced so far and how many wait
// in the queue, not counting the batch the consumer has already taken
// (what the high-water mark is counted over). Safe from any goroutine.
func (q *mq) counts() (pushed uint64, depth int) {
	if q.sp != nil {
		return q.sp.q.counts()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pushed, q.n
}

// deactivate marks an inbound queue unreadable if it is empty (consumer
// only, after tryPop failed) and reports whether it did.
func (q *mq) deactivate() bool {
	if q.head < len(q.local) {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n > 0 {
		return false
	}
	q.active = false
	return true
}

// maxKeptBatch is the largest batch slice a bounded queue keeps for reuse
// (an unbounded one streams large batches and keeps its slices).
const maxKeptBatch = 16 << 10

// tryPop returns the next item without waiting. Consumer only.
func (q *mq) tryPop() (item, bool) {
	if q.sp != nil {
		return q.spTryPop()
	}
	if q.head < len(q.local) {
		it := q.local[q.head]
		q.head++
		if q.head == len(q.local) {
			q.nextLocal()
		}
		return it, true
	}
	if !q.avail.Load() {
		return item{}, false // nothing pending (producers set avail under q.mu)
	}
	q.mu.Lock()
	if q.n == 0 {
		q.mu.Unlock()
		return item{}, false
	}
	if len(q.segs) == 0 {
		q.local, q.items = q.items, q.local[:0] // local was released: empty
	} else {
		// A backlog: take every segment; the producers start on the
		// released local (or a free segment once it fills).
		q.segs = append(q.segs, q.items)
		q.items = q.local[:0]
		q.lsegs, q.segs = q.segs, q.lsegs[:0]
		q.local, q.lsegs[0] = q.lsegs[0], nil
		q.lsegI = 1
		for _, sg := range q.spent {
			if len(q.free) >= maxFreeSegs {
				break
			}
			q.free = append(q.free, sg)
		}
		clear(q.spent)
		q.spent = q.spent[:0]
	}
	q.n = 0
	q.avail.Store(q.closed)
	q.head = 0
	for _, w := range q.spaceW {
		signal(w)
	}
	q.spaceW = q.spaceW[:0]
	q.mu.Unlock()
	it := q.local[0]
	q.head = 1
	if q.head == len(q.local) {
		q.nextLocal()
	}
	return it, true
}

// nextLocal moves the consumer to the batch's next segment once local is
// popped to its end, or releases the batch after its last. Consumer only.
func (q *mq) nextLocal() {
	if q.lsegI >= len(q.lsegs) {
		q.releaseLocal()
		return
	}
	clear(q.local)
	if cap(q.local) == segItems {
		q.spent = append(q.spent, q.local[:0])
	}
	q.local, q.lsegs[q.lsegI] = q.lsegs[q.lsegI], nil
	q.lsegI++
	q.head = 0
}

// releaseLocal empties the consumer's batch once its last item is popped,
// so that the messages it held are not kept alive until the next batch
// comes (which may be never: a peer's last burst, its cancels when it
// left, stayed reachable from the pipe and its socket's ring). A bounded
// queue's batch slice past maxKeptBatch goes too: only forced pushes
// (subscriptions, commands) grow it that far, so let the burst's memory go.
// Consumer only.
func (q *mq) releaseLocal() {
	clear(q.local)
	if q.cap > 0 && cap(q.local) > maxKeptBatch {
		q.local = nil
	} else {
		q.local = q.local[:0]
	}
	q.head = 0
	q.lsegs, q.lsegI = q.lsegs[:0], 0
}

// drained reports whether the queue holds nothing, as the consumer sees it.
// Caller must exclude the consumer (the writer's c.wmu for outbound queues).
func (q *mq) drained() bool {
	if q.sp != nil {
		return !q.sp.closed.Load() && !q.sp.q.avail()
	}
	return q.head >= len(q.local) && !q.avail.Load()
}

// markAvail records that items is not empty. Caller holds q.mu.
func (q *mq) markAvail() {
	if !q.avail.Load() {
		q.avail.Store(true)
	}
}

// park marks the consumer as waiting unless items are pending; it reports
// whether the consumer should now block on q.wake. Consumer only.
func (q *mq) park() bool {
	if q.sp != nil {
		return q.spPark()
	}
	if q.head < len(q.local) {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n > 0 || q.closed {
		return false
	}
	q.waiting = true
	return true
}

// pop waits for the next item until ctx is done or done is closed, polling
// for up to sb's budget before it parks. Consumer only.
func (q *mq) pop(ctx context.Context, done <-chan struct{}, sb *spinBudget) (item, error) {
	for {
		if it, ok := q.tryPop(); ok {
			return it, nil
		}
		if q.isClosed() {
			return item{}, ErrClosed
		}
		if sb.poll(q.avail.Load) || !q.park() {
			continue
		}
		select {
		case <-q.wake:
		case <-ctx.Done():
			q.mu.Lock()
			q.waiting = false
			q.mu.Unlock()
			return item{}, ctx.Err()
		case <-done:
			return item{}, ErrClosed
		}
	}
}

func (q *mq) isClosed() bool {
	if q.sp != nil {
		return q.sp.closed.Load()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// close rejects further pushes and wakes everyone waiting.
func (q *mq) close() {
	if q.sp != nil {
		q.spClose()
		return
	}
	q.mu.Lock()
	q.closed = true
	q.avail.Store(true)
	signal(q.wake)
	for _, w := range q.spaceW {
		signal(w)
	}
	q.spaceW = nil
	q.mu.Unlock()
	if q.kick != nil {
		q.kick()
	}
}

// reset drops every queued item (consumer side, while no consumer runs).
func (q *mq) reset() {
	if q.sp != nil {
		panic("socket: reset of a single-producer queue") // subscriber sockets only (serve), which never use the mode
	}
	q.mu.Lock()
	clear(q.items)
	q.items = q.items[:0]
	for _, sg := range q.segs {
		clear(sg)
	}
	clear(q.segs)
	q.segs = q.segs[:0]
	q.n = 0
	q.large.Store(0)
	q.avail.Store(q.closed)
	for _, w := range q.spaceW {
		signal(w)
	}
	q.spaceW = q.spaceW[:0]
	q.mu.Unlock()
	clear(q.local)
	q.local = q.local[:0]
	q.head = 0
	for _, sg := range q.lsegs {
		clear(sg)
	}
	clear(q.lsegs)
	q.lsegs, q.lsegI = q.lsegs[:0], 0
}
