package socket_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/topo-zmq/topo/runtime/socket"
)

// A small message Send finds a socket's only connection idle for (its
// writer gone for a while) goes straight to the connection (direct.go,
// idleWrite); one sent soon after goes through the queue. Paced messages
// then bursts, plain and CURVE, with Send and SendRelease, PUSH→PULL and
// PUB→SUB: every message arrives intact and in order, and the sender made
// direct writes (the path under test: no message here is large enough for
// a large direct write).
func TestIdleWriteThenBurst(t *testing.T) {
	for _, typ := range [][2]socket.Type{{socket.PUSH, socket.PULL}, {socket.PUB, socket.SUB}} {
		for _, sec := range []string{"plain", "curve"} {
			for _, release := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/release=%v", typ[0], sec, release), func(t *testing.T) {
					idleThenBurst(t, typ[0], typ[1], sec, release)
				})
			}
		}
	}
}

func idleThenBurst(t *testing.T, st, rt socket.Type, sec string, release bool) {
	ctx, sctx, rctx := senderReceiver(t)
	so, ro := securityPair(t, sec)
	rcv := newSock(t, rctx, rt, ro)
	snd := newSock(t, sctx, st, so)
	if rt == socket.SUB {
		if err := rcv.Subscribe(nil); err != nil {
			t.Fatal(err)
		}
	}
	connect(t, snd, bindEphemeral(t, rcv))
	if err := snd.WaitPeers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if st == socket.PUB {
		// The subscription must have arrived before the first message.
		if err := snd.WaitUntil(ctx, func(s socket.Stats) bool { return s.Subscribes > 0 }); err != nil {
			t.Fatal(err)
		}
	}
	const rounds, burst = 20, 50
	sizes := []int{10, 300, 2000, 8000}
	errc := make(chan error, 1)
	go func() {
		k := 0
		for r := 0; r < rounds; r++ {
			time.Sleep(2 * time.Millisecond) // the writer goes idle
			for i := 0; i < burst; i++ {
				n := sizes[(r+i)%len(sizes)]
				var err error
				if release {
					b := snd.AllocFrame(n)
					fillSeq(b, k)
					err = snd.SendRelease(ctx, socket.Msg{b})
				} else {
					b := make([]byte, n)
					fillSeq(b, k)
					err = snd.Send(ctx, socket.Msg{b})
				}
				if err != nil {
					errc <- err
					return
				}
				k++
			}
		}
		errc <- nil
	}()
	k := 0
	for r := 0; r < rounds; r++ {
		for i := 0; i < burst; i++ {
			n := sizes[(r+i)%len(sizes)]
			m := mustRecv(ctx, t, rcv, "message")
			if len(m) != 1 || !seqOK(m[0], k, n) {
				t.Fatalf("round %d message %d (%d bytes) arrived changed or out of order", r, i, n)
			}
			k++
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if _, wrote := socket.DirectIO(snd); !wrote {
		t.Error("the sender made no direct write after an idle spell (the path under test)")
	}
}

// senderReceiver returns a ctx that ends with the test or after a minute,
// and a sender's and a receiver's Context, closed when the test ends.
func senderReceiver(t *testing.T) (context.Context, *socket.Context, *socket.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	sctx, rctx := &socket.Context{}, &socket.Context{}
	t.Cleanup(func() {
		_ = rctx.Close()
		_ = sctx.Close()
		cancel()
	})
	return ctx, sctx, rctx
}
