package socket

import "testing"

// A queue the consumer has drained holds none of the messages it handed
// out: the last batch is not kept until the next one comes, which for a
// peer that left (its cancels queued behind it) is never.
func TestMQDrainedHoldsNoMessage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cap   int
		n     int
		force bool
	}{
		{"bounded", 10, 3, false},
		{"unbounded", 0, 3, false},
		{"forced burst past the kept batch", 10, maxKeptBatch + 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newMQ(tc.cap)
			for round := 0; round < 2; round++ {
				for i := 0; i < tc.n; i++ {
					if r := q.push(item{m: Msg{[]byte("x")}}, tc.force, nil); r != pushOK {
						t.Fatalf("push %d: %v", i, r)
					}
				}
				for i := 0; i < tc.n; i++ {
					if _, ok := q.tryPop(); !ok {
						t.Fatalf("round %d: pop %d of %d found nothing", round, i, tc.n)
					}
				}
				if _, ok := q.tryPop(); ok {
					t.Fatalf("round %d: a pop past the %d pushed found an item", round, tc.n)
				}
				for i, it := range q.local[:cap(q.local)] {
					if it.m != nil || it.p != nil {
						t.Fatalf("round %d: the drained batch still holds item %d", round, i)
					}
				}
				if tc.cap > 0 && cap(q.local) > maxKeptBatch {
					t.Fatalf("round %d: the drained batch keeps %d slots, more than %d", round, cap(q.local), maxKeptBatch)
				}
			}
		})
	}
}

// A backlog is kept in segments of segItems, not in one slice that append
// regrows (and copies) as it doubles; the consumer hands the segments it
// finished back for reuse; order is kept across segments, batches and
// interleaved pops; and a drained queue holds no message.
func TestMQBacklogInSegments(t *testing.T) {
	for _, capacity := range []int{0, 5000} {
		q := newMQ(capacity)
		var next, want int
		batch := make([]item, 0, 300)
		check := func(where string) {
			t.Helper()
			if cap(q.items) > 2*segItems {
				t.Fatalf("cap %d, %s: the tail slice has %d slots, more than a segment", capacity, where, cap(q.items))
			}
			for i, sg := range q.segs {
				if cap(sg) > 2*segItems {
					t.Fatalf("cap %d, %s: segment %d has %d slots", capacity, where, i, cap(sg))
				}
			}
			if len(q.free) > maxFreeSegs {
				t.Fatalf("cap %d, %s: %d free segments, more than %d", capacity, where, len(q.free), maxFreeSegs)
			}
		}
		pop := func(k int) {
			t.Helper()
			for i := 0; i < k; i++ {
				it, ok := q.tryPop()
				if !ok {
					return
				}
				if got := int(it.m[0][0]) | int(it.m[0][1])<<8 | int(it.m[0][2])<<16; got != want {
					t.Fatalf("cap %d: popped message %d, want %d", capacity, got, want)
				}
				want++
			}
		}
		msg := func() item {
			it := item{m: Msg{{byte(next), byte(next >> 8), byte(next >> 16)}}}
			next++
			return it
		}
		for round := 0; round < 40; round++ {
			for i := 0; i < 9; i++ {
				batch = batch[:0]
				for j := 0; j < 1+(round*37+i*101)%300; j++ {
					batch = append(batch, msg())
				}
				for rest := batch; len(rest) > 0; {
					n, _, _ := q.pushBatch(rest, nil)
					if n == 0 {
						pop(1000)
					}
					rest = rest[n:]
				}
				if r := q.push(msg(), false, nil); r == pushFull {
					pop(1000)
					next--
					if r := q.push(msg(), false, nil); r != pushOK {
						t.Fatalf("cap %d: push after popping: %v", capacity, r)
					}
				}
				check("pushing")
			}
			pop(round * 50)
			check("popping")
		}
		pop(next)
		if want != next {
			t.Fatalf("cap %d: popped %d of %d", capacity, want, next)
		}
		if _, ok := q.tryPop(); ok {
			t.Fatalf("cap %d: popped past the end", capacity)
		}
		if len(q.free) == 0 {
			t.Errorf("cap %d: no finished segment was kept for reuse", capacity)
		}
		for i, it := range q.local[:cap(q.local)] {
			if it.m != nil {
				t.Fatalf("cap %d: the drained batch still holds item %d", capacity, i)
			}
		}
		for _, sg := range q.free {
			for i, it := range sg[:cap(sg)] {
				if it.m != nil {
					t.Fatalf("cap %d: a free segment still holds item %d", capacity, i)
				}
			}
		}
	}
}

// An outbound queue with a byte bound counts large messages' bytes until
// the writer has written them: it refuses pushes (registering the waiter)
// once outByteBound is held, always admits one message however large, does
// not count small messages, and signals the waiters only once less than
// half the bound is held (the low-water mark).
func TestMQByteBound(t *testing.T) {
	big := Msg{make([]byte, outByteBound/4)}
	small := Msg{make([]byte, largeMsgMin-1)}
	q := newMQ(1000)
	q.byteCap, q.wcap = outByteBound, outByteBound
	for i := 0; i < 4; i++ {
		if r := q.push(item{m: big}, false, nil); r != pushOK {
			t.Fatalf("large push %d under the bound: %v", i, r)
		}
	}
	w := make(chan struct{}, 1)
	for _, m := range []Msg{big, small} {
		if r := q.push(item{m: m}, false, w); r != pushFull {
			t.Fatalf("push of %d bytes at the bound: %v, want pushFull", len(m[0]), r)
		}
	}
	if r := q.push(item{m: small}, true, nil); r != pushOK {
		t.Fatalf("forced push at the bound: %v", r)
	}
	written := func(k int) {
		t.Helper()
		for i := 0; i < k; i++ {
			it, ok := q.tryPop()
			if !ok {
				t.Fatal("nothing to pop")
			}
			q.written(it.m)
		}
	}
	// The swap of the batch signals as for the message bound; drop that.
	written(1)
	select {
	case <-w:
	default:
	}
	if r := q.push(item{m: big}, false, nil); r != pushOK {
		t.Fatalf("push with 3/4 of the bound held: %v", r)
	}
	if r := q.push(item{m: big}, false, w); r != pushFull {
		t.Fatalf("push at the bound again: %v, want pushFull", r)
	}
	for i, held := range []string{"3/4", "1/2"} {
		written(1)
		select {
		case <-w:
			t.Fatalf("write %d: waiter signalled with %s of the bound held", i, held)
		default:
		}
	}
	written(1) // 1/4 held: below the low-water mark
	select {
	case <-w:
	default:
		t.Fatal("waiter not signalled below the low-water mark")
	}
	written(2) // the last large one and the forced small one
	if n := q.large.Load(); n != 0 {
		t.Fatalf("%d bytes counted with everything written", n)
	}
	huge := Msg{make([]byte, 2*outByteBound)}
	if r := q.push(item{m: huge}, false, nil); r != pushOK {
		t.Fatalf("a message over the bound, alone: %v", r)
	}
	if r := q.push(item{m: small}, false, nil); r != pushFull {
		t.Fatalf("push behind a message over the bound: %v, want pushFull", r)
	}
	q.reset()
	if n := q.large.Load(); n != 0 {
		t.Fatalf("%d bytes counted after reset", n)
	}
}
