package socket_test

import (
	"context"
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
