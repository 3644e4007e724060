package socket

import (
	"context"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"
)

// Frame buffers a program may reuse (issue 16; the contract is in doc.go,
// "Reusing frame buffers").
//
// A Context keeps pools of frame buffers by size class: four classes per
// power of two from 1 KiB (1, 1.25, 1.5, 1.75, 2 KiB, 2.5 KiB, ...) up to
// 1 GiB, so
// a buffer wastes at most a quarter of what it holds. Buffers enter a pool
// only when a program gives them up explicitly: SendRelease's frames once
// the connection has written them, Release's frames once the program has
// read them. Nothing else puts a buffer in a pool, so a program that never
// calls SendRelease or Release never sees a buffer reused, and its
// connections allocate received frames exactly as before (the pools stay
// off until the first AllocFrame, SendRelease or Release on the Context).
// What a pool holds the garbage collector may free: sync.Pool, and in
// front of it, for classes of 16 KiB and more, a last-in-first-out stack
// of at most hotBudget bytes in all that every garbage collection empties.
// The stack hands out the buffer released last, still warm in the cache:
// sync.Pool, taken from another P than the one that released (an inproc
// receiver's), hands out the oldest of its buffers first, so a sender a
// few hundred messages ahead cycled through all of them, each cold
// (inproc 1 MiB, issue 16).

const (
	poolMinShift = 10 // smallest class: 1 KiB
	// lendMin is the smallest frame SendRelease lends to an inproc peer
	// (lend): recording a lent frame costs a weak handle and a map entry
	// under a lock, and reclaiming it as much again: together some 230 ns,
	// half of a 1 KiB inproc message's cost. Frames under it go to the peer
	// as Send's do, and the pool allocates the sender new ones. The classes
	// under it are for tcp and ipc, where a 1 KiB frame comes back once
	// written and a received one is read into a pooled buffer: a PULL that
	// allocated every 1 KiB frame ran the garbage collector 352 times for
	// 1 GB received.
	lendMin = 4 << 10
	lendIdx = (12 - poolMinShift) * 4 // the class of lendMin
	// carveSlab: a buffer of a class under lendMin that the pool does not
	// hold is carved from a slab of this size (carve), as libzmq's decoder
	// carves messages from its 8 KiB read batches: a 1 KiB allocation per
	// message cost an inproc sender three times what the message did. A
	// frame carved from a slab keeps the slab alive, at most 16 times the
	// frame's size.
	carveSlab    = 16 << 10
	poolMin      = 1 << poolMinShift
	poolMaxShift = 30 // largest class: 1 GiB
	poolClasses  = (poolMaxShift-poolMinShift)*4 + 1
)

// framePool is a Context's frame buffers (zero value ready).
type framePool struct {
	// on is set by the first AllocFrame, SendRelease or Release: from then
	// on connections read large frames into buffers of class sizes, from
	// the pool when it has one.
	on atomic.Bool
	// c holds unsafe.Pointers to the first byte of buffers of exactly the
	// class's size (a pointer in an interface costs no allocation, which a
	// slice would).
	c [poolClasses]sync.Pool

	// lent holds the frames SendRelease handed to an inproc peer: only
	// those may a receiver with inproc peers give back (Release), as an
	// inproc frame may otherwise be one the sender still reads (Send lets
	// it resend a buffer) or one a fan-out shares. Weak pointers: a frame
	// never released does not stay alive for it, and a new buffer at a
	// dead one's address does not match. At most maxLent entries; when
	// full it is forgotten (those frames are then left to the garbage
	// collector), so a receiver that never releases costs a bounded map.
	lentMu sync.Mutex
	lent   map[weak.Pointer[byte]]struct{}
	lentN  atomic.Int32 // len(lent), read without the lock

	// carvers holds, per class under lendMin, *carver slabs with room for
	// another buffer of the class.
	carvers [lendIdx]sync.Pool

	// hot is the LIFO stack in front of c for classes from hotMinIdx up,
	// made on first use.
	hotOnce sync.Once
	hot     *hotStack
}

const (
	hotMinShift = 14 // classes of 16 KiB and up have a hot stack
	hotMinIdx   = (hotMinShift - poolMinShift) * 4
	hotBudget   = 32 << 20 // bytes a Context's hot stacks hold at most
)

// hotStack holds the most recently released large buffers, strongly, up to
// hotBudget bytes; every garbage collection empties it (arm), so idle
// buffers are garbage after at most two collections, as sync.Pool's are.
type hotStack struct {
	mu    sync.Mutex
	bytes int
	c     [poolClasses - hotMinIdx][]unsafe.Pointer
}

// arm empties h after the next garbage collection, and again after each
// one, as long as h is reachable: the cleanup holds h weakly, so a
// Context that is garbage takes its stack with it.
func arm(h *hotStack) {
	w := weak.Make(h)
	sentinel := new(byte)
	runtime.AddCleanup(sentinel, func(w weak.Pointer[hotStack]) {
		h := w.Value()
		if h == nil {
			return
		}
		h.mu.Lock()
		for i := range h.c {
			clear(h.c[i])
			h.c[i] = h.c[i][:0]
		}
		h.bytes = 0
		h.mu.Unlock()
		arm(h)
	}, w)
}

