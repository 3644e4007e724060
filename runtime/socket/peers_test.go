package socket_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/topo-zmq/topo/runtime/socket"
)

// peerEvents records the connection events of a socket, by kind.
type peerEvents struct {
	mu sync.Mutex
	ev []socket.Event
}

func (p *peerEvents) record(e socket.Event) {
	p.mu.Lock()
	p.ev = append(p.ev, e)
	p.mu.Unlock()
}

func (p *peerEvents) find(k socket.EventKind) (socket.Event, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.ev {
		if e.Kind == k {
			return e, true
		}
	}
	return socket.Event{}, false
}

// waitConns waits until s reports n connections in Stats().Conns.
func waitConns(ctx context.Context, t *testing.T, s *socket.Socket, n int) []socket.PeerInfo {
	t.Helper()
	for {
		st := s.Stats()
		if len(st.Conns) == n {
			if st.Peers != n {
				t.Fatalf("%s: Stats().Peers = %d but %d Conns: %+v", s.Type(), st.Peers, len(st.Conns), st.Conns)
			}
			return st.Conns
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: waiting for %d connections: have %+v", s.Type(), n, st.Conns)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Two topo sockets of one run see each other's names (Options.Run and
// Name) over every transport, in Stats().Conns and in their connection
// events; a socket of another run, and a socket with no run, are external.
func TestPeersKnowEachOther(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc", "inproc"} {
		for _, sec := range []string{"null", "plain"} {
			if tr == "inproc" && sec == "plain" {
				continue // inproc has no handshake
			}
			t.Run(tr+"/"+sec, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				zctx := &socket.Context{}
				defer zctx.Close()
				var ep string
				switch tr {
				case "tcp":
					ep = "tcp://127.0.0.1:0"
				case "ipc":
					ep = "ipc://" + filepath.Join(t.TempDir(), "peers.sock")
				default:
					ep = "inproc://peers"
				}
				opts := func(run, name string, ev *peerEvents) socket.Options {
					o := socket.Options{Run: run, Name: name, OnEvent: ev.record}
					if sec == "plain" {
						o.Security = socket.Plain{Username: "u", Password: "p"}
					}
					return o
				}
				var pullEv, pushEv, otherEv, anonEv peerEvents
				pull := newSock(t, zctx, socket.PULL, opts("run-1", "sink.in", &pullEv))
				if err := pull.Bind(ep); err != nil {
					t.Fatal(err)
				}
				ep = pull.Endpoints()[0]
				push := newSock(t, zctx, socket.PUSH, opts("run-1", "worker[2].out", &pushEv))
				connect(t, push, ep)

				got := waitConns(ctx, t, pull, 1)[0]
				if got.Run != "run-1" || got.Name != "worker[2].out" || got.External {
					t.Errorf("PULL sees %+v, want run-1 worker[2].out, not external", got)
				}
				got = waitConns(ctx, t, push, 1)[0]
				if got.Run != "run-1" || got.Name != "sink.in" || got.External || got.Endpoint != ep {
					t.Errorf("PUSH sees %+v, want run-1 sink.in on %s, not external", got, ep)
				}
				if e, ok := pullEv.find(socket.EventConnected); !ok || e.PeerName != "worker[2].out" || e.PeerRun != "run-1" || e.External {
					t.Errorf("PULL connected event = %+v (found %v), want worker[2].out of run-1", e, ok)
				}
				if e, ok := pushEv.find(socket.EventConnected); !ok || e.PeerName != "sink.in" || e.External {
					t.Errorf("PUSH connected event = %+v (found %v), want sink.in", e, ok)
				}
				mustSend(ctx, t, push, socket.Msg{[]byte("hello")}, "hello")
				if m := mustRecv(ctx, t, pull, "hello"); string(m[0]) != "hello" {
					t.Fatalf("got %q", m)
				}

				// Another run's socket, and one that announces nothing.
				other := newSock(t, zctx, socket.PUSH, opts("run-2", "x.out", &otherEv))
				connect(t, other, ep)
				anon := newSock(t, zctx, socket.PUSH, opts("", "", &anonEv))
				connect(t, anon, ep)
				byName := map[string]socket.PeerInfo{}
				for _, c := range waitConns(ctx, t, pull, 3) {
					byName[c.Name] = c
				}
				if c := byName["x.out"]; c.Run != "run-2" || !c.External {
					t.Errorf("PULL sees the other run's socket as %+v, want run-2, external", c)
				}
				if c, ok := byName[""]; !ok || c.Run != "" || !c.External {
					t.Errorf("PULL sees the anonymous socket as %+v (found %v), want no run, external", c, ok)
				}
				if c := waitConns(ctx, t, anon, 1)[0]; c.Name != "sink.in" || !c.External {
					t.Errorf("a socket without a run sees %+v, want sink.in, external (it has no run to share)", c)
				}
				if c := waitConns(ctx, t, other, 1)[0]; c.Name != "sink.in" || !c.External {
					t.Errorf("the other run's socket sees %+v, want sink.in, external", c)
				}

				_ = push.Close()
				deadline := time.Now().Add(10 * time.Second)
				for {
					e, ok := pullEv.find(socket.EventDisconnected)
					if ok {
						if e.PeerName != "worker[2].out" {
							t.Errorf("first disconnect names %q, want worker[2].out", e.PeerName)
						}
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("no disconnected event after the PUSH closed")
					}
					time.Sleep(2 * time.Millisecond)
				}
			})
		}
	}
}

// A libzmq peer interoperates with a topo socket that announces its run,
// in both directions, and is reported external, with no run or name.
func TestInteropPeersExternal(t *testing.T) {
	const n = 100
	nArg := strconv.Itoa(n)
	t.Run("pyzmq PUSH connects to topo PULL", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		var ev peerEvents
		pull := newSock(t, zctx, socket.PULL, socket.Options{Run: "run-1", Name: "sink.in", OnEvent: ev.record})
		ep := bindEphemeral(t, pull)
		py := startPeer(ctx, t, "pyzmq PUSH", "-role", "push", "-ep", ep, "-n", nArg)
		for i := 0; i < n; i++ {
			m := mustRecv(ctx, t, pull, fmt.Sprintf("message %d", i))
			if want := pyData(i); !sameMsg(m, want) {
				t.Fatalf("message %d: got %s, want %s", i, describe(m), describe(want))
			}
		}
		if e, ok := ev.find(socket.EventConnected); !ok || !e.External || e.PeerRun != "" || e.PeerName != "" {
			t.Errorf("connected event = %+v (found %v), want an external peer with no run or name", e, ok)
		}
		py.result(ctx)
	})
	t.Run("topo PUSH connects to pyzmq PULL", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		py := startPeer(ctx, t, "pyzmq PULL", "-role", "pull-meta", "-bind", "-n", nArg)
		push := newSock(t, zctx, socket.PUSH, socket.Options{Run: "run-1", Name: "gen.out"})
		connect(t, push, py.endpoint(ctx))
		c := waitConns(ctx, t, push, 1)[0]
		if !c.External || c.Run != "" || c.Name != "" {
			t.Errorf("PUSH sees the libzmq peer as %+v, want external with no run or name", c)
		}
		for i := 0; i < n; i++ {
			mustSend(ctx, t, push, pyData(i), fmt.Sprintf("message %d", i))
		}
		res := py.result(ctx)
		if num(res, "received") != n {
			t.Errorf("pyzmq PULL received %d, want %d", num(res, "received"), n)
		}
		// libzmq kept what topo announced as message metadata.
		if res["X-Topo-Run"] != "run-1" || res["X-Topo-Peer"] != "gen.out" || res["Socket-Type"] != "PUSH" {
			t.Errorf("libzmq sees the properties %v %v %v, want run-1, gen.out, PUSH", res["X-Topo-Run"], res["X-Topo-Peer"], res["Socket-Type"])
		}
	})
}

