package socket_test

// Interop with libzmq through pyzmq (Debian python3-zmq): each test runs
// testdata/pyzmq/peer.py under /usr/bin/python3 as the other end of a topo
// socket over tcp loopback, in both bind directions, and checks message
// counts and contents exactly on both sides. peer.py bounds every operation
// and its own lifetime; the tests bound everything with a context as well.
//
// Without pyzmq the tests skip locally and fail in CI (CI set): interop is
// part of the proof for the socket layer, so CI must run it.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"

	"go.uber.org/goleak"

	"github.com/topo-zmq/topo/runtime/socket"
)

const pythonPath = "/usr/bin/python3"

// interopTimeout bounds one interop test end to end (race detector, 2 shared cores).
const interopTimeout = 60 * time.Second

// requirePyzmq skips (or, in CI, fails) when pyzmq cannot be imported.
func requirePyzmq(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, pythonPath, "-c", "import zmq; print(zmq.zmq_version())").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("pyzmq is not importable by %s (%v: %s); install Debian's python3-zmq (.ci/run does)",
		pythonPath, err, bytes.TrimSpace(out))
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " — interop tests must run in CI")
	}
	t.Skip(msg)
}

// pyPeer is one running peer.py process.
type pyPeer struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, line by line; closed at EOF
	stderr *lockedbuf.Buffer
	exited chan struct{} // closed when cmd.Wait has returned
	err    error         // cmd.Wait's result, valid once exited is closed
}

// startPeer runs peer.py with args. The process is killed (if still running)
// and reaped when the test ends.
func startPeer(ctx context.Context, t *testing.T, name string, args ...string) *pyPeer {
	t.Helper()
	all := append([]string{"testdata/pyzmq/peer.py"}, args...)
	cmd := exec.CommandContext(ctx, pythonPath, all...)
	p := &pyPeer{t: t, name: name, cmd: cmd, lines: make(chan string, 64), stderr: &lockedbuf.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: start %s: %v", name, pythonPath, err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	go func() {
		<-readDone // Wait closes stdout: read everything first
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close()
		select {
		case <-p.exited:
			return
		case <-time.After(100 * time.Millisecond):
		}
		_ = cmd.Process.Kill()
		for range p.lines { // let the reader finish
		}
		<-p.exited
	})
	return p
}

// line waits for the next stdout line starting with prefix, skipping others.
func (p *pyPeer) line(ctx context.Context, prefix string) string {
	p.t.Helper()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("%s: exited before printing %q; stderr:\n%s", p.name, prefix, p.stderr.String())
			}
			if strings.HasPrefix(l, prefix) {
				return strings.TrimPrefix(l, prefix)
			}
			if strings.HasPrefix(l, "RESULT ") {
				p.t.Fatalf("%s: finished before printing %q: %s; stderr:\n%s", p.name, prefix, l, p.stderr.String())
			}
		case <-ctx.Done():
			p.t.Fatalf("%s: waiting for %q: %v; stderr:\n%s", p.name, prefix, ctx.Err(), p.stderr.String())
		}
	}
}

// endpoint waits for the peer's "PORT n" line and returns its tcp endpoint.
func (p *pyPeer) endpoint(ctx context.Context) string {
	p.t.Helper()
	port, err := strconv.Atoi(strings.TrimSpace(p.line(ctx, "PORT ")))
	if err != nil {
		p.t.Fatalf("%s: bad PORT line: %v", p.name, err)
	}
	return fmt.Sprintf("tcp://127.0.0.1:%d", port)
}

// result waits for the RESULT line and fails the test if it reports an error
// or the process exits non-zero.
func (p *pyPeer) result(ctx context.Context) map[string]any {
	p.t.Helper()
	raw := p.line(ctx, "RESULT ")
	var res map[string]any
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		p.t.Fatalf("%s: bad RESULT %q: %v", p.name, raw, err)
	}
	if e, ok := res["error"]; ok {
		p.t.Errorf("%s reports: %v; stderr:\n%s", p.name, e, p.stderr.String())
	}
	select {
	case <-p.exited:
		if p.err != nil {
			p.t.Errorf("%s: %v; stderr:\n%s", p.name, p.err, p.stderr.String())
		}
	case <-ctx.Done():
		p.t.Fatalf("%s: did not exit after its result: %v", p.name, ctx.Err())
	}
	return res
}

func (p *pyPeer) send(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, s+"\n"); err != nil {
		p.t.Fatalf("%s: stdin: %v", p.name, err)
	}
}

// num reads a JSON number field (0 when absent).
func num(res map[string]any, key string) int {
	f, _ := res[key].(float64)
	return int(f)
}

// --- message shapes shared with peer.py ---

var pySizes = []int{0, 1, 255, 256, 1000, 70000}

func pyData(i int) socket.Msg {
	return socket.Msg{[]byte(fmt.Sprintf("msg-%d", i)), bytes.Repeat([]byte{byte(i % 251)}, pySizes[i%len(pySizes)])}
}