func (fp *framePool) hotStack() *hotStack {
	fp.hotOnce.Do(func() {
		fp.hot = &hotStack{}
		arm(fp.hot)
	})
	return fp.hot
}

// push keeps p (size bytes, class idx) if the budget allows.
func (h *hotStack) push(idx, size int, p unsafe.Pointer) bool {
	h.mu.Lock()
	ok := h.bytes+size <= hotBudget
	if ok {
		h.bytes += size
		h.c[idx-hotMinIdx] = append(h.c[idx-hotMinIdx], p)
	}
	h.mu.Unlock()
	return ok
}

// pop returns the buffer of class idx released last, or nil.
func (h *hotStack) pop(idx, size int) unsafe.Pointer {
	h.mu.Lock()
	var p unsafe.Pointer
	if st := h.c[idx-hotMinIdx]; len(st) > 0 {
		p = st[len(st)-1]
		st[len(st)-1] = nil
		h.c[idx-hotMinIdx] = st[:len(st)-1]
		h.bytes -= size
	}
	h.mu.Unlock()
	return p
}

const maxLent = 4096

// turnOn sets on, writing it only the first time (a store per message
// would contend with the connections that read it).
func (fp *framePool) turnOn() {
	if !fp.on.Load() {
		fp.on.Store(true)
	}
}

// lend records m's poolable frames as handed over inproc by SendRelease.
func (fp *framePool) lend(m Msg) {
	for _, f := range m {
		if cap(f) < lendMin {
			continue
		}
		w := weak.Make(unsafe.SliceData(f))
		fp.lentMu.Lock()
		if fp.lent == nil || len(fp.lent) >= maxLent {
			fp.lent = make(map[weak.Pointer[byte]]struct{})
		}
		fp.lent[w] = struct{}{}
		fp.lentN.Store(int32(len(fp.lent)))
		fp.lentMu.Unlock()
	}
}

// reclaim reports whether f was lent (and forgets it).
func (fp *framePool) reclaim(f []byte) bool {
	if cap(f) < lendMin || fp.lentN.Load() == 0 {
		return false
	}
	w := weak.Make(unsafe.SliceData(f))
	fp.lentMu.Lock()
	_, ok := fp.lent[w]
	if ok {
		delete(fp.lent, w)
		fp.lentN.Store(int32(len(fp.lent)))
	}
	fp.lentMu.Unlock()
	return ok
}

// disown forgets m's lent frames: sent on over inproc with Send, they may
// reach several receivers (a fan-out, a resend), none of which may give
// them back.
func (fp *framePool) disown(m Msg) {
	if fp.lentN.Load() == 0 {
		return
	}
	for _, f := range m {
		fp.reclaim(f)
	}
}

// ceilClass returns the smallest class holding n bytes; ok is false when n
// is larger than the largest class.
func ceilClass(n int) (idx, size int, ok bool) {
	if n <= poolMin {
		return 0, poolMin, true
	}
	if n > 1<<poolMaxShift {
		return 0, 0, false
	}
	e := bits.Len(uint(n-1)) - 1 // 2^e < n <= 2^(e+1)
	step := 1 << (e - 2)
	q := (n - 1<<e + step - 1) / step // 1..4
	return (e-poolMinShift)*4 + q, 1<<e + q*step, true
}

// floorClass returns the largest class of at most c bytes; ok is false when
// c is smaller than the smallest class.
func floorClass(c int) (idx, size int, ok bool) {
	if c < poolMin {
		return 0, 0, false
	}
	e := bits.Len(uint(c)) - 1 // 2^e <= c < 2^(e+1)
	if e >= poolMaxShift {
		return poolClasses - 1, 1 << poolMaxShift, true
	}
	step := 1 << (e - 2)
	q := (c - 1<<e) / step // 0..3
	return (e-poolMinShift)*4 + q, 1<<e + q*step, true
}

// get returns a buffer of length n and a class's capacity, from the pool
// when it holds one (not zeroed), else newly allocated; under the smallest
// class or past the largest, a plain allocation of n.
func (fp *framePool) get(n int) []byte {
	idx, size, ok := ceilClass(n)
	if !ok || n < poolMin {
		return make([]byte, n)
	}
	if b := fp.take(idx, size); b != nil {
		return b[:n]
	}
	if idx < lendIdx {
		return fp.carve(idx, size)[:n]
	}
	return make([]byte, n, size)
}

// carver is the unused rest of a slab small buffers are carved from.
type carver struct{ b []byte }

// carve returns a new buffer of class idx (size bytes, capacity size) cut
// from a slab of the class (a new slab when none has room).
func (fp *framePool) carve(idx, size int) []byte {
	c, _ := fp.carvers[idx].Get().(*carver)
	if c == nil {
		c = &carver{b: make([]byte, carveSlab)}
	}
	b := c.b[:size:size]
	c.b = c.b[size:]
	if len(c.b) >= size {
		fp.carvers[idx].Put(c)
	}
	return b
}

