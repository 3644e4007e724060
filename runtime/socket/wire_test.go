package socket

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawPeer is a hand-written ZMTP 3.1 peer over tcp, for wire-level tests.
type rawPeer struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
	w  *bufio.Writer
	fr *frameReader
}

func greeting() []byte {
	g := make([]byte, 64)
	g[0], g[9], g[10], g[11] = 0xff, 0x7f, 3, 1
	copy(g[12:], "NULL")
	return g
}

func readyBody(sockType string, props ...string) []byte {
	var b bytes.Buffer
	b.WriteByte(5)
	b.WriteString("READY")
	prop := func(k, v string) {
		b.WriteByte(byte(len(k)))
		b.WriteString(k)
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(v)))
		b.Write(l[:])
		b.WriteString(v)
	}
	prop("Socket-Type", sockType)
	for i := 0; i+1 < len(props); i += 2 {
		prop(props[i], props[i+1])
	}
	return b.Bytes()
}

// dialRaw connects to ep and completes the NULL handshake as sockType.
func dialRaw(t *testing.T, ep, sockType string) *rawPeer {
	t.Helper()
	nc, err := net.DialTimeout("tcp", strings.TrimPrefix(ep, "tcp://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	p := &rawPeer{t: t, nc: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}
	p.fr = newFrameReader(p.r, 1<<20)
	p.w.Write(greeting())
	_ = writeFrame(p.w, flagCommand, readyBody(sockType))
	p.flush()
	g := make([]byte, 64)
	if _, err := io.ReadFull(p.r, g); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	m, cmd, err := p.fr.next()
	if err != nil || !cmd {
		t.Fatalf("READY: %v %v", cmd, err)
	}
	if name, _, _ := parseCmd(m[0]); name != "READY" {
		t.Fatalf("got command %q, want READY", name)
	}
	return p
}

func (p *rawPeer) flush() {
	if err := p.w.Flush(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *rawPeer) cmd(name string, data []byte) {
	_ = writeCmd(p.w, zmtpCodec{}, name, data)
	p.flush()
}

func (p *rawPeer) next() (Msg, bool) {
	p.t.Helper()
	m, cmd, err := p.fr.next()
	if err != nil {
		p.t.Fatalf("raw peer read: %v", err)
	}
	return m, cmd
}

func TestPingAnsweredWithPongContext(t *testing.T) {
	e := newEnv(t)
	pull := e.sock(PULL, Options{})
	ep := e.bind(pull, "tcp://127.0.0.1:0")
	p := dialRaw(t, ep, "PUSH")
	p.cmd("PING", []byte{0, 30, 'c', 't', 'x'})
	m, cmd := p.next()
	name, data, _ := parseCmd(m[0])
	if !cmd || name != "PONG" || string(data) != "ctx" {
		t.Fatalf("got %v %q %q, want PONG ctx", cmd, name, data)
	}
	// Messages keep flowing, and the PING never reached the application.
	_ = writeMsg(p.w, zmtpCodec{}, Msg{[]byte("after-ping")})
	p.flush()
	if m := e.recv(pull); !eq(m, "after-ping") {
		t.Fatalf("got %q", m)
	}
	e.nothing(pull, 30*time.Millisecond)
}

func TestPubAcceptsZMTP31SubscribeCommands(t *testing.T) {
	e := newEnv(t)
	pub := e.sock(PUB, Options{})
	ep := e.bind(pub, "tcp://127.0.0.1:0")
	p := dialRaw(t, ep, "SUB")
	p.cmd("SUBSCRIBE", []byte("a"))
	_ = writeMsg(p.w, zmtpCodec{}, Msg{[]byte("\x01b")}) // 3.0 style too
	p.flush()
	e.waitPeers(pub, 1)
	waitFor(e, "two subscriptions", func() bool {
		ps := *pub.pipes.Load()
		if len(ps) != 1 {
			return false
		}
		ps[0].subMu.Lock()
		defer ps[0].subMu.Unlock()
		return ps[0].subs.len() == 2
	})
	for _, s := range []string{"a1", "c1", "b1"} {
		e.send(pub, s)
	}
	for _, want := range []string{"a1", "b1"} {
		if m, _ := p.next(); string(m[0]) != want {
			t.Fatalf("got %q want %q", m[0], want)
		}
	}
	p.cmd("CANCEL", []byte("a"))
	waitFor(e, "cancel", func() bool {
		p := (*pub.pipes.Load())[0]
		p.subMu.Lock()
		defer p.subMu.Unlock()
		return p.subs.len() == 1
	})
	e.send(pub, "a2")
	e.send(pub, "b2")
	if m, _ := p.next(); string(m[0]) != "b2" {
		t.Fatalf("got %q want b2", m[0])
	}
}

func TestHandshakeRejectsBadPeers(t *testing.T) {
	cases := []struct {
		name  string
		ready []byte
	}{
		{"unknown socket type", readyBody("FOO")},
		{"incompatible type", readyBody("PUB")},
		{"empty socket type", readyBody("")},
		{"truncated metadata", append(readyBody("PUSH"), 200, 'x')},
		{"not READY", []byte("\x05HELLO")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			var mu sync.Mutex
			var evs []Event
			pull := e.sock(PULL, Options{OnEvent: func(ev Event) { mu.Lock(); evs = append(evs, ev); mu.Unlock() }})
			ep := e.bind(pull, "tcp://127.0.0.1:0")
			nc, err := net.Dial("tcp", strings.TrimPrefix(ep, "tcp://"))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			w := bufio.NewWriter(nc)
			w.Write(greeting())
			_ = writeFrame(w, flagCommand, c.ready)
			_ = w.Flush()
			waitFor(e, "handshake failure", func() bool { return pull.Stats().HandshakeFailures == 1 })
			// The socket still serves a good peer.
			good := e.sock(PUSH, Options{})
			e.connect(good, ep)
			e.send(good, "ok")
			if m := e.recv(pull); !eq(m, "ok") {
				t.Fatalf("got %q", m)
			}
			mu.Lock()
			defer mu.Unlock()
			found := false
			for _, ev := range evs {
				found = found || ev.Kind == EventHandshakeFailed
			}
			if !found {
				t.Errorf("no %s event in %v", EventHandshakeFailed, evs)
			}
		})
	}
}

func TestBindErrorsAndEndpoints(t *testing.T) {
	e := newEnv(t)
	a := e.sock(PULL, Options{})
	ep := e.bind(a, "tcp://127.0.0.1:0")
	if strings.HasSuffix(ep, ":0") || !strings.HasPrefix(ep, "tcp://127.0.0.1:") {
		t.Fatalf("Endpoints() gave %q", ep)
	}
	b := e.sock(PULL, Options{})
	err := b.Bind(ep)
	if !errors.Is(err, ErrAddrInUse) || !strings.Contains(err.Error(), ep) {
		t.Fatalf("second Bind(%s): %v, want ErrAddrInUse naming the endpoint", ep, err)
	}
	if err := b.Bind("inproc://x"); err != nil {
		t.Fatal(err)
	}
	if err := a.Bind("inproc://x"); !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("inproc rebind: %v", err)
	}
	for _, bad := range []string{"tcp://nohostport", "udp://1.2.3.4:5", "nothing", "tcp://*"} {
		if err := b.Bind(bad); !errors.Is(err, ErrBadEndpoint) {
			t.Errorf("Bind(%q): %v, want ErrBadEndpoint", bad, err)
		}
	}
	if err := b.Connect("tcp://*:5"); !errors.Is(err, ErrBadEndpoint) {
		t.Errorf("Connect to wildcard: %v", err)
	}
	// tcp://*:0 binds every interface.
	w := e.sock(PULL, Options{})
	if err := w.Bind("tcp://*:0"); err != nil {
		t.Fatal(err)
	}
	wep := w.Endpoints()[0]
	port := wep[strings.LastIndex(wep, ":")+1:]
	push := e.sock(PUSH, Options{})
	e.connect(push, "tcp://127.0.0.1:"+port)
	e.send(push, "via-wildcard")
	if m := e.recv(w); !eq(m, "via-wildcard") {
		t.Fatalf("got %q", m)
	}
	if err := w.Unbind(wep); err != nil {
		t.Fatal(err)
	}
	if err := w.Unbind(wep); !errors.Is(err, ErrNoSuchAddress) {
		t.Fatalf("second Unbind: %v", err)
	}
	if err := push.Disconnect("tcp://127.0.0.1:" + port); err != nil {
		t.Fatal(err)
	}
}

func TestHeartbeatDropsSilentPeer(t *testing.T) {
	e := newEnv(t)
	pull := e.sock(PULL, Options{HeartbeatIvl: 20 * time.Millisecond, HeartbeatTimeout: 100 * time.Millisecond})
	ep := e.bind(pull, "tcp://127.0.0.1:0")
	p := dialRaw(t, ep, "PUSH")
	e.waitPeers(pull, 1)
	// The socket pings; the raw peer never answers.
	m, cmd := p.next()
	if name, _, _ := parseCmd(m[0]); !cmd || name != "PING" {
		t.Fatalf("got %q, want PING", m[0])
	}
	waitFor(e, "silent peer dropped", func() bool { return pull.Stats().Peers == 0 })
}

func TestLingerFlushesOnClose(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEnv(t)
			pull := e.sock(PULL, Options{RecvHWM: -1})
			ep := e.bind(pull, tr.ep(t))
			push := e.sock(PUSH, Options{SendHWM: -1})
			e.connect(push, ep)
			e.waitPeers(push, 1)
			const n = 20000
			for i := 0; i < n; i++ {
				e.send(push, fmt.Sprint(i))
			}
			if err := push.Close(); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if m := e.recv(pull); string(m[0]) != fmt.Sprint(i) {
					t.Fatalf("got %q want %d", m[0], i)
				}
			}
			if err := push.Send(e.ctx, Msg{[]byte("x")}); !errors.Is(err, ErrClosed) {
				t.Fatalf("Send after Close: %v", err)
			}
		})
	}
}