func pyPubMsgs(n int) [][]byte {
	var out [][]byte
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			out = append(out, []byte(fmt.Sprintf("wx-%d", i)))
		} else {
			out = append(out, []byte(fmt.Sprintf("zz-%d", i)))
		}
		if i%10 == 0 {
			out = append(out, []byte("w"), []byte(fmt.Sprintf("wxy-%d", i)))
		}
	}
	return out
}

func describe(m socket.Msg) string {
	var parts []string
	for _, f := range m {
		if len(f) > 16 {
			parts = append(parts, fmt.Sprintf("%q…(%d B)", f[:16], len(f)))
		} else {
			parts = append(parts, fmt.Sprintf("%q", f))
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func sameMsg(a, b socket.Msg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// --- topo side helpers ---

func newSock(t *testing.T, zctx *socket.Context, typ socket.Type, o socket.Options) *socket.Socket {
	t.Helper()
	s, err := zctx.NewSocket(typ, o)
	if err != nil {
		t.Fatalf("NewSocket(%s): %v", typ, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// bindEphemeral binds s to tcp://127.0.0.1:0 and returns the real endpoint.
func bindEphemeral(t *testing.T, s *socket.Socket) string {
	t.Helper()
	if err := s.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatalf("%s Bind(tcp://127.0.0.1:0): %v", s.Type(), err)
	}
	eps := s.Endpoints()
	if len(eps) != 1 || !strings.HasPrefix(eps[0], "tcp://127.0.0.1:") || strings.HasSuffix(eps[0], ":0") {
		t.Fatalf("%s Endpoints() = %q, want one tcp://127.0.0.1:<port>", s.Type(), eps)
	}
	return eps[0]
}

func connect(t *testing.T, s *socket.Socket, ep string) {
	t.Helper()
	if err := s.Connect(ep); err != nil {
		t.Fatalf("%s Connect(%s): %v", s.Type(), ep, err)
	}
}

func mustRecv(ctx context.Context, t *testing.T, s *socket.Socket, what string) socket.Msg {
	t.Helper()
	m, err := s.Recv(ctx)
	if err != nil {
		t.Fatalf("%s Recv (%s): %v (stats %+v)", s.Type(), what, err, s.Stats())
	}
	return m
}

func mustSend(ctx context.Context, t *testing.T, s *socket.Socket, m socket.Msg, what string) {
	t.Helper()
	if err := s.Send(ctx, m); err != nil {
		t.Fatalf("%s Send (%s): %v (stats %+v)", s.Type(), what, err, s.Stats())
	}
}

// expectNothing checks that Recv yields nothing more within d.
func expectNothing(ctx context.Context, t *testing.T, s *socket.Socket, d time.Duration) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	m, err := s.Recv(c)
	if err == nil {
		t.Fatalf("%s: unexpected extra message %s", s.Type(), describe(m))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%s: Recv after the last message: %v, want context.DeadlineExceeded", s.Type(), err)
	}
}

func interopSetup(t *testing.T) (context.Context, *socket.Context) {
	t.Helper()
	requirePyzmq(t)
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) }) // registered first: runs last
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	t.Cleanup(cancel)
	zctx := &socket.Context{}
	t.Cleanup(func() { _ = zctx.Close() })
	return ctx, zctx
}

// eventLog records a socket's events (Options.OnEvent) for failure messages.
type eventLog struct {
	mu     sync.Mutex
	start  time.Time
	events []string
}

func newEventLog() *eventLog { return &eventLog{start: time.Now()} }

func (l *eventLog) record(e socket.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := fmt.Sprintf("%6.3fs %s %s", time.Since(l.start).Seconds(), e.Kind, e.Peer)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	l.events = append(l.events, s)
}

func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.events, "\n")
}

// --- the tests ---

