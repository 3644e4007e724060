package socket_test

// CURVE against libzmq through pyzmq (peer.py -curve-secret and
// -curve-server-key): every pattern with topo as the CURVE server and as
// the client, each role binding and connecting, over tcp and ipc; refused
// clients on both sides.

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/topo-zmq/topo/runtime/socket"
)

func mustKeyPair(t testing.TB) socket.CurveKeyPair {
	t.Helper()
	kp, err := socket.NewCurveKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// curveCase is one CURVE interop configuration: which side is the CURVE
// server, which side binds, and the transport.
type curveCase struct {
	topoServer bool // topo is the CURVE server, pyzmq the client
	topoBinds  bool
	ipc        bool
}

func (c curveCase) String() string {
	role := "topo server, pyzmq client"
	if !c.topoServer {
		role = "pyzmq server, topo client"
	}
	dir := "pyzmq connects"
	if !c.topoBinds {
		dir = "topo connects"
	}
	tr := "tcp"
	if c.ipc {
		tr = "ipc"
	}
	return role + ", " + dir + ", " + tr
}

func curveCases() []curveCase {
	var cs []curveCase
	for _, ipc := range []bool{false, true} {
		for _, srv := range []bool{true, false} {
			for _, bind := range []bool{true, false} {
				cs = append(cs, curveCase{topoServer: srv, topoBinds: bind, ipc: ipc})
			}
		}
	}
	return cs
}

// curvePair sets up the keys of one case: topo's Options.Security and the
// pyzmq peer's arguments.
func curvePair(t *testing.T, c curveCase) (socket.Curve, []string) {
	server, client := mustKeyPair(t), mustKeyPair(t)
	if c.topoServer {
		return socket.Curve{Key: server, Allow: []socket.CurveKey{client.Public}},
			[]string{"-curve-secret", client.Secret.Z85(), "-curve-server-key", server.Public.Z85()}
	}
	return socket.Curve{Key: client, ServerKey: server.Public},
		[]string{"-curve-secret", server.Secret.Z85()}
}

// curvePeer starts peer.py with args for topo socket s in case c and
// returns it once attached: s binds and the peer connects, or the
// reverse.
func curvePeer(ctx context.Context, t *testing.T, s *socket.Socket, c curveCase, name string, args ...string) *pyPeer {
	t.Helper()
	ep := ""
	if c.ipc {
		ep = "ipc://" + t.TempDir() + "/curve.sock"
	}
	if c.topoBinds {
		if ep == "" {
			ep = bindEphemeral(t, s)
		} else if err := s.Bind(ep); err != nil {
			t.Fatalf("Bind(%s): %v", ep, err)
		}
		return startPeer(ctx, t, name, append(args, "-ep", ep)...)
	}
	if ep == "" {
		py := startPeer(ctx, t, name, append(args, "-bind")...)
		connect(t, s, py.endpoint(ctx))
		return py
	}
	py := startPeer(ctx, t, name, append(args, "-bind", "-ep", ep)...)
	py.line(ctx, "READY")
	connect(t, s, ep)
	return py
}


func TestCurveInteropPushPull(t *testing.T) {
	const n = 120
	nArg := strconv.Itoa(n)
	for _, c := range curveCases() {
		t.Run("topo PULL, "+c.String(), func(t *testing.T) {
			ctx, zctx := interopSetup(t)
			cv, pyArgs := curvePair(t, c)
			events := newEventLog()
			pull := newSock(t, zctx, socket.PULL, socket.Options{Security: cv, OnEvent: events.record})
			py := curvePeer(ctx, t, pull, c, "pyzmq CURVE PUSH", append([]string{"-role", "push", "-n", nArg}, pyArgs...)...)
			for i := 0; i < n; i++ {
				m := mustRecv(ctx, t, pull, fmt.Sprintf("message %d of %d (events:\n%s)", i, n, events))
				if want := pyData(i); !sameMsg(m, want) {
					t.Fatalf("message %d: got %s, want %s", i, describe(m), describe(want))
				}
			}
			py.result(ctx)
			if st := pull.Stats(); st.HandshakeFailures != 0 {
				t.Errorf("handshake failures %d; events:\n%s", st.HandshakeFailures, events)
			}
		})
		t.Run("topo PUSH, "+c.String(), func(t *testing.T) {
			ctx, zctx := interopSetup(t)
			cv, pyArgs := curvePair(t, c)
			events := newEventLog()
			push := newSock(t, zctx, socket.PUSH, socket.Options{Security: cv, OnEvent: events.record})
			py := curvePeer(ctx, t, push, c, "pyzmq CURVE PULL", append([]string{"-role", "pull", "-n", nArg}, pyArgs...)...)
			if err := push.WaitPeers(ctx, 1); err != nil {
				t.Fatalf("WaitPeers: %v; events:\n%s", err, events)
			}
			for i := 0; i < n; i++ {
				mustSend(ctx, t, push, pyData(i), fmt.Sprintf("message %d", i))
			}
			if res := py.result(ctx); num(res, "received") != n {
				t.Errorf("pyzmq PULL received %d, want %d", num(res, "received"), n)
			}
		})
	}
}
