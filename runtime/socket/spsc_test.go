package socket

import (
	"encoding/binary"
	"testing"
	"time"
)

func seqMsg(i uint64) Msg {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, i)
	return Msg{b}
}

func TestSPSCOrderAcrossChunks(t *testing.T) {
	q := newSPSC(0)
	const n = 5*spscChunkLen + 7
	for i := uint64(0); i < n; i++ {
		r, activated := q.push(seqMsg(i), false, nil)
		if r != pushOK {
			t.Fatalf("push %d: %v", i, r)
		}
		if activated != (i == 0) {
			t.Fatalf("push %d: activated = %v", i, activated)
		}
	}
	for i := uint64(0); i < n; i++ {
		m, ok := q.tryPop()
		if !ok {
			t.Fatalf("pop %d: empty", i)
		}
		if got := binary.LittleEndian.Uint64(m[0]); got != i {
			t.Fatalf("pop %d: got message %d", i, got)
		}
	}
	if _, ok := q.tryPop(); ok || q.avail() {
		t.Fatal("queue not empty after every message was taken")
	}
	if !q.deactivate() {
		t.Fatal("empty queue did not deactivate")
	}
	if _, activated := q.push(seqMsg(0), false, nil); !activated {
		t.Fatal("push into a deactivated queue did not activate it")
	}
}

func TestSPSCHighWaterMark(t *testing.T) {
	const hwm = 10
	q := newSPSC(hwm)
	w := make(chan struct{}, 1)
	for i := 0; i < hwm; i++ {
		if r, _ := q.push(seqMsg(uint64(i)), false, w); r != pushOK {
			t.Fatalf("push %d under the mark: %v", i, r)
		}
	}
	if r, _ := q.push(seqMsg(hwm), false, w); r != pushFull {
		t.Fatalf("push at the mark: %v, want pushFull", r)
	}
	if r, _ := q.push(seqMsg(99), true, nil); r != pushOK {
		t.Fatalf("forced push at the mark: %v", r)
	}
	select {
	case <-w:
		t.Fatal("space signalled before the consumer took anything")
	default:
	}
	// Taking one message makes everything published so far the consumer's:
	// room for a whole mark's worth again, and the producer is told.
	if _, ok := q.tryPop(); !ok {
		t.Fatal("pop: empty")
	}
	select {
	case <-w:
	case <-time.After(5 * time.Second):
		t.Fatal("producer refused at the mark was not signalled when room freed")
	}
	for i := 0; i < hwm; i++ {
		if r, _ := q.push(seqMsg(uint64(i)), false, w); r != pushOK {
			t.Fatalf("push %d after room freed: %v", i, r)
		}
	}
	if r, _ := q.push(seqMsg(0), false, w); r != pushFull {
		t.Fatalf("push past the mark again: %v, want pushFull", r)
	}
}

// TestSPSCConcurrent runs a producer and a consumer flat out across many
// chunk boundaries, with a small mark (so the producer is refused and woken
// often) and the consumer deactivating whenever it runs dry, as next() does.
// Every message must arrive once, in order, and every deactivation must be
// matched by exactly one activation (or the consumer keeping the queue).
func TestSPSCConcurrent(t *testing.T) {
	const n = 200_000
	q := newSPSC(64)
	wake := make(chan struct{}, 1) // producer: room freed
	tokens := make(chan struct{}, 2)
	deadline := time.After(60 * time.Second)
	go func() {
		for i := uint64(0); i < n; i++ {
			for {
				r, activated := q.push(seqMsg(i), false, wake)
				if activated {
					tokens <- struct{}{}
				}
				if r == pushOK {
					break
				}
				<-wake
			}
		}
	}()
	active := true // from the first push's activation, received next
	<-tokens
	for i := uint64(0); i < n; {
		if !active {
			select {
			case <-tokens:
				active = true
			case <-deadline:
				t.Fatalf("stalled at message %d of %d", i, n)
			}
			continue
		}
		m, ok := q.tryPop()
		if !ok {
			if q.deactivate() {
				active = false
			}
			continue
		}
		if got := binary.LittleEndian.Uint64(m[0]); got != i {
			t.Fatalf("message %d: got %d", i, got)
		}
		i++
	}
	select {
	case <-tokens:
		t.Fatal("an activation was announced twice")
	default:
	}
}

// A consumer several chunks behind frees them in a burst; the producer's
// next chunks reuse them instead of allocating (one spare slot kept one and
// dropped the rest: 24 B of garbage a message at inproc rates).
func TestSPSCReusesChunks(t *testing.T) {
	q := newSPSC(1000)
	m := Msg{make([]byte, 16)}
	cycle := func() {
		for range 6 * spscChunkLen {
			if r, _ := q.push(m, false, nil); r != pushOK {
				t.Fatal("push refused")
			}
		}
		for range 6 * spscChunkLen {
			if _, ok := q.tryPop(); !ok {
				t.Fatal("pop: empty")
			}
		}
	}
	cycle() // warm: the chunks exist now
	if a := testing.AllocsPerRun(20, cycle); a != 0 {
		t.Fatalf("%v allocations per burst of %d messages", a, 6*spscChunkLen)
	}
}