func TestInteropPushPull(t *testing.T) {
	const n = 600
	recvAll := func(ctx context.Context, t *testing.T, pull *socket.Socket) {
		for i := 0; i < n; i++ {
			m := mustRecv(ctx, t, pull, fmt.Sprintf("message %d of %d", i, n))
			if want := pyData(i); !sameMsg(m, want) {
				t.Fatalf("message %d: got %s, want %s", i, describe(m), describe(want))
			}
		}
		expectNothing(ctx, t, pull, 200*time.Millisecond)
		if st := pull.Stats(); st.MsgsIn != n {
			t.Errorf("PULL Stats().MsgsIn = %d, want %d", st.MsgsIn, n)
		}
	}
	sendAll := func(ctx context.Context, t *testing.T, push *socket.Socket) {
		for i := 0; i < n; i++ {
			mustSend(ctx, t, push, pyData(i), fmt.Sprintf("message %d", i))
		}
	}
	nArg := strconv.Itoa(n)

	t.Run("pyzmq PUSH connects to topo PULL", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		pull := newSock(t, zctx, socket.PULL, socket.Options{})
		ep := bindEphemeral(t, pull)
		py := startPeer(ctx, t, "pyzmq PUSH", "-role", "push", "-ep", ep, "-n", nArg)
		recvAll(ctx, t, pull)
		if res := py.result(ctx); num(res, "sent") != n {
			t.Errorf("pyzmq PUSH sent %d, want %d", num(res, "sent"), n)
		}
	})
	t.Run("topo PULL connects to pyzmq PUSH", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		py := startPeer(ctx, t, "pyzmq PUSH", "-role", "push", "-bind", "-n", nArg)
		pull := newSock(t, zctx, socket.PULL, socket.Options{})
		connect(t, pull, py.endpoint(ctx))
		recvAll(ctx, t, pull)
		py.result(ctx)
	})
	t.Run("topo PUSH connects to pyzmq PULL", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		py := startPeer(ctx, t, "pyzmq PULL", "-role", "pull", "-bind", "-n", nArg)
		push := newSock(t, zctx, socket.PUSH, socket.Options{})
		connect(t, push, py.endpoint(ctx))
		sendAll(ctx, t, push)
		if res := py.result(ctx); num(res, "received") != n {
			t.Errorf("pyzmq PULL received %d, want %d", num(res, "received"), n)
		}
		if st := push.Stats(); st.MsgsOut != n {
			t.Errorf("PUSH Stats().MsgsOut = %d, want %d", st.MsgsOut, n)
		}
	})
	t.Run("pyzmq PULL connects to topo PUSH", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		push := newSock(t, zctx, socket.PUSH, socket.Options{})
		ep := bindEphemeral(t, push)
		py := startPeer(ctx, t, "pyzmq PULL", "-role", "pull", "-ep", ep, "-n", nArg)
		if err := push.WaitPeers(ctx, 1); err != nil {
			t.Fatalf("PUSH WaitPeers: %v", err)
		}
		sendAll(ctx, t, push)
		if res := py.result(ctx); num(res, "received") != n {
			t.Errorf("pyzmq PULL received %d, want %d", num(res, "received"), n)
		}
	})
}

