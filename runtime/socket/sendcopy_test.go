package socket_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/topo-zmq/topo/runtime/socket"
)

// SendCopy copies what the socket keeps: a sender that reuses one buffer
// per frame, overwriting it right after each call, has every message
// arrive as it was when sent. Sizes cover each way SendCopy copies (into
// the outbound queue's slot, into one new buffer, into pooled frames) and
// multi-frame messages; bursts make messages queue behind the writer, and
// paced ones go by direct writes. tcp plain and CURVE, and inproc (the
// receiver keeps the Msg itself).
func TestSendCopyReusedBuffers(t *testing.T) {
	for _, tr := range []string{"tcp", "curve", "inproc"} {
		for _, typ := range [][2]socket.Type{{socket.PUSH, socket.PULL}, {socket.PUB, socket.SUB}, {socket.DEALER, socket.DEALER}} {
			t.Run(fmt.Sprintf("%s/%s", tr, typ[0]), func(t *testing.T) {
				sendCopyReused(t, tr, typ[0], typ[1])
			})
		}
	}
}

func sendCopyReused(t *testing.T, tr string, st, rt socket.Type) {
	ctx, sctx, rctx := senderReceiver(t)
	sec := "plain"
	if tr == "curve" {
		sec = "curve"
	}
	so, ro := securityPair(t, sec)
	so.SendHWM, ro.RecvHWM = -1, -1 // PUB drops nothing: every message is checked
	rcv := newSock(t, rctx, rt, ro)
	if tr == "inproc" {
		rcv = newSock(t, sctx, rt, ro) // inproc peers share a Context
	}
	snd := newSock(t, sctx, st, so)
	if rt == socket.SUB {
		if err := rcv.Subscribe(nil); err != nil {
			t.Fatal(err)
		}
	}
	if tr == "inproc" {
		ep := fmt.Sprintf("inproc://sendcopy-%s-%p", st, t)
		if err := rcv.Bind(ep); err != nil {
			t.Fatal(err)
		}
		connect(t, snd, ep)
	} else {
		connect(t, snd, bindEphemeral(t, rcv))
	}
	if err := snd.WaitPeers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if st == socket.PUB {
		if err := snd.WaitUntil(ctx, func(s socket.Stats) bool { return s.Subscribes > 0 }); err != nil {
			t.Fatal(err)
		}
	}
	// shapes: frame sizes of each message, in turn.
	shapes := [][]int{{16}, {40}, {0}, {41}, {300}, {2000}, {8, 16}, {16, 3000}}
	const n = 4000
	bufs := map[int][]byte{} // one buffer per (shape position, frame) size, reused
	buf := func(k, size int) []byte {
		key := k<<32 | size
		if bufs[key] == nil {
			bufs[key] = make([]byte, size)
		}
		return bufs[key]
	}
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			sh := shapes[i%len(shapes)]
			m := make(socket.Msg, len(sh))
			for k, size := range sh {
				m[k] = buf(k, size)
				fillSeq(m[k], i)
			}
			if err := snd.SendCopy(ctx, m); err != nil {
				errc <- err
				return
			}
			for _, f := range m {
				fillSeq(f, -1) // the caller may reuse it at once
			}
			if i%500 == 499 {
				time.Sleep(2 * time.Millisecond) // the writer goes idle: direct writes next
			}
		}
		errc <- nil
	}()
	for i := 0; i < n; i++ {
		sh := shapes[i%len(shapes)]
		m := mustRecv(ctx, t, rcv, "message")
		if len(m) != len(sh) {
			t.Fatalf("message %d: %d frames, want %d", i, len(m), len(sh))
		}
		for k, size := range sh {
			if !seqOK(m[k], i, size) {
				t.Fatalf("message %d frame %d (%d bytes) arrived changed: the socket kept the caller's buffer", i, k, size)
			}
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// A small one-frame message SendCopy queues for a tcp connection costs no
// allocation: it is copied into the outbound queue's slot. With the
// receiver's reader held at its high-water mark and the kernel's buffers
// full, the messages stay queued, so what is measured is SendCopy alone
// (a chunk of slots every 128 messages); Send of a copy would allocate
// twice per message.
func TestSendCopySmallAllocatesNothing(t *testing.T) {
	ctx, sctx, rctx := senderReceiver(t)
	rcv := newSock(t, rctx, socket.PULL, socket.Options{RecvHWM: 1})
	snd := newSock(t, sctx, socket.PUSH, socket.Options{SendHWM: 1 << 20})
	connect(t, snd, bindEphemeral(t, rcv))
	if err := snd.WaitPeers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 32)
	m := socket.Msg{b}
	// The receiver's reader stops once its queue holds one message; the
	// writer's writes then fill the kernel's buffers (allocating nothing)
	// and the sender's queue grows.
	for i := 0; i < 20000; i++ {
		fillSeq(b, i)
		if err := snd.SendCopy(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(20000, func() {
		if err := snd.SendCopy(ctx, m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0.1 {
		t.Fatalf("SendCopy of a 32-byte message allocated %.3f times per message, want about 1/64 (a chunk of 128 slots and its copies)", allocs)
	}
}
