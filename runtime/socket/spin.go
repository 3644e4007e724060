package socket

import "runtime"

// A Recv that finds nothing to read, and a Send refused at the high-water
// mark, poll for a moment before they park. While a stream flows, the next
// message (or room) is usually that close, and catching it by polling keeps
// producer and consumer running in parallel on their own Ps: parking would
// make the other side's wake-up put the waiter on the waker's own P (Go's
// runnext), so the pair would take turns on one P instead. Where waits are
// long (request-reply, idle sockets), polling is wasted: each waiter keeps a
// spinBudget that halves after every poll that found nothing, down to a
// token few iterations, and is restored by one that found something.

// spinIters is the longest poll, a few microseconds.
const spinIters = 512

// spinMinIters is the shortest: enough to notice that a stream has started.
const spinMinIters = 16

// spinBudget is one waiter's adaptive polling budget. The zero value polls
// for spinIters. Owned by the waiting goroutine.
type spinBudget struct{ shift uint8 }

// poll calls ready until it reports true or the budget is spent, yielding
// the P every 64 calls so a goroutine waiting for it can run, and adapts
// the budget to the outcome.
func (b *spinBudget) poll(ready func() bool) bool {
	n := spinIters >> b.shift
	for i := 1; i <= n; i++ {
		if ready() {
			b.shift = 0
			return true
		}
		if i&63 == 0 {
			runtime.Gosched()
		}
	}
	if spinIters>>(b.shift+1) >= spinMinIters {
		b.shift++
	}
	return false
}