func TestInteropPubSub(t *testing.T) {
	const n = 400 // pyPubMsgs(400) is 480 messages: below the default HWM
	nArg := strconv.Itoa(n)
	var wantFiltered [][]byte
	for _, m := range pyPubMsgs(n) {
		if bytes.HasPrefix(m, []byte("wx")) {
			wantFiltered = append(wantFiltered, m)
		}
	}

	// topo PUB → pyzmq SUB (filter "wx"): peer.py checks it sees exactly
	// the "wx" messages, in order, and nothing else.
	topoPub := func(t *testing.T, bind bool) {
		ctx, zctx := interopSetup(t)
		pub := newSock(t, zctx, socket.PUB, socket.Options{SendHWM: 10000})
		py := peerFor(ctx, t, pub, bind, "pyzmq SUB", "-role", "sub", "-n", nArg)
		if err := pub.WaitPeers(ctx, 1); err != nil {
			t.Fatalf("PUB WaitPeers(1 subscriber): %v (stats %+v)", err, pub.Stats())
		}
		for i, m := range pyPubMsgs(n) {
			mustSend(ctx, t, pub, socket.Msg{m}, fmt.Sprintf("message %d", i))
		}
		mustSend(ctx, t, pub, socket.Msg{[]byte("wx-end")}, "end marker")
		if res := py.result(ctx); num(res, "received") != len(wantFiltered) {
			t.Errorf("pyzmq SUB received %d, want %d", num(res, "received"), len(wantFiltered))
		}
		if st := pub.Stats(); st.Dropped != 0 {
			t.Errorf("PUB dropped %d messages", st.Dropped)
		}
	}
	// pyzmq PUB → topo SUB (filter "wx"): the topo SUB must get exactly the
	// "wx" messages, in order, then the end marker.
	topoSub := func(t *testing.T, bind bool) {
		ctx, zctx := interopSetup(t)
		sub := newSock(t, zctx, socket.SUB, socket.Options{RecvHWM: 10000})
		if err := sub.Subscribe([]byte("wx")); err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		py := peerFor(ctx, t, sub, bind, "pyzmq PUB", "-role", "pub", "-n", nArg)
		// peer.py publishes "wx-probe" until told GO: one arriving proves the
		// subscription reached libzmq.
		if m := mustRecv(ctx, t, sub, "probe"); !sameMsg(m, socket.Msg{[]byte("wx-probe")}) {
			t.Fatalf("first message %s, want the probe", describe(m))
		}
		py.send("GO")
		var got [][]byte
		for {
			m := mustRecv(ctx, t, sub, fmt.Sprintf("after %d data messages", len(got)))
			if len(m) != 1 {
				t.Fatalf("multi-frame message %s", describe(m))
			}
			if !bytes.HasPrefix(m[0], []byte("wx")) {
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
		for i := range got {
			if !bytes.Equal(got[i], wantFiltered[i]) {
				t.Fatalf("SUB message %d = %q, want %q", i, got[i], wantFiltered[i])
			}
		}
		py.result(ctx)
	}
	t.Run("topo PUB binds, pyzmq SUB connects", func(t *testing.T) { topoPub(t, true) })
	t.Run("topo PUB connects to pyzmq SUB", func(t *testing.T) { topoPub(t, false) })
	t.Run("topo SUB binds, pyzmq PUB connects", func(t *testing.T) { topoSub(t, true) })
	t.Run("topo SUB connects to pyzmq PUB", func(t *testing.T) { topoSub(t, false) })
}

// peerFor starts a pyzmq peer with args for s: with bind, s binds an
// ephemeral endpoint and the peer connects to it; otherwise the peer binds
// and s connects.
func peerFor(ctx context.Context, t *testing.T, s *socket.Socket, bind bool, name string, args ...string) *pyPeer {
	t.Helper()
	if bind {
		return startPeer(ctx, t, name, append(args, "-ep", bindEphemeral(t, s))...)
	}
	py := startPeer(ctx, t, name, append(args, "-bind")...)
	connect(t, s, py.endpoint(ctx))
	return py
}

func TestInteropReqRep(t *testing.T) {
	const n = 200
	nArg := strconv.Itoa(n)
	reply := func(req socket.Msg) socket.Msg { return append(socket.Msg{[]byte("re")}, req...) }

	topoReq := func(t *testing.T, bind bool) {
		ctx, zctx := interopSetup(t)
		req := newSock(t, zctx, socket.REQ, socket.Options{})
		py := peerFor(ctx, t, req, bind, "pyzmq REP", "-role", "rep", "-n", nArg)
		for i := 0; i < n; i++ {
			mustSend(ctx, t, req, pyData(i), fmt.Sprintf("request %d", i))
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			m := mustRecv(rctx, t, req, fmt.Sprintf("reply %d", i))
			cancel()
			if want := reply(pyData(i)); !sameMsg(m, want) {
				t.Fatalf("reply %d: got %s, want %s", i, describe(m), describe(want))
			}
		}
		if res := py.result(ctx); num(res, "replied") != n {
			t.Errorf("pyzmq REP replied %d, want %d", num(res, "replied"), n)
		}
	}
	topoRep := func(t *testing.T, bind bool) {
		ctx, zctx := interopSetup(t)
		rep := newSock(t, zctx, socket.REP, socket.Options{})
		py := peerFor(ctx, t, rep, bind, "pyzmq REQ", "-role", "req", "-n", nArg)
		for i := 0; i < n; i++ {
			m := mustRecv(ctx, t, rep, fmt.Sprintf("request %d", i))
			if want := pyData(i); !sameMsg(m, want) {
				t.Fatalf("request %d: got %s, want %s (REP must strip the envelope)", i, describe(m), describe(want))
			}
			mustSend(ctx, t, rep, reply(m), fmt.Sprintf("reply %d", i))
		}
		if res := py.result(ctx); num(res, "round_trips") != n {
			t.Errorf("pyzmq REQ completed %d round trips, want %d", num(res, "round_trips"), n)
		}
	}
	t.Run("topo REQ binds, pyzmq REP connects", func(t *testing.T) { topoReq(t, true) })
	t.Run("topo REQ connects to pyzmq REP", func(t *testing.T) { topoReq(t, false) })
	t.Run("topo REP binds, pyzmq REQ connects", func(t *testing.T) { topoRep(t, true) })
	t.Run("topo REP connects to pyzmq REQ", func(t *testing.T) { topoRep(t, false) })
}

func TestInteropDealerRouter(t *testing.T) {
	const n = 100 // per dealer
	nArg := strconv.Itoa(n)
	ids := []string{"dealer-a", "dealer-b"}

	// serveRouter answers 2n messages [identity, "d", id, seq] with
	// [identity, "r", id, seq], checking the identity ROUTER prefixed.
	serveRouter := func(ctx context.Context, t *testing.T, router *socket.Socket) {
		per := map[string]int{}
		for k := 0; k < len(ids)*n; k++ {
			m := mustRecv(ctx, t, router, fmt.Sprintf("message %d", k))
			if len(m) != 4 || string(m[1]) != "d" || !bytes.Equal(m[0], m[2]) {
				t.Fatalf("ROUTER got %s, want [<identity> d <identity> <seq>]", describe(m))
			}
			per[string(m[0])]++
			mustSend(ctx, t, router, socket.Msg{m[0], []byte("r"), m[2], m[3]}, "reply")
		}
		for _, id := range ids {
			if per[id] != n {
				t.Errorf("ROUTER got %d messages from %q, want %d (all: %v)", per[id], id, n, per)
			}
		}
	}

	t.Run("pyzmq DEALERs connect to topo ROUTER", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		router := newSock(t, zctx, socket.ROUTER, socket.Options{RouterMandatory: true})
		ep := bindEphemeral(t, router)
		var peers []*pyPeer
		for _, id := range ids {
			peers = append(peers, startPeer(ctx, t, "pyzmq DEALER "+id, "-role", "dealer", "-id", id, "-ep", ep, "-n", nArg))
		}
		serveRouter(ctx, t, router)
		for _, p := range peers {
			if res := p.result(ctx); num(res, "replies") != n {
				t.Errorf("%s got %d replies, want %d", p.name, num(res, "replies"), n)
			}
		}
	})
	t.Run("topo ROUTER connects to pyzmq DEALERs", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		router := newSock(t, zctx, socket.ROUTER, socket.Options{RouterMandatory: true})
		var peers []*pyPeer
		for _, id := range ids {
			p := startPeer(ctx, t, "pyzmq DEALER "+id, "-role", "dealer", "-id", id, "-bind", "-n", nArg)
			connect(t, router, p.endpoint(ctx))
			peers = append(peers, p)
		}
		serveRouter(ctx, t, router)
		for _, p := range peers {
			if res := p.result(ctx); num(res, "replies") != n {
				t.Errorf("%s got %d replies, want %d", p.name, num(res, "replies"), n)
			}
		}
	})
	t.Run("topo DEALERs with Identity connect to pyzmq ROUTER", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		py := startPeer(ctx, t, "pyzmq ROUTER", "-role", "router", "-bind", "-n", strconv.Itoa(len(ids)*n))
		ep := py.endpoint(ctx)
		var dealers []*socket.Socket
		for _, id := range ids {
			d := newSock(t, zctx, socket.DEALER, socket.Options{Identity: []byte(id)})
			connect(t, d, ep)
			dealers = append(dealers, d)
		}
		for i := 0; i < n; i++ {
			for k, d := range dealers {
				mustSend(ctx, t, d, socket.Msg{[]byte("d"), []byte(ids[k]), []byte(strconv.Itoa(i))}, "request")
			}
		}
		for k, d := range dealers {
			seen := map[string]bool{}
			for i := 0; i < n; i++ {
				m := mustRecv(ctx, t, d, fmt.Sprintf("%s reply %d", ids[k], i))
				if len(m) != 3 || string(m[0]) != "r" || string(m[1]) != ids[k] {
					t.Fatalf("%s got %s: misrouted or malformed", ids[k], describe(m))
				}
				seen[string(m[2])] = true
			}
			if len(seen) != n {
				t.Errorf("%s got %d distinct replies, want %d", ids[k], len(seen), n)
			}
			expectNothing(ctx, t, d, 100*time.Millisecond)
		}
		res := py.result(ctx)
		per, _ := res["per_identity"].(map[string]any)
		for _, id := range ids {
			if got, _ := per[id].(float64); int(got) != n {
				t.Errorf("pyzmq ROUTER saw %v messages from identity %q, want %d (all: %v)", per[id], id, n, per)
			}
		}
	})
}

