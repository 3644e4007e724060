package socket

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// item is one queued message and the pipe it came from (inbound) or is bound
// for (unused outbound).
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
// consumer (one goroutine at a time) owns local and head.
type mq struct {
	mu      sync.Mutex
	items   []item
	cap     int // <= 0: unbounded
	closed  bool
	waiting bool            // the consumer is parked on wake
	wake    chan struct{}   // cap 1: wakes the consumer
	spaceW  []chan struct{} // producers to signal when space frees
	active  bool            // inbound pipe queue: registered as readable with its socket
	avail   atomic.Bool     // items is not empty or the queue is closed; read by spin
	pushed  uint64          // messages pushed that were not forced (Stats.Edges)

	_     [64]byte // keep the consumer's fields off the producers' cache line
	local []item   // consumer-owned batch
	head  int
	_     [64]byte
}

func newMQ(capacity int) *mq {
	return &mq{cap: capacity, wake: make(chan struct{}, 1)}
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
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return pushClosed
	}
	if q.fullLocked(force, w) {
		q.mu.Unlock()
		return pushFull
	}
	q.items = append(q.items, it)
	if !force {
		q.pushed++
	}
	q.markAvail()
	if q.waiting {
		q.waiting = false
		signal(q.wake)
	}
	q.mu.Unlock()
	return pushOK
}

// fullLocked reports whether a push that is not forced must be refused
// because the queue is at its cap; if so it registers w (when not nil) to be
// signalled once space frees. Caller holds q.mu.
func (q *mq) fullLocked(force bool, w chan struct{}) bool {
	if force || q.cap <= 0 || len(q.items) < q.cap {
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
	q.items = append(q.items, it)
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
		n = min(n, q.cap-len(q.items))
	}
	if n <= 0 {
		q.addSpaceWaiterLocked(w)
		q.mu.Unlock()
		return 0, false, false
	}
	q.items = append(q.items, its[:n]...)
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
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pushed, len(q.items)
}

// deactivate marks an inbound queue unreadable if it is empty (consumer
// only, after tryPop failed) and reports whether it did.
func (q *mq) deactivate() bool {
	if q.head < len(q.local) {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) > 0 {
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
	if q.head < len(q.local) {
		it := q.local[q.head]
		q.head++
		if q.head == len(q.local) {
			q.releaseLocal()
		}
		return it, true
	}
	if !q.avail.Load() {
		return item{}, false // nothing pending (producers set avail under q.mu)
	}
	q.mu.Lock()
	if len(q.items) == 0 {
		q.mu.Unlock()
		return item{}, false
	}
	q.local, q.items = q.items, q.local[:0] // local was released: empty
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
		q.releaseLocal()
	}
	return it, true
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
}

// drained reports whether the queue holds nothing, as the consumer sees it.
// Caller must exclude the consumer (the writer's c.wmu for outbound queues).
func (q *mq) drained() bool {
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
	if q.head < len(q.local) {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) > 0 || q.closed {
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
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// close rejects further pushes and wakes everyone waiting.
func (q *mq) close() {
	q.mu.Lock()
	q.closed = true
	q.avail.Store(true)
	signal(q.wake)
	for _, w := range q.spaceW {
		signal(w)
	}
	q.spaceW = nil
	q.mu.Unlock()
}

// reset drops every queued item (consumer side, while no consumer runs).
func (q *mq) reset() {
	q.mu.Lock()
	clear(q.items)
	q.items = q.items[:0]
	q.avail.Store(q.closed)
	for _, w := range q.spaceW {
		signal(w)
	}
	q.spaceW = q.spaceW[:0]
	q.mu.Unlock()
	clear(q.local)
	q.local = q.local[:0]
	q.head = 0
}
