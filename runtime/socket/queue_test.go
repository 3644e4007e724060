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
