package socket

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"
)

// newTestSPQueue is an outbound queue in single-producer mode with the
// given bound and byte bound, without a Socket; kicks counts q.kick calls.
func newTestSPQueue(capacity int, byteCap int64, rel *pipe, kicks *int) *mq {
	q := newMQ(capacity)
	sp := newSPSC(capacity)
	sp.written = true
	sp.byteCap, sp.cbyteCap = byteCap, byteCap
	q.sp = &spOut{q: sp, rel: rel}
	q.kick = func() { *kicks++ }
	return q
}

// The single-producer mode keeps mq's contract for an outbound queue:
// order across chunks, SendRelease's mark on each message, park and the
// wake-up (and kick) of the first push after it, the high-water mark with
// its space signal, the byte bound counted until written, and close.
func TestMQSingleProducerMode(t *testing.T) {
	kicks := 0
	p := &pipe{}
	q := newTestSPQueue(0, 0, p, &kicks)
	if !q.park() || !q.drained() {
		t.Fatal("an empty queue did not park")
	}
	const n = 3*spscChunkLen + 5
	for i := uint64(0); i < n; i++ {
		it := item{m: seqMsg(i)}
		if i%3 == 0 {
			it.p = p
		}
		if r := q.push(it, false, nil); r != pushOK {
			t.Fatalf("push %d: %v", i, r)
		}
	}
	select {
	case <-q.wake:
	default:
		t.Fatal("the first push after park did not wake the consumer")
	}
	if kicks != 1 {
		t.Fatalf("%d kicks for a burst after park, want 1", kicks)
	}
	if q.park() || q.drained() {
		t.Fatal("a queue holding messages parked or reads drained")
	}
	if sent, depth := q.counts(); sent != n || depth != n {
		t.Fatalf("counts = %d, %d, want %d, %d", sent, depth, n, n)
	}
	for i := uint64(0); i < n; i++ {
		it, ok := q.tryPop()
		if !ok {
			t.Fatalf("pop %d: empty", i)
		}
		if got := binary.LittleEndian.Uint64(it.m[0]); got != i {
			t.Fatalf("pop %d: message %d", i, got)
		}
		if (it.p != nil) != (i%3 == 0) || it.p != nil && it.p != p {
			t.Fatalf("pop %d: release mark %v", i, it.p)
		}
	}
	if _, ok := q.tryPop(); ok || !q.park() {
		t.Fatal("the queue did not empty and park")
	}

	q.close()
	if r := q.push(item{m: seqMsg(0)}, false, nil); r != pushClosed {
		t.Fatalf("push after close: %v, want pushClosed", r)
	}
	if q.park() || q.drained() {
		t.Fatal("a closed queue parked or reads drained")
	}
	select {
	case <-q.wake:
	default:
		t.Fatal("close did not wake the consumer")
	}
}

func TestMQSingleProducerBounds(t *testing.T) {
	kicks := 0
	w := make(chan struct{}, 1)

	// High-water mark: messages the consumer has not taken.
	q := newTestSPQueue(4, 0, nil, &kicks)
	for i := uint64(0); i < 4; i++ {
		if r := q.push(item{m: seqMsg(i)}, false, w); r != pushOK {
			t.Fatalf("push %d under the mark: %v", i, r)
		}
	}
	if r := q.push(item{m: seqMsg(4)}, false, w); r != pushFull {
		t.Fatalf("push at the mark: %v, want pushFull", r)
	}
	if _, ok := q.tryPop(); !ok {
		t.Fatal("pop: empty")
	}
	select {
	case <-w:
	default:
		t.Fatal("taking messages did not signal the refused producer")
	}
	if r := q.push(item{m: seqMsg(4)}, false, w); r != pushOK {
		t.Fatalf("push after room freed: %v", r)
	}

	// Byte bound: a large message counts until written, not until taken.
	const bound = 1 << 20
	b := newTestSPQueue(1000, bound, nil, &kicks)
	big := Msg{make([]byte, bound)}
	if r := b.push(item{m: big}, false, w); r != pushOK {
		t.Fatalf("first large push: %v", r)
	}
	if r := b.push(item{m: Msg{make([]byte, largeMsgMin)}}, false, w); r != pushFull || !b.heldByBytes() {
		t.Fatalf("large push past the byte bound: %v (held by bytes %v), want pushFull", r, b.heldByBytes())
	}
	if r := b.push(item{m: Msg{[]byte("small")}}, false, w); r != pushOK {
		t.Fatalf("small push at the byte bound: %v, want pushOK (small messages are not counted)", r)
	}
	it, ok := b.tryPop()
	if !ok {
		t.Fatal("pop: empty")
	}
	select { // taking messages wakes a refused producer, which looks again
	case <-w:
	default:
	}
	if r := b.push(item{m: Msg{make([]byte, largeMsgMin)}}, false, w); r != pushFull || !b.heldByBytes() {
		t.Fatal("the byte bound let go of a message taken but not written")
	}
	b.written(it.m)
	select {
	case <-w:
	default:
		t.Fatal("writing the large message did not signal the refused producer")
	}
	if b.heldByBytes() {
		t.Fatal("the byte bound still held after the message was written")
	}
}

// A producer and a consumer that parks whenever it finds the queue empty,
// as the connection's writer does, lose no message and no wake-up.
func TestMQSingleProducerConcurrent(t *testing.T) {
	q := newMQ(64)
	sp := newSPSC(64)
	sp.written = true
	q.sp = &spOut{q: sp}
	const n = 200000
	done := make(chan error, 1)
	go func() {
		next := uint64(0)
		for next < n {
			it, ok := q.tryPop()
			if ok {
				if got := binary.LittleEndian.Uint64(it.m[0]); got != next {
					done <- fmt.Errorf("message %d, want %d", got, next)
					return
				}
				next++
				continue
			}
			if !q.park() {
				continue
			}
			select {
			case <-q.wake:
			case <-time.After(10 * time.Second):
				done <- fmt.Errorf("no wake-up after %d messages", next)
				return
			}
		}
		done <- nil
	}()
	w := make(chan struct{}, 1)
	for i := uint64(0); i < n; {
		switch q.push(item{m: seqMsg(i)}, false, w) {
		case pushOK:
			i++
		case pushFull:
			select {
			case <-w:
			case <-time.After(10 * time.Second):
				t.Fatalf("no room after %d messages", i)
			}
		default:
			t.Fatal("push refused")
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
