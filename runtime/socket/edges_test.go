package socket_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/topo-zmq/topo/runtime/socket"
)

// edgeOf returns s's Stats.Edges entry for peer (external: the external one).
func edgeOf(s *socket.Socket, peer string, external bool) (socket.EdgeStats, bool) {
	for _, e := range s.Stats().Edges {
		if e.Peer == peer && e.External == external {
			return e, true
		}
	}
	return socket.EdgeStats{}, false
}

// waitEdge waits until s's edge towards peer satisfies ok.
func waitEdge(ctx context.Context, t *testing.T, s *socket.Socket, peer string, external bool, what string, ok func(socket.EdgeStats) bool) socket.EdgeStats {
	t.Helper()
	for {
		e, found := edgeOf(s, peer, external)
		if found && ok(e) {
			return e
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s edge %q (external %v): %s: have %+v (all: %+v)", s.Type(), peer, external, what, e, s.Stats().Edges)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func edgeSetup(t *testing.T) (context.Context, *socket.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	zctx := &socket.Context{}
	t.Cleanup(func() { _ = zctx.Close() })
	return ctx, zctx
}

// A PUSH's round-robin is attributed to each peer by name, over inproc,
// ipc and tcp, and every peer outside the run to the one external entry;
// a PULL that does not read shows the messages queued from its peer, and
// none once it has read them.
func TestEdgesPushRoundRobin(t *testing.T) {
	ctx, zctx := edgeSetup(t)
	const per = 50
	push := newSock(t, zctx, socket.PUSH, socket.Options{Run: "r1", Name: "gen.out"})
	pulls := map[string]*socket.Socket{}
	eps := map[string]string{
		"a.in": "inproc://edges-a",
		"b.in": "ipc://" + filepath.Join(t.TempDir(), "b.sock"),
		"c.in": "tcp://127.0.0.1:0",
		"":     "tcp://127.0.0.1:0", // no run: external
	}
	for name, ep := range eps {
		o := socket.Options{Run: "r1", Name: name}
		if name == "" {
			o = socket.Options{}
		}
		pull := newSock(t, zctx, socket.PULL, o)
		if err := pull.Bind(ep); err != nil {
			t.Fatal(err)
		}
		connect(t, push, pull.Endpoints()[0])
		pulls[name] = pull
	}
	if err := push.WaitPeers(ctx, len(eps)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < per*len(eps); i++ {
		mustSend(ctx, t, push, socket.Msg{[]byte(fmt.Sprint(i))}, fmt.Sprint(i))
	}
	for name, pull := range pulls {
		ext := name == ""
		e := waitEdge(ctx, t, push, name, ext, "sent all", func(e socket.EdgeStats) bool { return e.Sent == per })
		if e.Received != 0 {
			t.Errorf("push edge %q: Received %d, want 0", name, e.Received)
		}
		// The PULL has not read: its peer's messages wait in its queue.
		from, fromExt := "gen.out", false
		if ext {
			from, fromExt = "", true // a socket with no run sees every peer as external
		}
		waitEdge(ctx, t, pull, from, fromExt, "queued", func(e socket.EdgeStats) bool { return e.Received == per && e.QueuedIn == per })
		for i := 0; i < per; i++ {
			mustRecv(ctx, t, pull, fmt.Sprint(i))
		}
		waitEdge(ctx, t, pull, from, fromExt, "drained", func(e socket.EdgeStats) bool { return e.Received == per && e.QueuedIn == 0 })
	}
	if n := len(push.Stats().Edges); n != len(eps) {
		t.Errorf("push has %d edges, want %d: %+v", n, len(eps), push.Stats().Edges)
	}
}

// A PUB's fan-out counts each subscriber's messages: what matched its
// subscription, not what the PUB dropped or filtered.
func TestEdgesPubFanOut(t *testing.T) {
	ctx, zctx := edgeSetup(t)
	pub := newSock(t, zctx, socket.PUB, socket.Options{Run: "r1", Name: "pub.out"})
	ep := bindEphemeral(t, pub)
	subs := map[string]string{"all.in": "", "a.in": "a"}
	for name, prefix := range subs {
		s := newSock(t, zctx, socket.SUB, socket.Options{Run: "r1", Name: name})
		if err := s.Subscribe([]byte(prefix)); err != nil {
			t.Fatal(err)
		}
		connect(t, s, ep)
	}
	if err := pub.WaitPeers(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		topic := "a"
		if i%3 != 0 {
			topic = "b"
		}
		mustSend(ctx, t, pub, socket.Msg{[]byte(topic)}, fmt.Sprint(i))
	}
	waitEdge(ctx, t, pub, "all.in", false, "30 sent", func(e socket.EdgeStats) bool { return e.Sent == 30 })
	waitEdge(ctx, t, pub, "a.in", false, "10 sent", func(e socket.EdgeStats) bool { return e.Sent == 10 })
}

// A ROUTER's replies are attributed to the peer they are routed to; a
// peer's counts stay after it disconnects.
func TestEdgesRouterAndGonePeers(t *testing.T) {
	ctx, zctx := edgeSetup(t)
	router := newSock(t, zctx, socket.ROUTER, socket.Options{Run: "r1", Name: "srv.rt"})
	ep := bindEphemeral(t, router)
	d := newSock(t, zctx, socket.DEALER, socket.Options{Run: "r1", Name: "cli.dl"})
	connect(t, d, ep)
	for i := 0; i < 5; i++ {
		mustSend(ctx, t, d, socket.Msg{[]byte("req")}, "request")
		m := mustRecv(ctx, t, router, "request")
		mustSend(ctx, t, router, socket.Msg{m[0], []byte("rep")}, "reply")
		mustRecv(ctx, t, d, "reply")
	}
	e := waitEdge(ctx, t, router, "cli.dl", false, "5 each way", func(e socket.EdgeStats) bool { return e.Sent == 5 && e.Received == 5 })
	_ = d.Close()
	waitConns(ctx, t, router, 0)
	after, ok := edgeOf(router, "cli.dl", false)
	if !ok || after.Sent != e.Sent || after.Received != e.Received {
		t.Errorf("after the peer left: edge %+v (found %v), want the counts %+v kept", after, ok, e)
	}
}

// Send's time blocked at the high-water mark (Stats.SendBlocked) grows on a
// PUSH whose only PULL is slow, and stays 0 on one that never waits.
func TestSendBlockedAtHWM(t *testing.T) {
	for _, tr := range []string{"inproc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			ctx, zctx := edgeSetup(t)
			pull := newSock(t, zctx, socket.PULL, socket.Options{RecvHWM: 1})
			ep := "inproc://blocked-" + t.Name()
			if tr == "tcp" {
				ep = bindEphemeral(t, pull)
			} else if err := pull.Bind(ep); err != nil {
				t.Fatal(err)
			}
			push := newSock(t, zctx, socket.PUSH, socket.Options{SendHWM: 1})
			connect(t, push, ep)
			if err := push.WaitPeers(ctx, 1); err != nil {
				t.Fatal(err)
			}
			// Large messages over tcp, so the kernel's buffers fill too.
			body := make([]byte, 1)
			n := 20
			if tr == "tcp" {
				body, n = make([]byte, 256<<10), 64
			}
			done := make(chan error, 1)
			go func() {
				for i := 0; i < n; i++ {
					if err := push.Send(ctx, socket.Msg{body}); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			for i := 0; i < n; i++ {
				time.Sleep(2 * time.Millisecond) // the slow consumer
				mustRecv(ctx, t, pull, fmt.Sprint(i))
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if b := push.Stats().SendBlocked; b <= 0 {
				t.Errorf("SendBlocked = %v after %d sends to a slow PULL at HWM 1, want > 0", b, n)
			}
			if b := pull.Stats().SendBlocked; b != 0 {
				t.Errorf("PULL SendBlocked = %v, want 0", b)
			}
		})
	}
	t.Run("never waits", func(t *testing.T) {
		ctx, zctx := edgeSetup(t)
		pull := newSock(t, zctx, socket.PULL, socket.Options{RecvHWM: -1})
		if err := pull.Bind("inproc://blocked-never"); err != nil {
			t.Fatal(err)
		}
		push := newSock(t, zctx, socket.PUSH, socket.Options{SendHWM: -1})
		connect(t, push, "inproc://blocked-never")
		if err := push.WaitPeers(ctx, 1); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 1000; i++ {
			mustSend(ctx, t, push, socket.Msg{[]byte("x")}, fmt.Sprint(i))
		}
		if b := push.Stats().SendBlocked; b != 0 {
			t.Errorf("SendBlocked = %v with unbounded queues, want 0", b)
		}
	})
}
