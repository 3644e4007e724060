package socket

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPlainSecurity(t *testing.T) {
	e := newEnv(t)
	pull := e.sock(PULL, Options{Security: Plain{Username: "user", Password: "secret"}})
	ep := e.bind(pull, "tcp://127.0.0.1:0")
	push := e.sock(PUSH, Options{Security: Plain{Username: "user", Password: "secret"}})
	e.connect(push, ep)
	e.send(push, "over PLAIN")
	if m := e.recv(pull); !eq(m, "over PLAIN") {
		t.Fatalf("got %q", m)
	}
	// A NULL peer does not get through a PLAIN socket.
	null := e.sock(PUSH, Options{})
	e.connect(null, ep)
	waitFor(e, "mechanism mismatch", func() bool { return pull.Stats().HandshakeFailures > 0 })
}

func TestCloseDoesNotWaitForStalledHandshake(t *testing.T) {
	e := newEnv(t)
	pull := e.sock(PULL, Options{HandshakeTimeout: time.Minute})
	ep := e.bind(pull, "tcp://127.0.0.1:0")
	nc, err := net.Dial("tcp", strings.TrimPrefix(ep, "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	time.Sleep(20 * time.Millisecond) // the handshake goroutine is waiting for a greeting
	start := time.Now()
	if err := pull.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Close took %v with a silent peer", d)
	}
}

func TestEvents(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	kinds := map[EventKind]int{}
	rec := func(ev Event) { mu.Lock(); kinds[ev.Kind]++; mu.Unlock() }
	pub := e.sock(PUB, Options{OnEvent: rec, SendHWM: 1})
	ep := e.bind(pub, "inproc://events")
	sub := e.sock(SUB, Options{RecvHWM: 1})
	_ = sub.Subscribe(nil)
	e.connect(sub, ep)
	e.waitPeers(pub, 1)
	for i := 0; i < 10; i++ {
		e.send(pub, "x")
	}
	_ = sub.Close()
	waitFor(e, "disconnect", func() bool { return pub.Stats().Peers == 0 })
	_ = pub.Close()
	mu.Lock()
	defer mu.Unlock()
	for _, k := range []EventKind{EventListening, EventConnected, EventSubscribed, EventDropped, EventDisconnected, EventClosed} {
		if kinds[k] == 0 {
			t.Errorf("no %s event (got %v)", k, kinds)
		}
	}
	if st := pub.Stats(); st.Dropped == 0 || st.Connects != 1 || st.Disconnects != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestInprocUnbindRebindDisconnect(t *testing.T) {
	e := newEnv(t)
	pull := e.sock(PULL, Options{})
	e.bind(pull, "inproc://rebind")
	push := e.sock(PUSH, Options{})
	e.connect(push, "inproc://rebind")
	e.waitPeers(push, 1)
	if err := pull.Unbind("inproc://rebind"); err != nil {
		t.Fatal(err)
	}
	waitFor(e, "unpaired", func() bool { return push.Stats().Peers == 0 && pull.Stats().Peers == 0 })
	if eps := pull.Endpoints(); len(eps) != 0 {
		t.Fatalf("Endpoints after Unbind: %q", eps)
	}
	pull2 := e.sock(PULL, Options{})
	e.bind(pull2, "inproc://rebind")
	e.waitPeers(push, 1) // the connector pairs with the new binder by itself
	e.send(push, "again")
	if m := e.recv(pull2); !eq(m, "again") {
		t.Fatalf("got %q", m)
	}
	if err := push.Disconnect("inproc://rebind"); err != nil {
		t.Fatal(err)
	}
	waitFor(e, "disconnected", func() bool { return pull2.Stats().Peers == 0 })
	if err := push.Disconnect("inproc://rebind"); err == nil {
		t.Fatal("second Disconnect succeeded")
	}
	// Incompatible types never pair.
	pub := e.sock(PUB, Options{})
	e.connect(pub, "inproc://rebind")
	waitFor(e, "handshake failure", func() bool { return pull2.Stats().HandshakeFailures == 1 })
}

func TestReqRelaxedAfterTimeout(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEnv(t)
			rep := e.sock(REP, Options{})
			ep := e.bind(rep, tr.ep(t))
			req := e.sock(REQ, Options{ReqRelaxed: true})
			e.connect(req, ep)
			e.send(req, "first")
			if m := e.recv(rep); !eq(m, "first") {
				t.Fatalf("REP got %q", m)
			}
			// The reply is late: the REQ gives up and asks again.
			ctx, cancel := context.WithTimeout(e.ctx, 20*time.Millisecond)
			if _, err := req.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Recv: %v", err)
			}
			cancel()
			e.send(req, "second")
			e.send(rep, "reply-to-first")
			if m := e.recv(rep); !eq(m, "second") {
				t.Fatalf("REP got %q", m)
			}
			e.send(rep, "reply-to-second")
			if m := e.recv(req); !eq(m, "reply-to-second") {
				t.Fatalf("REQ got %q, want the reply to its current request", m)
			}
		})
	}
}

