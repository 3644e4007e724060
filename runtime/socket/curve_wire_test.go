package socket_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/topo-zmq/topo/runtime/socket"
)

// Over CURVE, what a topo socket announces (Run, Name) reaches the peer as
// over NULL, so readiness and PeerInfo work the same; and the server's
// Allow admits a client by its public key.
func TestCurvePeerInfoAndAllow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	zctx := &socket.Context{}
	defer zctx.Close()
	server, client := mustKeyPair(t), mustKeyPair(t)
	pull := newSock(t, zctx, socket.PULL, socket.Options{Run: "r1", Name: "sink.in",
		Security: &socket.Curve{Key: server, Allow: []socket.CurveKey{client.Public}}})
	for _, tr := range []string{"tcp", "ipc"} {
		ep := "ipc://" + t.TempDir() + "/s.sock"
		if tr == "tcp" {
			ep = bindEphemeral(t, pull)
		} else if err := pull.Bind(ep); err != nil {
			t.Fatal(err)
		}
		push := newSock(t, zctx, socket.PUSH, socket.Options{Run: "r1", Name: "worker[0].out",
			Security: socket.Curve{Key: socket.CurveKeyPairFromSecret(client.Secret), ServerKeys: map[string]socket.CurveKey{ep: server.Public}}})
		connect(t, push, ep)
		if err := push.WaitPeers(ctx, 1); err != nil {
			t.Fatal(err)
		}
		mustSend(ctx, t, push, socket.Msg{[]byte("hi " + tr)}, tr)
		if m := mustRecv(ctx, t, pull, tr); string(m[0]) != "hi "+tr {
			t.Fatalf("got %s", describe(m))
		}
		var in socket.PeerInfo
		for _, c := range push.Stats().Conns {
			in = c
		}
		if in.Run != "r1" || in.Name != "sink.in" || in.External {
			t.Errorf("%s: PUSH sees peer %+v, want run r1, name sink.in, not external", tr, in)
		}
		found := false
		for _, c := range pull.Stats().Conns {
			found = found || c.Name == "worker[0].out" && c.Run == "r1" && !c.External
		}
		if !found {
			t.Errorf("%s: PULL peers %+v, want worker[0].out of run r1", tr, pull.Stats().Conns)
		}
		_ = push.Close()
	}
	if st := pull.Stats(); st.HandshakeFailures != 0 {
		t.Errorf("HandshakeFailures = %d", st.HandshakeFailures)
	}
}

func TestCurveOptionErrors(t *testing.T) {
	zctx := &socket.Context{}
	defer zctx.Close()
	a, b := mustKeyPair(t), mustKeyPair(t)
	for _, tc := range []struct {
		name string
		sec  socket.Curve
		want string
	}{
		{"public of another secret", socket.Curve{Key: socket.CurveKeyPair{Public: a.Public, Secret: b.Secret}}, "not the public key"},
		{"Allow on a client", socket.Curve{ServerKey: a.Public, Allow: []socket.CurveKey{b.Public}}, "Allow is for a server"},
		{"zero key in ServerKeys", socket.Curve{ServerKeys: map[string]socket.CurveKey{"tcp://127.0.0.1:1": {}}}, "is zero"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := zctx.NewSocket(socket.PUSH, socket.Options{Security: tc.sec})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewSocket: %v, want an error containing %q", err, tc.want)
			}
			for _, k := range []socket.CurveKey{a.Secret, b.Secret} {
				if strings.Contains(err.Error(), k.Z85()) {
					t.Errorf("error shows a secret key: %v", err)
				}
			}
		})
	}
	if _, err := zctx.NewSocket(socket.PUSH, socket.Options{Security: (*socket.Curve)(nil)}); err == nil {
		t.Error("NewSocket with a nil *Curve succeeded")
	}
	// A CURVE client that connects over inproc: no wire, so no CURVE
	// (documented): the connection works in memory.
	pull := newSock(t, zctx, socket.PULL, socket.Options{Security: socket.Curve{Key: a}})
	if err := pull.Bind("inproc://curve-inproc"); err != nil {
		t.Fatal(err)
	}
	push := newSock(t, zctx, socket.PUSH, socket.Options{Security: socket.Curve{ServerKey: a.Public}})
	connect(t, push, "inproc://curve-inproc")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mustSend(ctx, t, push, socket.Msg{[]byte("x")}, "inproc")
	if m := mustRecv(ctx, t, pull, "inproc"); string(m[0]) != "x" {
		t.Fatalf("got %s", describe(m))
	}
}