func TestContextCloseClosesSockets(t *testing.T) {
	var zc Context
	s, err := zc.NewSocket(PULL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	_ = s.Connect("tcp://127.0.0.1:1")
	recvErr := make(chan error, 1)
	go func() {
		_, err := s.Recv(context.Background())
		recvErr <- err
	}()
	if err := zc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-recvErr:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Recv: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Recv still blocked after Context.Close")
	}
	if _, err := zc.NewSocket(PUSH, Options{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewSocket after Close: %v", err)
	}
}

func TestSendRecvHonourContext(t *testing.T) {
	e := newEnv(t)
	push := e.sock(PUSH, Options{})
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Millisecond)
	defer cancel()
	if err := push.Send(ctx, Msg{[]byte("nobody")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PUSH Send without peers: %v", err)
	}
	pull := e.sock(PULL, Options{})
	ctx2, cancel2 := context.WithTimeout(e.ctx, 20*time.Millisecond)
	defer cancel2()
	if _, err := pull.Recv(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv: %v", err)
	}
	if err := pull.Send(e.ctx, Msg{nil}); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("PULL Send: %v", err)
	}
	if _, err := push.Recv(e.ctx); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("PUSH Recv: %v", err)
	}
}

func TestPingTTL(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want []byte
	}{
		{0, []byte{0, 0}},
		{-time.Second, []byte{0, 0}},
		{time.Millisecond, []byte{0, 1}},
		{150 * time.Millisecond, []byte{0, 2}}, // rounded up, not down to 100 ms
		{time.Second, []byte{0, 10}},
		{10 * time.Hour, []byte{0xff, 0xff}},
	} {
		if got := pingTTL(tc.d); !bytes.Equal(got, tc.want) {
			t.Errorf("pingTTL(%v) = %v, want %v", tc.d, got, tc.want)
		}
	}
}
