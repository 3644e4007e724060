package socket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// transport makes endpoints for one transport.
type transport struct {
	name string
	// ep returns an endpoint to bind; fixed reports whether a later Bind of
	// the same string binds the same address (false for tcp port 0).
	ep func(t *testing.T) string
	// curve: every socket of the env uses CURVE (env.sock), the server
	// role by socket type (curveServerType).
	curve bool
}

var inprocSeq atomic.Int64

var transports = []transport{
	{"inproc", func(t *testing.T) string { return fmt.Sprintf("inproc://conf-%d", inprocSeq.Add(1)) }, false},
	{"ipc", func(t *testing.T) string { return "ipc://" + filepath.Join(t.TempDir(), "s.sock") }, false},
	{"tcp", func(t *testing.T) string { return "tcp://127.0.0.1:0" }, false},
}

// tcpCurve is tcp with CURVE on every connection, for TestConformance.
var tcpCurve = transport{"tcp+curve", func(t *testing.T) string { return "tcp://127.0.0.1:0" }, true}

// fixedEP returns an endpoint that can be connected before anything binds it.
func fixedEP(t *testing.T, tr transport) string {
	if tr.name != "tcp" && !tr.curve {
		return tr.ep(t)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "tcp://" + addr
}

type env struct {
	t   *testing.T
	ctx context.Context
	zc  *Context
	// curve, when set, is the server key pair every socket of the env
	// uses: sock makes each a CURVE server or client (curveServerType).
	curve *CurveKeyPair
	pairs int // PAIR sockets made so far (the first is the server)
}

// curveServerType is the CURVE role a socket type takes in a tcp+curve
// conformance run: the receiving end of each pattern is the server,
// whichever side binds; of two PAIRs, the first made.
func (e *env) curveServerType(typ Type) bool {
	switch typ {
	case PULL, SUB, XSUB, REP, ROUTER:
		return true
	case PAIR:
		e.pairs++
		return e.pairs == 1
	}
	return false
}

func newEnv(t *testing.T) *env {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	zc := &Context{}
	t.Cleanup(func() { _ = zc.Close() })
	return &env{t: t, ctx: ctx, zc: zc}
}

func (e *env) sock(typ Type, o Options) *Socket {
	e.t.Helper()
	if e.curve != nil && o.Security == nil {
		if e.curveServerType(typ) {
			o.Security = Curve{Key: *e.curve}
		} else {
			o.Security = Curve{ServerKey: e.curve.Public}
		}
	}
	s, err := e.zc.NewSocket(typ, o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = s.Close() })
	return s
}

// bind binds s to ep and returns the connectable endpoint.
func (e *env) bind(s *Socket, ep string) string {
	e.t.Helper()
	if err := s.Bind(ep); err != nil {
		e.t.Fatalf("%s Bind(%s): %v", s.Type(), ep, err)
	}
	eps := s.Endpoints()
	for _, x := range eps {
		if x == ep || len(eps) == 1 {
			return x
		}
	}
	return eps[len(eps)-1]
}

func (e *env) connect(s *Socket, ep string) {
	e.t.Helper()
	if err := s.Connect(ep); err != nil {
		e.t.Fatalf("%s Connect(%s): %v", s.Type(), ep, err)
	}
}

func (e *env) send(s *Socket, frames ...string) {
	e.t.Helper()
	m := make(Msg, len(frames))
	for i, f := range frames {
		m[i] = []byte(f)
	}
	if err := s.Send(e.ctx, m); err != nil {
		e.t.Fatalf("%s Send(%q): %v", s.Type(), frames, err)
	}
}

func (e *env) recv(s *Socket) Msg {
	e.t.Helper()
	m, err := s.Recv(e.ctx)
	if err != nil {
		e.t.Fatalf("%s Recv: %v (stats %+v)", s.Type(), err, s.Stats())
	}
	return m
}

func (e *env) waitPeers(s *Socket, n int) {
	e.t.Helper()
	if err := s.WaitPeers(e.ctx, n); err != nil {
		e.t.Fatalf("%s WaitPeers(%d): %v", s.Type(), n, err)
	}
}

