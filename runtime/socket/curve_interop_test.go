package socket_test

// CURVE against libzmq through pyzmq (peer.py -curve-secret and
// -curve-server-key): every pattern with topo as the CURVE server and as
// the client, each role binding and connecting, over tcp and ipc; refused
// clients on both sides.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"
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
// pyzmq peer's arguments (as -flag=value: a Z85 key may start with "-").
func curvePair(t *testing.T, c curveCase) (socket.Curve, []string) {
	server, client := mustKeyPair(t), mustKeyPair(t)
	if c.topoServer {
		return socket.Curve{Key: server, Allow: []socket.CurveKey{client.Public}},
			[]string{"-curve-secret=" + client.Secret.Z85(), "-curve-server-key=" + server.Public.Z85()}
	}
	return socket.Curve{Key: client, ServerKey: server.Public},
		[]string{"-curve-secret=" + server.Secret.Z85()}
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

func TestCurveInteropReqRep(t *testing.T) {
	const n = 60
	nArg := strconv.Itoa(n)
	reply := func(req socket.Msg) socket.Msg { return append(socket.Msg{[]byte("re")}, req...) }
	for _, c := range curveCases() {
		t.Run("topo REQ, "+c.String(), func(t *testing.T) {
			ctx, zctx := interopSetup(t)
			cv, pyArgs := curvePair(t, c)
			events := newEventLog()
			req := newSock(t, zctx, socket.REQ, socket.Options{Security: cv, OnEvent: events.record})
			py := curvePeer(ctx, t, req, c, "pyzmq CURVE REP", append([]string{"-role", "rep", "-n", nArg}, pyArgs...)...)
			for i := 0; i < n; i++ {
				mustSend(ctx, t, req, pyData(i), fmt.Sprintf("request %d", i))
				m := mustRecv(ctx, t, req, fmt.Sprintf("reply %d (events:\n%s)", i, events))
				if want := reply(pyData(i)); !sameMsg(m, want) {
					t.Fatalf("reply %d: got %s, want %s", i, describe(m), describe(want))
				}
			}
			if res := py.result(ctx); num(res, "replied") != n {
				t.Errorf("pyzmq REP replied %d, want %d", num(res, "replied"), n)
			}
		})
		t.Run("topo REP, "+c.String(), func(t *testing.T) {
			ctx, zctx := interopSetup(t)
			cv, pyArgs := curvePair(t, c)
			events := newEventLog()
			rep := newSock(t, zctx, socket.REP, socket.Options{Security: cv, OnEvent: events.record})
			py := curvePeer(ctx, t, rep, c, "pyzmq CURVE REQ", append([]string{"-role", "req", "-n", nArg}, pyArgs...)...)
			for i := 0; i < n; i++ {
				m := mustRecv(ctx, t, rep, fmt.Sprintf("request %d (events:\n%s)", i, events))
				if want := pyData(i); !sameMsg(m, want) {
					t.Fatalf("request %d: got %s, want %s", i, describe(m), describe(want))
				}
				mustSend(ctx, t, rep, reply(m), fmt.Sprintf("reply %d", i))
			}
			if res := py.result(ctx); num(res, "round_trips") != n {
				t.Errorf("pyzmq REQ completed %d round trips, want %d", num(res, "round_trips"), n)
			}
		})
	}
}

// PUB/SUB under CURVE: the subscriptions travel inside MESSAGE boxes, in
// both directions (libzmq's to topo's PUB, topo's to libzmq's PUB).
func TestCurveInteropPubSub(t *testing.T) {
	const n = 100
	nArg := strconv.Itoa(n)
	var wantFiltered [][]byte
	for _, m := range pyPubMsgs(n) {
		if bytes.HasPrefix(m, []byte("wx")) {
			wantFiltered = append(wantFiltered, m)
		}
	}
	for _, c := range curveCases() {
		t.Run("topo PUB, "+c.String(), func(t *testing.T) {
			ctx, zctx := interopSetup(t)
			cv, pyArgs := curvePair(t, c)
			events := newEventLog()
			pub := newSock(t, zctx, socket.PUB, socket.Options{Security: cv, OnEvent: events.record, SendHWM: 10000})
			py := curvePeer(ctx, t, pub, c, "pyzmq CURVE SUB", append([]string{"-role", "sub", "-n", nArg}, pyArgs...)...)
			if err := pub.WaitPeers(ctx, 1); err != nil {
				t.Fatalf("PUB WaitPeers(1 subscriber): %v; events:\n%s", err, events)
			}
			for i, m := range pyPubMsgs(n) {
				mustSend(ctx, t, pub, socket.Msg{m}, fmt.Sprintf("message %d", i))
			}
			mustSend(ctx, t, pub, socket.Msg{[]byte("wx-end")}, "end marker")
			if res := py.result(ctx); num(res, "received") != len(wantFiltered) {
				t.Errorf("pyzmq SUB received %d, want %d", num(res, "received"), len(wantFiltered))
			}
			if st := pub.Stats(); st.Subscribes == 0 {
				t.Errorf("PUB saw no subscription: %+v", st)
			}
		})
		t.Run("topo SUB, "+c.String(), func(t *testing.T) {
			ctx, zctx := interopSetup(t)
			cv, pyArgs := curvePair(t, c)
			events := newEventLog()
			sub := newSock(t, zctx, socket.SUB, socket.Options{Security: cv, OnEvent: events.record, RecvHWM: 10000})
			if err := sub.Subscribe([]byte("wx")); err != nil {
				t.Fatal(err)
			}
			py := curvePeer(ctx, t, sub, c, "pyzmq CURVE PUB", append([]string{"-role", "pub", "-n", nArg}, pyArgs...)...)
			if m := mustRecv(ctx, t, sub, "probe (events:\n"+events.String()+")"); !sameMsg(m, socket.Msg{[]byte("wx-probe")}) {
				t.Fatalf("first message %s, want the probe", describe(m))
			}
			py.send("GO")
			var got [][]byte
			for {
				m := mustRecv(ctx, t, sub, fmt.Sprintf("after %d data messages", len(got)))
				if len(m) != 1 || !bytes.HasPrefix(m[0], []byte("wx")) {
					t.Fatalf("filter not honoured: got %s", describe(m))
				}
				if string(m[0]) == "wx-probe" {
					continue
				}
				if string(m[0]) == "wx-end" {
					break
				}
				got = append(got, m[0])
			}
			if len(got) != len(wantFiltered) {
				t.Fatalf("SUB got %d messages, want %d", len(got), len(wantFiltered))
			}
			py.result(ctx)
		})
	}
}

func TestCurveInteropDealerRouter(t *testing.T) {
	const n = 50
	nArg := strconv.Itoa(n)
	for _, c := range curveCases() {
		t.Run("topo ROUTER, "+c.String(), func(t *testing.T) {
			ctx, zctx := interopSetup(t)
			cv, pyArgs := curvePair(t, c)
			events := newEventLog()
			router := newSock(t, zctx, socket.ROUTER, socket.Options{Security: cv, OnEvent: events.record, RouterMandatory: true})
			py := curvePeer(ctx, t, router, c, "pyzmq CURVE DEALER", append([]string{"-role", "dealer", "-id", "dealer-a", "-n", nArg}, pyArgs...)...)
			for k := 0; k < n; k++ {
				m := mustRecv(ctx, t, router, fmt.Sprintf("message %d (events:\n%s)", k, events))
				if len(m) != 4 || string(m[0]) != "dealer-a" || string(m[1]) != "d" || !bytes.Equal(m[0], m[2]) {
					t.Fatalf("ROUTER got %s, want [dealer-a d dealer-a <seq>] (the identity from INITIATE metadata)", describe(m))
				}
				mustSend(ctx, t, router, socket.Msg{m[0], []byte("r"), m[2], m[3]}, "reply")
			}
			if res := py.result(ctx); num(res, "replies") != n {
				t.Errorf("pyzmq DEALER got %d replies, want %d", num(res, "replies"), n)
			}
		})
		t.Run("topo DEALER, "+c.String(), func(t *testing.T) {
			ctx, zctx := interopSetup(t)
			cv, pyArgs := curvePair(t, c)
			events := newEventLog()
			d := newSock(t, zctx, socket.DEALER, socket.Options{Security: cv, OnEvent: events.record, Identity: []byte("topo-d")})
			py := curvePeer(ctx, t, d, c, "pyzmq CURVE ROUTER", append([]string{"-role", "router", "-n", nArg}, pyArgs...)...)
			for i := 0; i < n; i++ {
				mustSend(ctx, t, d, socket.Msg{[]byte("d"), []byte("topo-d"), []byte(strconv.Itoa(i))}, "request")
			}
			for i := 0; i < n; i++ {
				m := mustRecv(ctx, t, d, fmt.Sprintf("reply %d (events:\n%s)", i, events))
				if len(m) != 3 || string(m[0]) != "r" || string(m[1]) != "topo-d" {
					t.Fatalf("DEALER got %s", describe(m))
				}
			}
			res := py.result(ctx)
			per, _ := res["per_identity"].(map[string]any)
			if got, _ := per["topo-d"].(float64); int(got) != n {
				t.Errorf("pyzmq ROUTER saw %v from identity topo-d, want %d (all %v)", per["topo-d"], n, per)
			}
		})
	}
}

// waitStats polls s until ok(Stats()) or ctx ends.
func waitStats(ctx context.Context, t *testing.T, s *socket.Socket, what string, ok func(socket.Stats) bool) socket.Stats {
	t.Helper()
	for {
		st := s.Stats()
		if ok(st) {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (stats %+v)", what, ctx.Err(), st)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// A libzmq client that has the wrong server key, or a key the server does
// not Allow, gets nothing through: topo counts a handshake failure, and
// logs a refused client with its address and public key (never a secret).
func TestCurveInteropRefusedClients(t *testing.T) {
	for _, tc := range []struct {
		name      string
		wrongKey  bool // the client names another server key
		notAllow  bool // the client's key is not in Allow
		wantInLog bool // topo logs the client's key
	}{
		{name: "wrong server key", wrongKey: true},
		{name: "not in Allow", notAllow: true, wantInLog: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, zctx := interopSetup(t)
			server, client, other := mustKeyPair(t), mustKeyPair(t), mustKeyPair(t)
			allow := []socket.CurveKey{client.Public}
			if tc.notAllow {
				allow = []socket.CurveKey{other.Public}
			}
			serverKey := server.Public
			if tc.wrongKey {
				serverKey = other.Public
			}
			var logBuf lockedbuf.Buffer
			events := newEventLog()
			pull := newSock(t, zctx, socket.PULL, socket.Options{
				Security: socket.Curve{Key: server, Allow: allow},
				OnEvent:  events.record,
				Logger:   slog.New(slog.NewTextHandler(&logBuf, nil)),
			})
			ep := bindEphemeral(t, pull)
			startPeer(ctx, t, "pyzmq CURVE PUSH (refused)", "-role", "push", "-n", "5", "-ep", ep, "-timeout-ms", "3000",
				"-curve-secret="+client.Secret.Z85(), "-curve-server-key="+serverKey.Z85())
			waitStats(ctx, t, pull, "a handshake failure", func(st socket.Stats) bool { return st.HandshakeFailures >= 1 })
			expectNothing(ctx, t, pull, 500*time.Millisecond)
			st := pull.Stats()
			if st.MsgsIn != 0 || st.Connects != 0 || st.Peers != 0 {
				t.Errorf("refused client got through: %+v", st)
			}
			logs := logBuf.String()
			for _, secret := range []socket.CurveKey{server.Secret, client.Secret, other.Secret} {
				if strings.Contains(logs, secret.Z85()) || strings.Contains(events.String(), secret.Z85()) {
					t.Errorf("a secret key appears in the log or events:\n%s\n%s", logs, events)
				}
			}
			if tc.wantInLog {
				if !strings.Contains(logs, "CURVE client refused") || !strings.Contains(logs, client.Public.Z85()) || !strings.Contains(logs, "127.0.0.1:") {
					t.Errorf("log does not name the refused client's address and key %s:\n%s", client.Public.Z85(), logs)
				}
				if !strings.Contains(events.String(), client.Public.Z85()) {
					t.Errorf("handshake-failed event does not name the client's key:\n%s", events)
				}
			}
		})
	}
}

// A libzmq CURVE server whose ZAP handler refuses topo's key: topo's
// client backs off (ReconnectIvl doubling up to ReconnectIvlMax, as after
// a failed dial) instead of retrying every ReconnectIvl, and reports the
// server's reason.
func TestCurveInteropZAPRefusalBacksOff(t *testing.T) {
	ctx, zctx := interopSetup(t)
	server, client := mustKeyPair(t), mustKeyPair(t)
	py := startPeer(ctx, t, "pyzmq CURVE PULL with a refusing ZAP handler", "-role", "curve-zap-deny", "-bind",
		"-curve-secret="+server.Secret.Z85())
	ep := py.endpoint(ctx)
	py.line(ctx, "READY")
	var logBuf lockedbuf.Buffer
	events := newEventLog()
	// The defaults: ReconnectIvl 100 ms, ReconnectIvlMax 5 s.
	push := newSock(t, zctx, socket.PUSH, socket.Options{
		Security: socket.Curve{Key: client, ServerKey: server.Public},
		OnEvent:  events.record,
		Logger:   slog.New(slog.NewTextHandler(&logBuf, nil)),
	})
	connect(t, push, ep)
	const window = 3 * time.Second
	time.Sleep(window)
	py.send("GO")
	res := py.result(ctx)
	attempts := num(res, "zap_requests")
	// A fixed 100 ms would make about 30 attempts in 3 s; doubling from
	// 100 ms makes 5 (at 0, 0.1, 0.3, 0.7, 1.5 s, then 3.1 s).
	if attempts < 2 || attempts > 8 {
		t.Errorf("ZAP saw %d handshakes in %v, want 2 to 8 (backoff); events:\n%s", attempts, window, events)
	}
	if keys, _ := res["keys"].([]any); len(keys) != 1 || keys[0] != client.Public.Z85() {
		t.Errorf("ZAP was offered keys %v, want topo's %s", keys, client.Public.Z85())
	}
	st := push.Stats()
	if st.HandshakeFailures < uint64(attempts) || st.Connects != 0 {
		t.Errorf("PUSH stats %+v: want >= %d handshake failures, no connection", st, attempts)
	}
	if ev := events.String(); !strings.Contains(ev, `refused this socket's key `+client.Public.Z85()+`: reason "400"`) {
		t.Errorf("events do not report the server's refusal and reason:\n%s", ev)
	}
	if logs := logBuf.String(); !strings.Contains(logs, "refused by the CURVE server") || !strings.Contains(logs, "reason=400") {
		t.Errorf("log does not report the refusal and reason:\n%s", logs)
	}
}