// REQ and REP write small messages straight to the connection (direct.go)
// while the writer goroutine sends PINGs and PONGs on the same connection:
// under CURVE both take nonces from the one codec under the one lock, so
// the peer (libzmq, which drops a link on a nonce out of order, or topo)
// never sees them out of order.
func TestCurveDirectWritesAndHeartbeats(t *testing.T) {
	const n = 400
	hb := socket.Options{HeartbeatIvl: 2 * time.Millisecond, HeartbeatTimeout: 10 * time.Second}
	t.Run("topo REQ and REP", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		zctx := &socket.Context{}
		defer zctx.Close()
		server := mustKeyPair(t)
		ro, qo := hb, hb
		ro.Security = socket.Curve{Key: server}
		qo.Security = socket.Curve{ServerKey: server.Public}
		rep := newSock(t, zctx, socket.REP, ro)
		req := newSock(t, zctx, socket.REQ, qo)
		connect(t, req, bindEphemeral(t, rep))
		for i := 0; i < n; i++ {
			mustSend(ctx, t, req, socket.Msg{[]byte(strconv.Itoa(i))}, "request")
			m := mustRecv(ctx, t, rep, "request")
			mustSend(ctx, t, rep, m, "reply")
			if r := mustRecv(ctx, t, req, "reply"); string(r[0]) != strconv.Itoa(i) {
				t.Fatalf("reply %d: %s", i, describe(r))
			}
			if i%50 == 0 {
				time.Sleep(5 * time.Millisecond) // let PINGs and PONGs interleave
			}
		}
		_, qw := socket.DirectIO(req)
		_, rw := socket.DirectIO(rep)
		if !qw || !rw {
			t.Errorf("direct writes: REQ %v, REP %v; want both (the path under test)", qw, rw)
		}
		for _, s := range []*socket.Socket{req, rep} {
			if st := s.Stats(); st.Connects != 1 || st.Disconnects != 0 {
				t.Errorf("%s stats %+v: the connection must survive", s.Type(), st)
			}
		}
	})
	// libzmq PINGs every 2 ms but waits 10 s for traffic: a 20 ms timeout
	// drops links under load even without CURVE.
	t.Run("topo REQ, pyzmq REP with heartbeats", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		cv, pyArgs := curvePair(t, curveCase{topoServer: false})
		py := startPeer(ctx, t, "pyzmq CURVE REP", append([]string{"-role", "rep", "-bind", "-n", strconv.Itoa(n), "-heartbeat-ms", "2", "-heartbeat-timeout-ms", "10000"}, pyArgs...)...)
		o := hb
		o.Security = cv
		events := newEventLog()
		o.OnEvent = events.record
		req := newSock(t, zctx, socket.REQ, o)
		connect(t, req, py.endpoint(ctx))
		for i := 0; i < n; i++ {
			mustSend(ctx, t, req, pyData(i), "request")
			if r := mustRecv(ctx, t, req, fmt.Sprintf("reply %d", i)); !sameMsg(r, append(socket.Msg{[]byte("re")}, pyData(i)...)) {
				t.Fatalf("reply %d: %s", i, describe(r))
			}
			if i%50 == 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		if _, w := socket.DirectIO(req); !w {
			t.Error("REQ made no direct write")
		}
		py.result(ctx)
		if st := req.Stats(); st.Connects != 1 {
			t.Errorf("REQ stats %+v: libzmq dropped the link (a nonce out of order?); events:\n%s", st, events)
		}
	})
}

// A client with a fresh key pair (zero Key.Secret) is admitted by a server
// that lists the public key CurvePublicKey reports, and refused by one
// that does not.
func TestCurveFreshClientKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	zctx := &socket.Context{}
	defer zctx.Close()
	server := mustKeyPair(t)
	push := newSock(t, zctx, socket.PUSH, socket.Options{Security: socket.Curve{ServerKey: server.Public}})
	pub, ok := push.CurvePublicKey()
	if !ok || pub.IsZero() || pub == server.Public {
		t.Fatalf("CurvePublicKey() = %v, %v: want a fresh key", pub.Z85(), ok)
	}
	if _, ok := newSock(t, zctx, socket.PUSH, socket.Options{}).CurvePublicKey(); ok {
		t.Error("a NULL socket reports a CURVE key")
	}
	other := mustKeyPair(t)
	refusing := newSock(t, zctx, socket.PULL, socket.Options{Security: socket.Curve{Key: server, Allow: []socket.CurveKey{other.Public}}})
	admitting := newSock(t, zctx, socket.PULL, socket.Options{Security: socket.Curve{Key: server, Allow: []socket.CurveKey{pub}}})
	refusedEP := bindEphemeral(t, refusing)
	connect(t, push, refusedEP)
	for refusing.Stats().HandshakeFailures == 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("the refusing server counted no failure: %+v", refusing.Stats())
		case <-time.After(10 * time.Millisecond):
		}
	}
	// (a connected endpoint has its queue at once, refused or not: leave it)
	if err := push.Disconnect(refusedEP); err != nil {
		t.Fatal(err)
	}
	connect(t, push, bindEphemeral(t, admitting))
	if err := admitting.WaitPeers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		mustSend(ctx, t, push, socket.Msg{[]byte("x")}, "to the admitting server")
	}
	for i := 0; i < 3; i++ {
		mustRecv(ctx, t, admitting, "from the fresh client")
	}
	if st := refusing.Stats(); st.Peers != 0 || st.MsgsIn != 0 {
		t.Errorf("the refusing server got a peer or a message: %+v", st)
	}
}