// A libzmq peer with ZMQ_HEARTBEAT_IVL sends ZMTP PINGs: topo must answer
// them (or libzmq drops the link after HEARTBEAT_TIMEOUT, 10×IVL in peer.py)
// and must never hand them to Recv. Messages are 300 ms apart, so the link
// idles through several heartbeat timeouts.
func TestInteropHeartbeat(t *testing.T) {
	const n = 5
	nArg := strconv.Itoa(n)
	hb := []string{"-heartbeat-ms", "50", "-gap-ms", "300"}

	t.Run("pyzmq PUSH with heartbeats connects to topo PULL", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		events := newEventLog()
		pull := newSock(t, zctx, socket.PULL, socket.Options{OnEvent: events.record})
		ep := bindEphemeral(t, pull)
		defer func() {
			if t.Failed() {
				t.Logf("topo PULL events:\n%s", events)
			}
		}()
		py := startPeer(ctx, t, "pyzmq PUSH (heartbeat)", append([]string{"-role", "hb-push", "-ep", ep, "-n", nArg}, hb...)...)
		for i := 0; i < n; i++ {
			m := mustRecv(ctx, t, pull, fmt.Sprintf("message %d", i))
			if want := pyData(i); !sameMsg(m, want) {
				t.Fatalf("message %d: got %s, want %s (a ZMTP command reached Recv?)", i, describe(m), describe(want))
			}
		}
		res := py.result(ctx)
		if num(res, "connected") != 1 || num(res, "disconnected") != 0 {
			t.Errorf("libzmq saw connected=%d disconnected=%d, want 1 and 0 (PINGs not answered?)",
				num(res, "connected"), num(res, "disconnected"))
		}
		st := pull.Stats()
		if st.Connects != 1 || st.Disconnects != 0 {
			// the peer may have exited already, which is a clean disconnect
			if !(st.Connects == 1 && st.Disconnects == 1 && st.Peers == 0) {
				t.Errorf("PULL stats %+v: want exactly one connection for the whole exchange", st)
			}
		}
		expectNothing(ctx, t, pull, 200*time.Millisecond)
		if st := pull.Stats(); st.MsgsIn != n {
			t.Errorf("PULL Stats().MsgsIn = %d, want %d: ZMTP commands must not count as messages", st.MsgsIn, n)
		}
	})
	for _, topoHB := range []time.Duration{0, 50 * time.Millisecond} {
		t.Run(fmt.Sprintf("topo PUSH (HeartbeatIvl=%v) connects to pyzmq PULL with heartbeats", topoHB), func(t *testing.T) {
			ctx, zctx := interopSetup(t)
			py := startPeer(ctx, t, "pyzmq PULL (heartbeat)", append([]string{"-role", "hb-pull", "-bind", "-n", nArg}, hb...)...)
			events := newEventLog()
			push := newSock(t, zctx, socket.PUSH, socket.Options{HeartbeatIvl: topoHB, OnEvent: events.record})
			connect(t, push, py.endpoint(ctx))
			for i := 0; i < n; i++ {
				if i > 0 {
					time.Sleep(300 * time.Millisecond) // idle through libzmq's heartbeat timeout
				}
				mustSend(ctx, t, push, pyData(i), fmt.Sprintf("message %d", i))
			}
			res := py.result(ctx)
			if num(res, "received") != n || num(res, "accepted") != 1 || num(res, "disconnected") != 0 {
				t.Errorf("pyzmq PULL: received=%d accepted=%d disconnected=%d, want %d, 1, 0",
					num(res, "received"), num(res, "accepted"), num(res, "disconnected"), n)
			}
			if st := push.Stats(); st.Connects != 1 {
				t.Errorf("PUSH stats %+v: want exactly one connection (Connects=1)", st)
			}
			if t.Failed() {
				t.Logf("topo PUSH events:\n%s", events)
			}
		})
	}
}