// take returns a pooled buffer of class idx (size bytes), or nil.
func (fp *framePool) take(idx, size int) []byte {
	if idx >= hotMinIdx {
		if p := fp.hotStack().pop(idx, size); p != nil {
			return unsafe.Slice((*byte)(p), size)
		}
	}
	if v, _ := fp.c[idx].Get().(unsafe.Pointer); v != nil {
		return unsafe.Slice((*byte)(v), size)
	}
	return nil
}

// put gives b's memory, from its start to its capacity, to the pool of the
// largest class it holds. The caller guarantees nothing else uses that
// memory any more. Buffers smaller than the smallest class are left to the
// garbage collector.
func (fp *framePool) put(b []byte) {
	idx, size, ok := floorClass(cap(b))
	if !ok {
		return
	}
	if idx >= hotMinIdx && fp.hotStack().push(idx, size, unsafe.Pointer(unsafe.SliceData(b))) {
		return
	}
	fp.c[idx].Put(unsafe.Pointer(unsafe.SliceData(b)))
}

// putMsg puts every frame of m.
func (fp *framePool) putMsg(m Msg) {
	for _, f := range m {
		fp.put(f)
	}
}

// AllocFrame returns a frame buffer of n bytes (len n) for a message to
// send, from the Context's pool when it holds one of n's size class: its
// bytes are then whatever its last user left, not zeros, and its capacity
// may exceed n. Give it back by sending it with SendRelease (or, unsent,
// with ReleaseFrame); a buffer sent with Send, or dropped, is simply
// garbage. Safe for concurrent use. See "Reusing frame buffers" in the
// package documentation.
func (c *Context) AllocFrame(n int) []byte {
	if n < 0 {
		n = 0
	}
	c.frames.turnOn()
	return c.frames.get(n)
}

// AllocFrame is s's Context's AllocFrame, for code that holds a socket but
// not its Context (a plugin's node).
func (s *Socket) AllocFrame(n int) []byte { return s.ctx.AllocFrame(n) }

// ReleaseFrame gives b to the Context's pool, for a later AllocFrame or
// received frame to reuse: the caller must not use b, or any slice sharing
// its memory, afterwards. b need not come from AllocFrame, but its memory
// from b's start to its capacity must be the caller's alone (not part of a
// frame Recv returned over inproc, nor a frame handed to Send). Buffers
// under 1 KiB are left to the garbage collector. Safe for concurrent use.
func (c *Context) ReleaseFrame(b []byte) {
	c.frames.turnOn()
	c.frames.put(b)
}

// SendRelease is Send for a program that gives m's frames up for good: it
// sends m as Send does, and once the socket no longer needs the frames'
// memory — over tcp and ipc, after the connection has written them — it
// puts them in the Context's pool for AllocFrame (and received frames) to
// reuse. The caller must not read, write or resend m's frames, or any slice
// sharing their memory, after calling it, whatever it returns. Frames that
// are not sent (an error, a message dropped at the high-water mark, a
// connection that ends first), frames a fan-out socket (PUB, XPUB) sends,
// and frames under 1 KiB are left to the garbage collector instead, as is
// everything while a tap is set (SetTap). Over inproc the frames are
// handed to the receiver as they are (no copy); those of 4 KiB or more come
// back to the pool when the receiver gives them back with Release. One goroutine at a time,
// like Send.
func (s *Socket) SendRelease(ctx context.Context, m Msg) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if len(m) == 0 {
		m = Msg{nil}
	}
	s.ctx.frames.turnOn()
	t := s.tap.Load()
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	// A tap sees m after it is sent, when a writer may already have given
	// it to the pool: with a tap, nothing is released.
	s.relSend = t == nil
	err := s.pat.send(ctx, m)
	s.relSend = false
	if err != nil {
		return err
	}
	s.out.add(m, &s.msgsOut, &s.bytesOut)
	if t != nil {
		(*t)(true, m)
	}
	return nil
}

// Release gives back the frames of m, a message Recv returned on s that
// the caller has finished with: frames s read from a tcp or ipc
// connection, and frames an inproc peer sent with SendRelease, go to the
// Context's pool, for the next large frames any connection of the Context
// reads and for AllocFrame. The caller must not use m's frames, or any
// slice sharing their memory, afterwards. Other frames are left to the
// garbage collector: frames under 1 KiB, and on a socket that has ever had
// an inproc peer, every frame but those of 4 KiB or more SendRelease sent it (an inproc
// frame may be one its sender still reads, as Send allows, or one a
// fan-out shares with other receivers). Releasing is optional: a message
// never released is garbage as before. Safe for concurrent use with Recv.
func (s *Socket) Release(m Msg) {
	fp := &s.ctx.frames
	fp.turnOn()
	if !s.inprocSeen.Load() {
		fp.putMsg(m)
		return
	}
	for _, f := range m {
		if fp.reclaim(f) {
			fp.put(f)
		}
	}
}
