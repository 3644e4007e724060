package socket_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/topo-zmq/topo/runtime/socket"
)

// floodSubs writes n distinct subscriptions of 1..255 random bytes (the
// index first, so they are distinct) as ZMTP 3.0 subscription messages, or
// as ZMTP 3.1 SUBSCRIBE commands. It stops at the first write error (topo
// closed the connection) and returns how many it wrote.
func floodSubs(c net.Conn, n int, cmd bool, size func(i int) int) int {
	rng := rand.New(rand.NewSource(1))
	var buf []byte
	sent := 0
	for i := 0; i < n; i++ {
		p := fmt.Appendf(nil, "%d:", i)
		for len(p) < size(i) {
			p = append(p, byte(rng.Intn(256)))
		}
		if cmd {
			buf = append(buf, zmtpFrame(flagCommand, append([]byte("\x09SUBSCRIBE"), p...))...)
		} else {
			buf = append(buf, zmtpFrame(0, append([]byte{1}, p...))...)
		}
		if len(buf) > 32<<10 || i == n-1 {
			_ = c.SetWriteDeadline(time.Now().Add(closeWithin))
			if _, err := c.Write(buf); err != nil {
				return sent
			}
			sent = i + 1
			buf = buf[:0]
		}
	}
	return sent
}

func randomSize(i int) int { return 1 + (i*7919)%255 }

// One hostile peer floods a PUB or XPUB with subscriptions: past its budget
// (MaxSubs prefixes, or MaxSubBytes) it is disconnected and counted, an
// XPUB passes exactly the subscriptions it accepted and then their cancels,
// and a good subscriber on the same socket is not affected.
func TestHostileSubscriptionFlood(t *testing.T) {
	cases := []struct {
		name string
		typ  socket.Type
		cmd  bool
		opts socket.Options
		size func(int) int
		keep int // subscriptions accepted before the cut
	}{
		{"XPUB count budget", socket.XPUB, false, socket.Options{MaxSubs: 300}, randomSize, 300},
		{"XPUB byte budget", socket.XPUB, false, socket.Options{MaxSubBytes: 2550}, func(int) int { return 255 }, 10},
		{"XPUB count budget, ZMTP 3.1 commands", socket.XPUB, true, socket.Options{MaxSubs: 300}, randomSize, 300},
		{"PUB count budget", socket.PUB, false, socket.Options{MaxSubs: 300}, randomSize, 300},
		{"PUB byte budget", socket.PUB, false, socket.Options{MaxSubBytes: 2550}, func(int) int { return 255 }, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, before) })
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			zctx := &socket.Context{}
			defer zctx.Close()
			var mu sync.Mutex
			var limitErr error
			o := tc.opts
			o.SendHWM, o.RecvHWM = -1, -1
			o.OnEvent = func(e socket.Event) {
				if e.Kind == socket.EventDisconnected && errors.Is(e.Err, socket.ErrSubLimit) {
					mu.Lock()
					limitErr = e.Err
					mu.Unlock()
				}
			}
			pub := newSock(t, zctx, tc.typ, o)
			ep := bindEphemeral(t, pub)
			// The good subscriber: one prefix.
			good := newSock(t, zctx, socket.SUB, socket.Options{})
			if err := good.Subscribe([]byte("good")); err != nil {
				t.Fatal(err)
			}
			connect(t, good, ep)
			if err := pub.WaitPeers(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if tc.typ == socket.XPUB {
				if m := mustRecv(ctx, t, pub, "the good subscription"); string(m[0]) != "\x01good" {
					t.Fatalf("XPUB Recv = %q, want the good subscription", m)
				}
			}

			c, err := net.Dial("tcp", strings.TrimPrefix(ep, "tcp://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			rawHandshake(t, c, "SUB")
			const flood = 20000
			go func() { _, _ = io.Copy(io.Discard, c) }() // whatever topo sends
			if sent := floodSubs(c, flood, tc.cmd, tc.size); sent == flood {
				t.Logf("the whole flood was written before topo closed the connection (kernel buffers)")
			}
			deadline := time.Now().Add(closeWithin)
			for {
				st := pub.Stats()
				mu.Lock()
				evented := limitErr != nil // the event follows the counters
				mu.Unlock()
				if st.SubLimited == 1 && st.Peers == 1 && evented {
					if st.Disconnects != 1 {
						t.Errorf("Disconnects = %d, want 1", st.Disconnects)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the flooding peer was not disconnected (or no event said so): %+v", st)
				}
				time.Sleep(5 * time.Millisecond)
			}
			mu.Lock()
			if limitErr == nil || !strings.Contains(limitErr.Error(), "127.0.0.1:") {
				t.Errorf("disconnected event error = %v, want ErrSubLimit naming the peer", limitErr)
			}
			mu.Unlock()
			if tc.typ == socket.XPUB {
				// Exactly the accepted subscriptions, then their cancels.
				subs := map[string]bool{}
				for i := 0; i < tc.keep; i++ {
					m := mustRecv(ctx, t, pub, fmt.Sprintf("subscription %d", i))
					if m[0][0] != 1 || subs[string(m[0][1:])] {
						t.Fatalf("message %d: %q, want a new subscription", i, m[0][:min(len(m[0]), 8)])
					}
					subs[string(m[0][1:])] = true
				}
				for i := 0; i < tc.keep; i++ {
					m := mustRecv(ctx, t, pub, fmt.Sprintf("cancel %d", i))
					if m[0][0] != 0 || !subs[string(m[0][1:])] {
						t.Fatalf("message %d after the subscriptions: %q, want a cancel of one of them", i, m[0][:min(len(m[0]), 8)])
					}
					delete(subs, string(m[0][1:]))
				}
				expectNothing(ctx, t, pub, 100*time.Millisecond)
			}
			// The good subscriber still gets its messages.
			if err := pub.Send(ctx, socket.Msg{[]byte("good news")}); err != nil {
				t.Fatal(err)
			}
			if m := mustRecv(ctx, t, good, "good news"); string(m[0]) != "good news" {
				t.Fatalf("good SUB got %q", m)
			}
		})
	}
}