// A libzmq peer with ZMQ_HEARTBEAT_TTL asks, in each PING, to be dropped
// when silent for that long (peer.py: IVL 50 ms, TTL 500 ms). The pyzmq
// process is SIGSTOPped with its connection open (the kernel keeps the TCP
// session alive), so only the TTL can end it: topo, heartbeating on its own
// with a 1-minute timeout, must drop it within about the TTL, and its own
// PINGs and PONGs must not count as traffic from the peer.
func TestInteropPeerHeartbeatTTL(t *testing.T) {
	const n, ttl = 3, 500 * time.Millisecond
	ctx, zctx := interopSetup(t)
	events := newEventLog()
	var mu sync.Mutex
	var dropped time.Time
	var cause error
	pull := newSock(t, zctx, socket.PULL, socket.Options{
		HeartbeatIvl: 50 * time.Millisecond, HeartbeatTimeout: time.Minute,
		OnEvent: func(e socket.Event) {
			events.record(e)
			if e.Kind == socket.EventDisconnected {
				mu.Lock()
				if dropped.IsZero() {
					dropped, cause = time.Now(), e.Err
				}
				mu.Unlock()
			}
		},
	})
	ep := bindEphemeral(t, pull)
	defer func() {
		if t.Failed() {
			t.Logf("topo PULL events:\n%s", events)
		}
	}()
	py := startPeer(ctx, t, "pyzmq PUSH (heartbeat TTL)", "-role", "hb-hold", "-ep", ep, "-n", strconv.Itoa(n), "-heartbeat-ms", "50")
	for i := 0; i < n; i++ {
		if m := mustRecv(ctx, t, pull, fmt.Sprintf("message %d", i)); !sameMsg(m, pyData(i)) {
			t.Fatalf("message %d: got %s, want %s", i, describe(m), describe(pyData(i)))
		}
	}
	py.line(ctx, "SENT")
	time.Sleep(300 * time.Millisecond) // several PINGs with their TTL arrive, and are answered
	if st := pull.Stats(); st.Disconnects != 0 || st.Peers != 1 {
		t.Fatalf("PULL stats %+v before the peer went silent: want one live connection", st)
	}
	if err := py.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP pyzmq: %v", err)
	}
	stopped := time.Now()
	defer func() { _ = py.cmd.Process.Signal(syscall.SIGCONT) }()
	for {
		if st := pull.Stats(); st.Disconnects >= 1 {
			break
		}
		if time.Since(stopped) > 5*time.Second {
			t.Fatalf("topo kept a silent libzmq peer with a %v TTL for 5s (stats %+v)", ttl, pull.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	el, err := dropped.Sub(stopped), cause
	mu.Unlock()
	// The last PING arrived at most one interval before the stop.
	if el < ttl-100*time.Millisecond || el > 3*time.Second {
		t.Errorf("dropped %v after the peer went silent, want about its TTL of %v", el, ttl)
	}
	if err == nil || !strings.Contains(err.Error(), "TTL") {
		t.Errorf("EventDisconnected error %v, want one naming the peer's TTL", err)
	}
	if err := py.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT pyzmq: %v", err)
	}
	py.send("GO")
	py.result(ctx)
}

// A topo PUSH round-robins over libzmq PULL peers (zmq4 v0.17.0 broadcast to
// every peer instead): every message reaches exactly one peer, each peer
// sees its share in order, and the shares are even.
func TestInteropPushRoundRobin(t *testing.T) {
	const n, peers = 1200, 3
	ctx, zctx := interopSetup(t)
	push := newSock(t, zctx, socket.PUSH, socket.Options{})
	ep := bindEphemeral(t, push)
	var py []*pyPeer
	for k := 0; k < peers; k++ {
		py = append(py, startPeer(ctx, t, fmt.Sprintf("pyzmq PULL %d", k), "-role", "pull-any", "-ep", ep, "-idle-ms", "1000"))
	}
	for _, p := range py {
		p.line(ctx, "READY")
	}
	if err := push.WaitPeers(ctx, peers); err != nil {
		t.Fatalf("PUSH WaitPeers(%d): %v", peers, err)
	}
	for i := 0; i < n; i++ {
		mustSend(ctx, t, push, pyData(i), fmt.Sprintf("message %d", i))
	}
	seen := make([]int, n)
	for k, p := range py {
		res := p.result(ctx)
		raw, _ := res["seqs"].([]any)
		prev := -1
		for _, v := range raw {
			i := int(v.(float64))
			if i < 0 || i >= n {
				t.Fatalf("%s got seq %d", p.name, i)
			}
			if i <= prev {
				t.Errorf("%s got %d after %d: out of order", p.name, i, prev)
			}
			prev = i
			seen[i]++
		}
		share := float64(len(raw)) / n
		if share < 1.0/peers-0.05 || share > 1.0/peers+0.05 {
			t.Errorf("peer %d got %d of %d messages (%.1f%%), want %.1f%% ± 5%%", k, len(raw), n, 100*share, 100.0/peers)
		}
	}
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("message %d reached %d peers, want exactly 1", i, c)
		}
	}
}