// TestInprocSubscribeBeforePairing: a SUB that subscribed before its inproc
// PUB peer appeared has its subscription counted and honoured, whichever
// side binds. (The binder attaches first and sends its subscriptions into
// the pipe before the connector attaches its end.)
func TestInprocSubscribeBeforePairing(t *testing.T) {
	for _, subBinds := range []bool{true, false} {
		t.Run(fmt.Sprintf("subBinds=%v", subBinds), func(t *testing.T) {
			var c Context
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			sub, _ := c.NewSocket(SUB, Options{})
			defer sub.Close()
			pub, _ := c.NewSocket(PUB, Options{})
			defer pub.Close()
			if err := sub.Subscribe([]byte("a")); err != nil {
				t.Fatal(err)
			}
			first, second := sub, pub
			if !subBinds {
				first, second = pub, sub
			}
			if err := first.Bind("inproc://subfirst"); err != nil {
				t.Fatal(err)
			}
			if err := second.Connect("inproc://subfirst"); err != nil {
				t.Fatal(err)
			}
			if err := pub.WaitPeers(ctx, 1); err != nil {
				t.Fatalf("subscription not counted: %v (stats %+v)", err, pub.Stats())
			}
			for _, m := range []string{"b-drop", "a-keep"} {
				if err := pub.Send(ctx, Msg{[]byte(m)}); err != nil {
					t.Fatal(err)
				}
			}
			m, err := sub.Recv(ctx)
			if err != nil || string(m[0]) != "a-keep" {
				t.Fatalf("got %q, %v; want a-keep", m, err)
			}
		})
	}
}

// TestWaitPeersCountsPeersThatLeft: a peer that connected and closed again
// before anyone called WaitPeers still counts as wired (a fast task that
// finished before its downstream node asked whether it was ready).
func TestWaitPeersCountsPeersThatLeft(t *testing.T) {
	for _, tr := range []string{"inproc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			var c Context
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			pull, _ := c.NewSocket(PULL, Options{})
			defer pull.Close()
			ep := "inproc://left"
			if tr == "tcp" {
				ep = "tcp://127.0.0.1:0"
			}
			if err := pull.Bind(ep); err != nil {
				t.Fatal(err)
			}
			push, _ := c.NewSocket(PUSH, Options{})
			if err := push.Connect(pull.Endpoints()[0]); err != nil {
				t.Fatal(err)
			}
			if err := push.WaitPeers(ctx, 1); err != nil {
				t.Fatal(err)
			}
			push.Close()
			for pull.Stats().Peers != 0 {
				if ctx.Err() != nil {
					t.Fatal("peer never left")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := pull.WaitPeers(ctx, 1); err != nil {
				t.Fatalf("a peer that connected and left must count: %v", err)
			}
			short, stop := context.WithTimeout(ctx, 50*time.Millisecond)
			defer stop()
			if err := pull.WaitPeers(short, 2); err == nil {
				t.Fatal("WaitPeers(2) returned with one peer ever connected")
			}
		})
	}
}

// TestStatsExactWhenIdle: Send and Recv count locally and publish in
// batches; Stats must still be exact whenever a side is idle or blocked,
// for counts that are not a multiple of the batch.
func TestStatsExactWhenIdle(t *testing.T) {
	for _, ep := range []string{"inproc://stats", "tcp://127.0.0.1:0"} {
		t.Run(strings.SplitN(ep, ":", 2)[0], func(t *testing.T) {
			e := newEnv(t)
			pull := e.sock(PULL, Options{})
			bound := e.bind(pull, ep)
			push := e.sock(PUSH, Options{})
			e.connect(push, bound)
			e.waitPeers(pull, 1)
			const n = 2*statsEvery + 5
			for i := 0; i < n; i++ {
				e.send(push, "0123456789")
			}
			if st := push.Stats(); st.MsgsOut != n || st.BytesOut != 10*n {
				t.Errorf("PUSH after %d sends: MsgsOut=%d BytesOut=%d", n, st.MsgsOut, st.BytesOut)
			}
			for i := 0; i < n-1; i++ {
				e.recv(pull)
			}
			if st := pull.Stats(); st.MsgsIn != n-1 || st.BytesIn != 10*(n-1) {
				t.Errorf("PULL after %d receives: MsgsIn=%d BytesIn=%d", n-1, st.MsgsIn, st.BytesIn)
			}
			// A receiver blocked in Recv has published what it counted.
			e.recv(pull)
			done := make(chan error, 1)
			ctx, cancel := context.WithCancel(e.ctx)
			go func() { _, err := pull.Recv(ctx); done <- err }()
			waitFor(e, "exact MsgsIn while Recv blocks", func() bool { return pull.Stats().MsgsIn == n })
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("blocked Recv returned %v, want context.Canceled", err)
			}
		})
	}
}