// lingerSetup connects a PUSH of run-1 (in its own Context, lingering up to
// an hour) to a PULL made by newPull in another Context, and queues more
// than the PULL (which is not reading) and the kernel can take, so the PUSH
// has messages queued when it closes. It returns the PUSH's Context.
func lingerSetup(ctx context.Context, t *testing.T, pull *socket.Socket, n int, body []byte) (*socket.Context, *socket.Socket) {
	t.Helper()
	ep := bindEphemeral(t, pull)
	zctx := &socket.Context{}
	t.Cleanup(func() { _ = zctx.Close() })
	push := newSock(t, zctx, socket.PUSH, socket.Options{Run: "run-1", Name: "gen.out", Linger: time.Hour, SendHWM: -1})
	connect(t, push, ep)
	if err := push.WaitPeers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		mustSend(ctx, t, push, socket.Msg{[]byte(strconv.Itoa(i)), body}, fmt.Sprint(i))
	}
	return zctx, push
}

// closeByDeadline closes s and fails the test if Close has not returned by ctx's
// deadline (a Close lingering for its hour).
func closeByDeadline(ctx context.Context, t *testing.T, s *socket.Socket) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Close() }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("%s Close still lingering: %v", s.Type(), ctx.Err())
	}
}

// When the run stops (Context.StopRun), Close does not linger for messages
// queued towards a peer of the same run: that peer is stopping too.
func TestStopRunDropsInRunQueues(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pctx := &socket.Context{}
	defer pctx.Close()
	pull := newSock(t, pctx, socket.PULL, socket.Options{Run: "run-1", Name: "count.in", RecvHWM: 1, Linger: -1})
	zctx, push := lingerSetup(ctx, t, pull, 200, make([]byte, 256<<10))
	t.Run("StopRun then Close", func(t *testing.T) {
		zctx.StopRun()
		closeByDeadline(ctx, t, push)
	})
	_ = pull.Close()

	// StopRun while a Close is already lingering ends the wait too.
	pull2 := newSock(t, pctx, socket.PULL, socket.Options{Run: "run-1", Name: "count.in", RecvHWM: 1, Linger: -1})
	zctx2, push2 := lingerSetup(ctx, t, pull2, 200, make([]byte, 256<<10))
	t.Run("Close then StopRun", func(t *testing.T) {
		done := make(chan struct{})
		go func() { defer close(done); _ = push2.Close() }()
		select {
		case <-done:
			t.Fatal("Close returned before StopRun: nothing was left to linger for, the test proves nothing")
		case <-time.After(100 * time.Millisecond):
		}
		zctx2.StopRun()
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatal("Close still lingering after StopRun")
		}
	})
}

// After StopRun, Close still lingers for an external peer (one that
// announces no run: a libzmq peer, or here a topo socket without one) and
// delivers everything queued for it.
func TestStopRunLingersForExternal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pctx := &socket.Context{}
	defer pctx.Close()
	const n = 200
	pull := newSock(t, pctx, socket.PULL, socket.Options{RecvHWM: 1})
	zctx, push := lingerSetup(ctx, t, pull, n, make([]byte, 256<<10))
	if c := waitConns(ctx, t, push, 1)[0]; !c.External {
		t.Fatalf("the PULL without a run is %+v, want external", c)
	}
	zctx.StopRun()
	done := make(chan struct{})
	go func() { defer close(done); _ = push.Close() }()
	select {
	case <-done:
		t.Fatal("Close returned at once: it did not linger for the external peer")
	case <-time.After(100 * time.Millisecond):
	}
	for i := 0; i < n; i++ {
		m := mustRecv(ctx, t, pull, fmt.Sprint(i))
		if string(m[0]) != strconv.Itoa(i) {
			t.Fatalf("message %d: got %q", i, m[0])
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("Close did not return after the external peer took everything")
	}
}