// PUSH/PULL with libzmq over ipc://, both bind directions.
func TestInteropIPC(t *testing.T) {
	const n = 300
	nArg := strconv.Itoa(n)
	t.Run("pyzmq PUSH connects to topo PULL", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		ep := "ipc://" + t.TempDir() + "/pull.sock"
		pull := newSock(t, zctx, socket.PULL, socket.Options{})
		if err := pull.Bind(ep); err != nil {
			t.Fatalf("Bind(%s): %v", ep, err)
		}
		py := startPeer(ctx, t, "pyzmq PUSH", "-role", "push", "-ep", ep, "-n", nArg)
		for i := 0; i < n; i++ {
			if m := mustRecv(ctx, t, pull, fmt.Sprint(i)); !sameMsg(m, pyData(i)) {
				t.Fatalf("message %d: got %s, want %s", i, describe(m), describe(pyData(i)))
			}
		}
		py.result(ctx)
	})
	t.Run("topo PUSH connects to pyzmq PULL", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		ep := "ipc://" + t.TempDir() + "/push.sock"
		py := startPeer(ctx, t, "pyzmq PULL", "-role", "pull", "-bind", "-ep", ep, "-n", nArg)
		py.line(ctx, "READY") // bound
		push := newSock(t, zctx, socket.PUSH, socket.Options{})
		connect(t, push, ep)
		for i := 0; i < n; i++ {
			mustSend(ctx, t, push, pyData(i), fmt.Sprint(i))
		}
		if res := py.result(ctx); num(res, "received") != n {
			t.Errorf("pyzmq PULL received %d, want %d", num(res, "received"), n)
		}
	})
}

// recvFiltered reads a "wx"-filtered pyPubMsgs stream up to "wx-end" and
// checks it is exactly the "wx" messages, in order.
func recvFiltered(ctx context.Context, t *testing.T, s *socket.Socket, n int) {
	t.Helper()
	var want [][]byte
	for _, m := range pyPubMsgs(n) {
		if bytes.HasPrefix(m, []byte("wx")) {
			want = append(want, m)
		}
	}
	var got [][]byte
	for {
		m := mustRecv(ctx, t, s, fmt.Sprintf("after %d messages", len(got)))
		if len(m) != 1 || !bytes.HasPrefix(m[0], []byte("wx")) {
			t.Fatalf("%s got %s: filter not honoured or malformed", s.Type(), describe(m))
		}
		if string(m[0]) == "wx-end" {
			break
		}
		got = append(got, m[0])
	}
	if len(got) != len(want) {
		t.Fatalf("%s got %d messages, want %d", s.Type(), len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s message %d = %q, want %q", s.Type(), i, got[i], want[i])
		}
	}
}

// XPUB/XSUB against libzmq: subscriptions travel as ZMTP 3.0 messages
// (0x01 + prefix) and XPUB hands them to the application.
func TestInteropXPubXSub(t *testing.T) {
	const n = 200
	nArg := strconv.Itoa(n)
	t.Run("topo SUB subscribes to pyzmq XPUB", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		py := startPeer(ctx, t, "pyzmq XPUB", "-role", "xpub", "-bind", "-n", nArg)
		sub := newSock(t, zctx, socket.SUB, socket.Options{RecvHWM: -1})
		if err := sub.Subscribe([]byte("wx")); err != nil {
			t.Fatal(err)
		}
		connect(t, sub, py.endpoint(ctx))
		recvFiltered(ctx, t, sub, n)
		if res := py.result(ctx); res["subscription"] != "017778" {
			t.Errorf("libzmq XPUB got subscription %v, want 017778 (\\x01wx)", res["subscription"])
		}
	})
	t.Run("topo XSUB subscribes to pyzmq XPUB by message", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		py := startPeer(ctx, t, "pyzmq XPUB", "-role", "xpub", "-bind", "-n", nArg)
		xsub := newSock(t, zctx, socket.XSUB, socket.Options{RecvHWM: -1})
		connect(t, xsub, py.endpoint(ctx))
		mustSend(ctx, t, xsub, socket.Msg{[]byte("\x01wx")}, "subscription")
		recvFiltered(ctx, t, xsub, n)
		if res := py.result(ctx); res["subscription"] != "017778" {
			t.Errorf("libzmq XPUB got subscription %v, want 017778 (\\x01wx)", res["subscription"])
		}
	})
	t.Run("pyzmq SUB subscribes to topo XPUB", func(t *testing.T) {
		ctx, zctx := interopSetup(t)
		xpub := newSock(t, zctx, socket.XPUB, socket.Options{SendHWM: -1})
		ep := bindEphemeral(t, xpub)
		py := startPeer(ctx, t, "pyzmq SUB", "-role", "sub", "-ep", ep, "-n", nArg)
		if m := mustRecv(ctx, t, xpub, "subscription"); !sameMsg(m, socket.Msg{[]byte("\x01wx")}) {
			t.Fatalf("XPUB Recv = %s, want the subscription [\"\\x01wx\"]", describe(m))
		}
		for i, m := range pyPubMsgs(n) {
			mustSend(ctx, t, xpub, socket.Msg{m}, fmt.Sprint(i))
		}
		mustSend(ctx, t, xpub, socket.Msg{[]byte("wx-end")}, "end marker")
		py.result(ctx)
	})
}

