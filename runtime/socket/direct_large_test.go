package socket_test

import (
	"context"
	"errors"
	"testing"

	"github.com/topo-zmq/topo/runtime/socket"
)

// A large single-frame message goes from Send straight to a plain
// connection when nothing is queued ahead of it (direct.go,
// tryWriteLarge); what the kernel does not take the writer goroutine sends
// afterwards from the same buffer, and with SendRelease the buffer goes
// back to the pool only once all of it is written. Here a PULL that holds
// one message and reads no more lets a PUSH fill the kernel's buffers with
// direct writes until one is left with a tail, then queue up to the byte
// bound, until Send would block. Then the PULL reads, while the PUSH goes
// on sending large messages in reused buffers among small ones: every
// message must arrive intact and in order (a buffer given back early would
// be refilled by the next AllocFrame while its tail is still to be sent).
func TestLargeDirectWriteTail(t *testing.T) {
	ctx, sctx, rctx := senderReceiver(t)
	done, stop := context.WithCancel(context.Background())
	stop()
	pull := newSock(t, rctx, socket.PULL, socket.Options{RecvHWM: 1})
	push := newSock(t, sctx, socket.PUSH, socket.Options{})
	connect(t, push, bindEphemeral(t, pull))
	if err := push.WaitPeers(ctx, 1); err != nil {
		t.Fatal(err)
	}

	const size = 1 << 20
	// sizeOf is the size of message i after the first queued ones.
	sizeOf := func(i int) int { return [...]int{size, 40 << 10, 100}[i%3] }
	k := 0 // messages sent; the sender's goroutine's once it starts
	send := func(c context.Context, n int) error {
		b := push.AllocFrame(n)
		fillSeq(b, k)
		err := push.SendRelease(c, socket.Msg{b})
		if err == nil {
			k++
		}
		return err
	}
	for {
		err := send(done, size)
		if errors.Is(err, context.Canceled) {
			break
		}
		if err != nil {
			t.Fatalf("Send %d: %v", k, err)
		}
		if k > 1000 {
			t.Fatal("Send never blocked: the PULL's connection took 1000 MiB without reading")
		}
	}
	if k < 3 {
		t.Fatalf("only %d messages went before Send blocked", k)
	}
	if _, wrote := socket.DirectIO(push); !wrote {
		t.Fatal("PUSH made no direct write (the path under test)")
	}

	errc := make(chan error, 1)
	queued := k
	go func() {
		for i := 0; i < 60; i++ {
			if err := send(ctx, sizeOf(i)); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i := 0; i < queued+60; i++ {
		m := mustRecv(ctx, t, pull, "message")
		n := size
		if i >= queued {
			n = sizeOf(i - queued)
		}
		if len(m) != 1 || !seqOK(m[0], i, n) {
			t.Fatalf("message %d of %d bytes arrived changed or out of order", i, n)
		}
		pull.Release(m)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