// The default budget lets a legitimate peer hold 100,000 prefixes (libzmq
// resends them all on every reconnect), over inproc as over tcp; the
// 100,001st disconnects it.
func TestSubscriptionDefaultBudget(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	zctx := &socket.Context{}
	defer zctx.Close()
	pub := newSock(t, zctx, socket.PUB, socket.Options{})
	if err := pub.Bind("inproc://budget"); err != nil {
		t.Fatal(err)
	}
	// An XSUB, whose subscriptions cost O(1) each and send themselves as
	// messages.
	sub := newSock(t, zctx, socket.XSUB, socket.Options{})
	connect(t, sub, "inproc://budget")
	for i := 0; i < 100_000; i++ {
		mustSend(ctx, t, sub, socket.Msg{fmt.Appendf(nil, "\x01p%06d", i)}, "subscription")
	}
	if st := pub.Stats(); st.SubLimited != 0 || st.Peers != 1 {
		t.Fatalf("after 100,000 prefixes: %+v, want the peer kept", st)
	}
	mustSend(ctx, t, sub, socket.Msg{[]byte("\x01one too many")}, "subscription")
	if st := pub.Stats(); st.SubLimited != 1 || st.Peers != 0 {
		t.Fatalf("after 100,001 prefixes: SubLimited %d, Peers %d, want 1 and 0", st.SubLimited, st.Peers)
	}
}

// What a flooding peer made an XPUB hold is released when the peer leaves:
// the heap returns to about where it was.
func TestSubscriptionMemoryReleased(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	zctx := &socket.Context{}
	defer zctx.Close()
	xpub := newSock(t, zctx, socket.XPUB, socket.Options{})
	ep := bindEphemeral(t, xpub)
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	const n = 50_000 // about 6 MB of prefixes
	c, err := net.Dial("tcp", strings.TrimPrefix(ep, "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	rawHandshake(t, c, "SUB")
	go func() { _, _ = io.Copy(io.Discard, c) }()
	if sent := floodSubs(c, n, false, randomSize); sent != n {
		t.Fatalf("wrote %d of %d subscriptions", sent, n)
	}
	for i := 0; i < n; i++ {
		mustRecv(ctx, t, xpub, "subscription")
	}
	held := heap()
	_ = c.Close()
	for i := 0; i < n; i++ {
		if m := mustRecv(ctx, t, xpub, "cancel"); m[0][0] != 0 {
			t.Fatalf("got %q, want a cancel", m[0][:1])
		}
	}
	after := heap()
	t.Logf("heap: %d KiB before, %d KiB holding %d subscriptions, %d KiB after the peer left", base>>10, held>>10, n, after>>10)
	if held < base+4<<20 {
		t.Fatalf("holding %d subscriptions grew the heap by only %d KiB: the test measures nothing", n, (held-base)>>10)
	}
	if after > base+(held-base)/4 {
		t.Errorf("after the peer left the heap is %d KiB, want near the %d KiB before (it held %d KiB)", after>>10, base>>10, held>>10)
	}
}