// Two libzmq SUBs subscribe to the same prefix on a topo XPUB: with
// XPubVerbose (ZMQ_XPUB_VERBOSE) Recv returns both subscriptions, by default
// only the first; both SUBs then get the filtered stream.
func TestInteropXPubVerbose(t *testing.T) {
	const n = 100
	for _, verbose := range []bool{true, false} {
		t.Run(fmt.Sprintf("XPubVerbose=%v", verbose), func(t *testing.T) {
			ctx, zctx := interopSetup(t)
			xpub := newSock(t, zctx, socket.XPUB, socket.Options{SendHWM: -1, XPubVerbose: verbose})
			ep := bindEphemeral(t, xpub)
			var py []*pyPeer
			for k := 0; k < 2; k++ {
				py = append(py, startPeer(ctx, t, fmt.Sprintf("pyzmq SUB %d", k), "-role", "sub", "-ep", ep, "-n", strconv.Itoa(n)))
			}
			subs := 1
			if verbose {
				subs = 2
			}
			for k := 0; k < subs; k++ {
				if m := mustRecv(ctx, t, xpub, fmt.Sprintf("subscription %d", k)); !sameMsg(m, socket.Msg{[]byte("\x01wx")}) {
					t.Fatalf("XPUB Recv = %s, want the subscription [\"\\x01wx\"]", describe(m))
				}
			}
			if err := xpub.WaitPeers(ctx, 2); err != nil { // both subscriptions have arrived
				t.Fatalf("XPUB WaitPeers(2): %v", err)
			}
			expectNothing(ctx, t, xpub, 200*time.Millisecond)
			for i, m := range pyPubMsgs(n) {
				mustSend(ctx, t, xpub, socket.Msg{m}, fmt.Sprint(i))
			}
			mustSend(ctx, t, xpub, socket.Msg{[]byte("wx-end")}, "end marker")
			for _, p := range py {
				if res := p.result(ctx); num(res, "received") == 0 {
					t.Errorf("%s received nothing", p.name)
				}
			}
		})
	}
}

// A topo PLAIN client against a libzmq PLAIN server whose ZAP handler
// accepts only user/secret: the server restarts on the same port and the
// client's reconnect handshake must offer the same credentials (zmq4's own
// PLAIN client sends empty ones on a second handshake).
func TestInteropPlainReconnect(t *testing.T) {
	const n = 3
	ctx, zctx := interopSetup(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep := "tcp://" + ln.Addr().String()
	_ = ln.Close()
	events := newEventLog()
	push := newSock(t, zctx, socket.PUSH, socket.Options{
		Security:     socket.Plain{Username: "user", Password: "secret"},
		ReconnectIvl: 20 * time.Millisecond, ReconnectIvlMax: 100 * time.Millisecond,
		OnEvent: events.record,
	})
	defer func() {
		if t.Failed() {
			t.Logf("topo PUSH events:\n%s", events)
		}
	}()
	for round := 0; round < 2; round++ {
		py := startPeer(ctx, t, fmt.Sprintf("pyzmq PLAIN PULL, run %d", round+1), "-role", "plain-pull", "-bind", "-ep", ep, "-n", strconv.Itoa(n))
		py.line(ctx, "READY")
		if round == 0 {
			connect(t, push, ep)
		}
		for i := 0; i < n; i++ {
			mustSend(ctx, t, push, pyData(i), fmt.Sprintf("run %d message %d", round+1, i))
		}
		res := py.result(ctx)
		offered, _ := res["offered"].([]any)
		if num(res, "received") != n || len(offered) == 0 {
			t.Fatalf("run %d: libzmq received %d (want %d), ZAP saw %v", round+1, num(res, "received"), n, offered)
		}
		for _, o := range offered {
			if o != "user:secret" {
				t.Errorf("run %d: ZAP handler was offered %q, want user:secret", round+1, o)
			}
		}
		// The server is gone: wait until topo has seen it, so the next
		// messages queue for the reconnect instead of a dead connection.
		for push.Stats().Disconnects < uint64(round+1) {
			select {
			case <-ctx.Done():
				t.Fatalf("PUSH never saw the server go: stats %+v", push.Stats())
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	if st := push.Stats(); st.Connects != 2 || st.HandshakeFailures != 0 {
		t.Errorf("PUSH stats %+v: want 2 connections, no handshake failure", st)
	}
}