func (e *env) nothing(s *Socket, d time.Duration) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, d)
	defer cancel()
	if m, err := s.Recv(ctx); err == nil {
		e.t.Fatalf("%s: unexpected message %q", s.Type(), m)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		e.t.Fatalf("%s: Recv: %v, want DeadlineExceeded", s.Type(), err)
	}
}

func eq(m Msg, frames ...string) bool {
	if len(m) != len(frames) {
		return false
	}
	for i := range m {
		if string(m[i]) != frames[i] {
			return false
		}
	}
	return true
}

// queued counts messages waiting in s's inbound pipe queues.
func queued(s *Socket) int {
	n := 0
	for _, p := range *s.pipes.Load() {
		if p.fast != nil {
			n += int(p.fast.pushed.Load() - p.fast.taken.Load())
			continue
		}
		p.in.mu.Lock()
		n += p.in.n
		p.in.mu.Unlock()
	}
	return n
}

func waitFor(e *env, what string, cond func() bool) {
	e.t.Helper()
	for !cond() {
		select {
		case <-e.ctx.Done():
			e.t.Fatalf("waiting for %s: %v", what, e.ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

var conformance = []struct {
	name string
	run  func(e *env, tr transport)
}{
	{"push-round-robin", func(e *env, tr transport) {
		push := e.sock(PUSH, Options{})
		ep := e.bind(push, tr.ep(e.t))
		const peers, n = 4, 2000
		pulls := make([]*Socket, peers)
		for i := range pulls {
			pulls[i] = e.sock(PULL, Options{})
			e.connect(pulls[i], ep)
		}
		e.waitPeers(push, peers)
		for i := 0; i < n; i++ {
			e.send(push, fmt.Sprint(i))
		}
		var total atomic.Int64
		counts := make([]int, peers)
		var wg sync.WaitGroup
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		for i, p := range pulls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if _, err := p.Recv(ctx); err != nil {
						return
					}
					counts[i]++
					if total.Add(1) == n {
						cancel()
					}
				}
			}()
		}
		wg.Wait()
		if total.Load() != n {
			e.t.Fatalf("received %d of %d", total.Load(), n)
		}
		for i, c := range counts {
			if share := float64(c) / n; share < 0.20 || share > 0.30 {
				e.t.Errorf("PULL %d got %d of %d (%.1f%%), want 25%% ± 5%%", i, c, n, 100*share)
			}
		}
	}},
	{"pull-fair-queue", func(e *env, tr transport) {
		pull := e.sock(PULL, Options{})
		ep := e.bind(pull, tr.ep(e.t))
		a, b := e.sock(PUSH, Options{}), e.sock(PUSH, Options{})
		e.connect(a, ep)
		e.connect(b, ep)
		e.waitPeers(pull, 2)
		const n = 200
		for i := 0; i < n; i++ {
			e.send(a, "a")
		}
		for i := 0; i < n; i++ {
			e.send(b, "b")
		}
		waitFor(e, "all messages queued at PULL", func() bool { return queued(pull) == 2*n })
		got := map[string]int{}
		for i := 0; i < 100; i++ {
			got[string(e.recv(pull)[0])]++
		}
		if got["a"] < 40 || got["b"] < 40 {
			e.t.Errorf("first 100 messages: %v, want both peers served in turn", got)
		}
		for i := 100; i < 2*n; i++ {
			e.recv(pull)
		}
	}},
	{"pub-sub-prefix-filter", func(e *env, tr transport) {
		pub := e.sock(PUB, Options{})
		ep := e.bind(pub, tr.ep(e.t))
		sub := e.sock(SUB, Options{})
		if err := sub.Subscribe([]byte("wx")); err != nil {
			e.t.Fatal(err)
		}
		e.connect(sub, ep)
		all := e.sock(SUB, Options{})
		_ = all.Subscribe(nil)
		e.connect(all, ep)
		e.waitPeers(pub, 2)
		msgs := []string{"wx-1", "zz-1", "w", "wx", "wxy", "a", "wx-2"}
		for _, m := range msgs {
			e.send(pub, m, "body")
		}
		for _, want := range []string{"wx-1", "wx", "wxy", "wx-2"} {
			if m := e.recv(sub); !eq(m, want, "body") {
				e.t.Fatalf("SUB got %q, want [%s body]", m, want)
			}
		}
		for _, want := range msgs {
			if m := e.recv(all); !eq(m, want, "body") {
				e.t.Fatalf("SUB(all) got %q, want [%s body]", m, want)
			}
		}
		e.nothing(sub, 50*time.Millisecond)
		// Publisher-side filtering: the filtered subscriber's pipe never saw
		// the others (checked by its inbound counters being exactly 4).
		if st := sub.Stats(); st.MsgsIn != 4 {
			e.t.Errorf("SUB MsgsIn = %d, want 4", st.MsgsIn)
		}
		// Unsubscribe stops delivery.
		_ = sub.Unsubscribe([]byte("wx"))
		_ = sub.Subscribe([]byte("zz"))
		waitFor(e, "resubscription at PUB", func() bool {
			for _, p := range *pub.pipes.Load() {
				if p.subMatch([]byte("zz")) && !p.subMatch([]byte("wx")) {
					return true
				}
			}
			return false
		})
		e.send(pub, "wx-3")
		e.send(pub, "zz-3")
		if m := e.recv(sub); !eq(m, "zz-3") {
			e.t.Fatalf("after resubscribe got %q, want [zz-3]", m)
		}
	}},
	{"pub-slow-subscriber-isolated", func(e *env, tr transport) {
		pub := e.sock(PUB, Options{SendHWM: 50})
		ep := e.bind(pub, tr.ep(e.t))
		fast := e.sock(SUB, Options{RecvHWM: 50})
		slow := e.sock(SUB, Options{RecvHWM: 50})
		_ = fast.Subscribe(nil)
		_ = slow.Subscribe(nil)
		e.connect(fast, ep)
		e.connect(slow, ep)
		e.waitPeers(pub, 2)
		// 10 MB in total, more than loopback socket buffers absorb, so the
		// slow subscriber's queue really fills on every transport.
		const bursts, burst = 100, 50
		pad := bytes.Repeat([]byte{'x'}, 2048)
		for i := 0; i < bursts; i++ {
			for j := 0; j < burst; j++ {
				if err := pub.Send(e.ctx, Msg{[]byte(fmt.Sprint(i*burst + j)), pad}); err != nil {
					e.t.Fatal(err)
				}
			}
			for j := 0; j < burst; j++ {
				if m := e.recv(fast); string(m[0]) != fmt.Sprint(i*burst+j) {
					e.t.Fatalf("fast subscriber got %q, want %d", m[0], i*burst+j)
				}
			}
		}
		if st := pub.Stats(); st.Dropped == 0 {
			e.t.Errorf("PUB Dropped = 0, want drops for the slow subscriber (stats %+v)", st)
		}
	}},
	{"req-rep-envelope", func(e *env, tr transport) {
		rep := e.sock(REP, Options{})
		ep := e.bind(rep, tr.ep(e.t))
		req := e.sock(REQ, Options{})
		e.connect(req, ep)
		if _, err := req.Recv(e.ctx); !errors.Is(err, ErrState) {
			e.t.Fatalf("REQ Recv before Send: %v, want ErrState", err)
		}
		if err := rep.Send(e.ctx, Msg{[]byte("x")}); !errors.Is(err, ErrState) {
			e.t.Fatalf("REP Send before Recv: %v, want ErrState", err)
		}
		for i := 0; i < 20; i++ {
			e.send(req, "hello", fmt.Sprint(i))
			if err := req.Send(e.ctx, Msg{[]byte("again")}); !errors.Is(err, ErrState) {
				e.t.Fatalf("second REQ Send: %v, want ErrState", err)
			}
			if m := e.recv(rep); !eq(m, "hello", fmt.Sprint(i)) {
				e.t.Fatalf("REP got %q", m)
			}
			e.send(rep, "world", fmt.Sprint(i))
			if m := e.recv(req); !eq(m, "world", fmt.Sprint(i)) {
				e.t.Fatalf("REQ got %q", m)
			}
		}
		// REQ to a ROUTER: the ROUTER sees [id, "", body] and must answer so.
		router := e.sock(ROUTER, Options{})
		rep2 := e.bind(router, tr.ep(e.t))
		req2 := e.sock(REQ, Options{Identity: []byte("client-1")})
		e.connect(req2, rep2)
		e.send(req2, "ping")
		if m := e.recv(router); !eq(m, "client-1", "", "ping") {
			e.t.Fatalf("ROUTER got %q, want [client-1 '' ping]", m)
		}
		e.send(router, "client-1", "", "pong")
		if m := e.recv(req2); !eq(m, "pong") {
			e.t.Fatalf("REQ got %q", m)
		}
	}},
	{"rep-envelope-stack-through-dealer", func(e *env, tr transport) {
		rep := e.sock(REP, Options{})
		ep := e.bind(rep, tr.ep(e.t))
		dealer := e.sock(DEALER, Options{})
		e.connect(dealer, ep)
		e.send(dealer, "hop2", "hop1", "", "req")
		if m := e.recv(rep); !eq(m, "req") {
			e.t.Fatalf("REP got %q", m)
		}
		e.send(rep, "rep")
		if m := e.recv(dealer); !eq(m, "hop2", "hop1", "", "rep") {
			e.t.Fatalf("DEALER got %q, want the envelope back", m)
		}
	}},
	{"dealer-router", func(e *env, tr transport) {
		router := e.sock(ROUTER, Options{})
		ep := e.bind(router, tr.ep(e.t))
		named := e.sock(DEALER, Options{Identity: []byte("named")})
		anon := e.sock(DEALER, Options{})
		e.connect(named, ep)
		e.connect(anon, ep)
		e.waitPeers(router, 2)
		e.send(named, "from-named")
		e.send(anon, "from-anon")
		ids := map[string][]byte{}
		for i := 0; i < 2; i++ {
			m := e.recv(router)
			if len(m) != 2 {
				e.t.Fatalf("ROUTER got %q", m)
			}
			ids[string(m[1])] = m[0]
		}
		if string(ids["from-named"]) != "named" {
			e.t.Errorf("named dealer id %q", ids["from-named"])
		}
		if id := ids["from-anon"]; len(id) != 5 || id[0] != 0 {
			e.t.Errorf("generated id %q, want 5 bytes starting with 0", id)
		}
		e.send(router, string(ids["from-anon"]), "to-anon")
		e.send(router, "named", "to-named", "two")
		if m := e.recv(anon); !eq(m, "to-anon") {
			e.t.Fatalf("anon got %q", m)
		}
		if m := e.recv(named); !eq(m, "to-named", "two") {
			e.t.Fatalf("named got %q", m)
		}
		// Unroutable: counted drop by default, ErrUnroutable when mandatory.
		e.send(router, "nobody", "x")
		if st := router.Stats(); st.Dropped != 1 {
			e.t.Errorf("Dropped = %d, want 1", st.Dropped)
		}
		strict := e.sock(ROUTER, Options{RouterMandatory: true})
		if err := strict.Send(e.ctx, Msg{[]byte("nobody"), []byte("x")}); !errors.Is(err, ErrUnroutable) {
			e.t.Errorf("mandatory ROUTER: %v, want ErrUnroutable", err)
		}
	}},
	{"pair-exclusive", func(e *env, tr transport) {
		a := e.sock(PAIR, Options{})
		ep := e.bind(a, tr.ep(e.t))
		b := e.sock(PAIR, Options{})
		e.connect(b, ep)
		e.waitPeers(a, 1)
		e.send(a, "a->b")
		e.send(b, "b->a")
		if m := e.recv(b); !eq(m, "a->b") {
			e.t.Fatalf("got %q", m)
		}
		if m := e.recv(a); !eq(m, "b->a") {
			e.t.Fatalf("got %q", m)
		}
		c := e.sock(PAIR, Options{})
		e.connect(c, ep)
		time.Sleep(50 * time.Millisecond)
		if st := a.Stats(); st.Peers != 1 {
			e.t.Errorf("PAIR accepted a second peer: %+v", st)
		}
	}},
	{"xpub-xsub", func(e *env, tr transport) {
		xpub := e.sock(XPUB, Options{})
		ep := e.bind(xpub, tr.ep(e.t))
		xsub := e.sock(XSUB, Options{})
		e.connect(xsub, ep)
		e.waitPeers(xpub, 0)
		e.send(xsub, "\x01news")
		if m := e.recv(xpub); !eq(m, "\x01news") {
			e.t.Fatalf("XPUB got %q, want subscription", m)
		}
		sub := e.sock(SUB, Options{})
		_ = sub.Subscribe([]byte("sport"))
		e.connect(sub, ep)
		if m := e.recv(xpub); !eq(m, "\x01sport") {
			e.t.Fatalf("XPUB got %q, want SUB's subscription", m)
		}
		e.send(xpub, "news-1")
		e.send(xpub, "sport-1")
		e.send(xpub, "other")
		if m := e.recv(xsub); !eq(m, "news-1") {
			e.t.Fatalf("XSUB got %q", m)
		}
		if m := e.recv(sub); !eq(m, "sport-1") {
			e.t.Fatalf("SUB got %q", m)
		}
		e.send(xsub, "\x00news")
		if m := e.recv(xpub); !eq(m, "\x00news") {
			e.t.Fatalf("XPUB got %q, want cancel", m)
		}
		// The SUB leaving cancels its subscription.
		_ = sub.Close()
		if m := e.recv(xpub); !eq(m, "\x00sport") {
			e.t.Fatalf("XPUB got %q, want cancel on disconnect", m)
		}
	}},
	{"reconnect-after-peer-restart", func(e *env, tr transport) {
		ep := fixedEP(e.t, tr)
		pull := e.sock(PULL, Options{})
		e.bind(pull, ep)
		push := e.sock(PUSH, Options{ReconnectIvl: 10 * time.Millisecond, ReconnectIvlMax: 50 * time.Millisecond})
		e.connect(push, ep)
		for i := 0; i < 100; i++ {
			e.send(push, fmt.Sprint(i))
		}
		for i := 0; i < 100; i++ {
			if m := e.recv(pull); string(m[0]) != fmt.Sprint(i) {
				e.t.Fatalf("got %q want %d", m[0], i)
			}
		}
		_ = pull.Close()
		waitFor(e, "PUSH to notice the disconnect", func() bool { return push.Stats().Peers == 0 })
		sent := make(chan error, 1)
		go func() {
			for i := 100; i < 200; i++ {
				if err := push.Send(e.ctx, Msg{[]byte(fmt.Sprint(i))}); err != nil {
					sent <- err
					return
				}
			}
			sent <- nil
		}()
		pull2 := e.sock(PULL, Options{})
		e.bind(pull2, ep)
		for i := 100; i < 200; i++ {
			if m := e.recv(pull2); string(m[0]) != fmt.Sprint(i) {
				e.t.Fatalf("after restart got %q want %d", m[0], i)
			}
		}
		if err := <-sent; err != nil {
			e.t.Fatal(err)
		}
	}},
	{"connect-before-bind", func(e *env, tr transport) {
		ep := fixedEP(e.t, tr)
		pull := e.sock(PULL, Options{ReconnectIvl: 10 * time.Millisecond})
		e.connect(pull, ep)
		sub := e.sock(SUB, Options{ReconnectIvl: 10 * time.Millisecond})
		_ = sub.Subscribe([]byte("t"))
		ep2 := fixedEP(e.t, tr)
		e.connect(sub, ep2)
		time.Sleep(30 * time.Millisecond)
		push := e.sock(PUSH, Options{})
		e.bind(push, ep)
		pub := e.sock(PUB, Options{})
		e.bind(pub, ep2)
		e.send(push, "hello")
		if m := e.recv(pull); !eq(m, "hello") {
			e.t.Fatalf("got %q", m)
		}
		e.waitPeers(pub, 1)
		e.send(pub, "t1")
		if m := e.recv(sub); !eq(m, "t1") {
			e.t.Fatalf("got %q", m)
		}
	}},
}

// TestConformance runs every pattern over every transport, and over tcp
// with CURVE on every connection.
func TestConformance(t *testing.T) {
	for _, c := range conformance {
		for _, tr := range append(transports[:len(transports):len(transports)], tcpCurve) {
			t.Run(c.name+"/"+tr.name, func(t *testing.T) {
				e := newEnv(t)
				if tr.curve {
					kp, err := NewCurveKeyPair(nil)
					if err != nil {
						t.Fatal(err)
					}
					e.curve = &kp
				}
				c.run(e, tr)
			})
		}
	}
}
