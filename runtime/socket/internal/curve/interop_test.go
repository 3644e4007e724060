package curve

// Interop with libzmq 4.3 through pyzmq (Debian python3-zmq): testdata/peer.py
// is the other end, over tcp loopback, of this package's Client or Server
// driven by the test-only framer in zmtp_test.go.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const pythonPath = "/usr/bin/python3"

var writeCorpus = flag.Bool("write-corpus", false, "write the interop transcripts into testdata/fuzz as seed corpus")

type pyPeer struct {
	t     *testing.T
	lines chan string
	stdin io.WriteCloser
	done  chan struct{}
	errb  *strings.Builder
	mu    *sync.Mutex
}

// startPeer runs peer.py; the process is killed and reaped when the test ends.
func startPeer(t *testing.T, args ...string) *pyPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, pythonPath, append([]string{"testdata/peer.py"}, args...)...)
	p := &pyPeer{t: t, lines: make(chan string, 1024), done: make(chan struct{}), errb: &strings.Builder{}, mu: &sync.Mutex{}}
	cmd.Stderr = lockedWriter{p.mu, p.errb}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", pythonPath, err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close() // peer.py exits when stdin closes
		select {
		case <-p.done:
		case <-time.After(2 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		cancel()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("peer.py stderr:\n%s", p.errb.String())
			p.mu.Unlock()
		}
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// next returns the next stdout line, failing after 30 s or at EOF.
func (p *pyPeer) next() string {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			p.t.Fatal("peer.py exited early")
		}
		return l
	case <-time.After(30 * time.Second):
		p.t.Fatal("timed out waiting for peer.py")
	}
	return ""
}

// rest returns every line until "done" (not included).
func (p *pyPeer) rest() []string {
	p.t.Helper()
	var out []string
	for {
		l := p.next()
		if l == "done" {
			return out
		}
		out = append(out, l)
	}
}

// testMessages are the messages peer.py's client sends (keep in step with messages() there).
func testMessages() [][][]byte {
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i % 251)
	}
	return [][][]byte{{[]byte("hello")}, {[]byte("part1"), []byte("part2"), []byte("part3")}, {{}}, {big}}
}

func describe(frames [][]byte) string {
	d := make([][2]any, len(frames))
	for i, f := range frames {
		h := sha256.Sum256(f)
		d[i] = [2]any{len(f), hex.EncodeToString(h[:])}
	}
	b, _ := json.Marshal(d)
	return "msg " + string(b)
}

func keyOf(t *testing.T, z85 string) [32]byte {
	t.Helper()
	k, err := ParseKey(z85)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPublicFromSecretLibzmq is a known-answer test of PublicFromSecret (and
// of Z85) against libzmq's zmq_curve_public.
func TestPublicFromSecretLibzmq(t *testing.T) {
	var secrets, want []string
	for i := 0; i < 8; i++ {
		kp := mustKey(t)
		secrets = append(secrets, KeyString(kp.Secret))
		want = append(want, KeyString(kp.Public))
	}
	secrets = append(secrets, "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6") // RFC 26's example server secret
	want = append(want, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7")
	p := startPeer(t, append([]string{"public"}, secrets...)...)
	for i := range secrets {
		got := p.next()
		if got != want[i] {
			t.Fatalf("secret %s: libzmq says public %s, we say %s", secrets[i], got, want[i])
		}
		if pk := PublicFromSecret(keyOf(t, secrets[i])); KeyString(pk) != got {
			t.Fatalf("PublicFromSecret(%s) = %s", secrets[i], KeyString(pk))
		}
	}
}

type corpus struct {
	hello, welcome, initiate, ready, errorCmd []byte
	messages                                  [][]byte
}

func saveCorpus(t *testing.T, name string, entries ...[]byte) {
	if !*writeCorpus {
		return
	}
	dir := filepath.Join("testdata", "fuzz", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if e == nil {
			continue
		}
		data := "go test fuzz v1\n[]byte(" + strconv.Quote(string(e)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("interop-%s-%d", t.Name(), i)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// clientHandshake runs our Client over conn; it returns the session or the
// handshake error, and records the server's commands in c.
func clientHandshake(t *testing.T, z *zconn, cfg ClientConfig, c *corpus) (*Session, error) {
	t.Helper()
	// libzmq 4.3 sends as-server 0 whatever its role (zmtp_engine.cpp): not checked
	if _, err := z.greet(false); err != nil {
		return nil, err
	}
	cl, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hello, _ := cl.Hello()
	if err := z.writeCommand(hello); err != nil {
		return nil, err
	}
	if c.welcome, err = z.readCommand(); err != nil {
		return nil, err
	}
	initiate, err := cl.OnWelcome(c.welcome)
	if err != nil {
		return nil, err
	}
	if err := z.writeCommand(initiate); err != nil {
		return nil, err
	}
	if c.ready, err = z.readCommand(); err != nil {
		return nil, err
	}
	return cl.OnReady(c.ready)
}

func dialPeer(t *testing.T, p *pyPeer) *zconn {
	t.Helper()
	l := p.next()
	port, ok := strings.CutPrefix(l, "port ")
	if !ok {
		t.Fatalf("peer.py said %q", l)
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(40 * time.Second))
	t.Cleanup(func() { c.Close() })
	return newZconn(c)
}

// Our Client against a libzmq DEALER CURVE server that echoes: small,
// empty, multipart and 1 MiB messages go both ways.
func TestClientLibzmqServer(t *testing.T) {
	server := mustKey(t)
	msgs := testMessages()
	p := startPeer(t, "server", KeyString(server.Secret), "echo", strconv.Itoa(len(msgs)))
	z := dialPeer(t, p)
	var c corpus
	sess, err := clientHandshake(t, z, ClientConfig{Key: mustKey(t), ServerKey: server.Public,
		Metadata: Metadata{{"Socket-Type", []byte("DEALER")}, {"Identity", nil}, {"X-Run", []byte("test")}}}, &c)
	if err != nil {
		t.Fatalf("handshake with libzmq: %v", err)
	}
	if v, _ := sess.PeerMetadata().Get("Socket-Type"); string(v) != "DEALER" {
		t.Fatalf("libzmq's READY says Socket-Type %q", v)
	}
	for _, m := range msgs {
		if err := z.sendMsg(sess, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range msgs {
		if got, want := p.next(), describe(m); got != want {
			t.Fatalf("libzmq received %s, want %s", got, want)
		}
		back, err := z.recvMsg(sess, &c.messages)
		if err != nil {
			t.Fatalf("echo from libzmq: %v", err)
		}
		if describe(back) != describe(m) {
			t.Fatalf("echo %s, want %s", describe(back), describe(m))
		}
	}
	saveCorpus(t, "FuzzClientWelcome", c.welcome)
	saveCorpus(t, "FuzzClientReady", c.ready)
	saveCorpus(t, "FuzzOpen", c.messages...)
}

// A libzmq server whose ZAP handler refuses everyone sends ERROR "400"
// where READY would be; OnReady reports it as a *PeerError.
func TestClientRefusedByLibzmq(t *testing.T) {
	server := mustKey(t)
	p := startPeer(t, "server", KeyString(server.Secret), "deny", "0")
	z := dialPeer(t, p)
	var c corpus
	_, err := clientHandshake(t, z, ClientConfig{Key: mustKey(t), ServerKey: server.Public,
		Metadata: Metadata{{"Socket-Type", []byte("DEALER")}}}, &c)
	var pe *PeerError
	if !errors.As(err, &pe) || pe.Reason != "400" {
		t.Fatalf("handshake: %v, want ERROR 400", err)
	}
	saveCorpus(t, "FuzzClientReady", c.ready)
}

// Our Client with the wrong server key: libzmq cannot open HELLO and drops
// the connection without WELCOME.
func TestClientWrongServerKeyLibzmq(t *testing.T) {
	server := mustKey(t)
	p := startPeer(t, "server", KeyString(server.Secret), "echo", "1")
	z := dialPeer(t, p)
	var c corpus
	_, err := clientHandshake(t, z, ClientConfig{Key: mustKey(t), ServerKey: mustKey(t).Public,
		Metadata: Metadata{{"Socket-Type", []byte("DEALER")}}}, &c)
	if err == nil || c.welcome != nil {
		t.Fatalf("handshake with a wrong server key: err %v, WELCOME %q", err, c.welcome)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("want the connection closed, got %v", err)
	}
}

// serve accepts one connection on l and runs our Server's handshake on it.
func serve(t *testing.T, l net.Listener, cfg ServerConfig, c *corpus) (*zconn, *Session, error) {
	t.Helper()
	_ = l.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(40 * time.Second))
	z := newZconn(conn)
	if _, err := z.greet(true); err != nil {
		return z, nil, err
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.hello, err = z.readCommand(); err != nil {
		return z, nil, err
	}
	welcome, err := s.OnHello(c.hello)
	if err != nil {
		return z, nil, err
	}
	if err := z.writeCommand(welcome); err != nil {
		return z, nil, err
	}
	if c.initiate, err = z.readCommand(); err != nil {
		return z, nil, err
	}
	reply, sess, err := s.OnInitiate(c.initiate)
	if reply != nil {
		if werr := z.writeCommand(reply); werr != nil {
			return z, nil, werr
		}
	}
	return z, sess, err
}

func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// Our Server against a libzmq DEALER CURVE client: Authorize sees the
// client's real key, metadata arrives, and messages go both ways.
func TestServerLibzmqClient(t *testing.T) {
	server := mustKey(t)
	l, port := listen(t)
	msgs := testMessages()
	p := startPeer(t, "client", KeyString(server.Public), port, "echo", "1")
	clientKey := keyOf(t, strings.TrimPrefix(p.next(), "key "))
	var authorized [32]byte
	allow := map[[32]byte]bool{clientKey: true}
	var c corpus
	z, sess, err := serve(t, l, ServerConfig{Key: server, Metadata: Metadata{{"Socket-Type", []byte("DEALER")}},
		Authorize: func(k [32]byte) error {
			authorized = k
			if !allow[k] {
				return errors.New("unknown key")
			}
			return nil
		}}, &c)
	if err != nil {
		t.Fatalf("handshake with libzmq: %v", err)
	}
	if authorized != clientKey || sess.PeerKey() != clientKey {
		t.Fatal("Authorize did not see the libzmq client's key")
	}
	if v, ok := sess.PeerMetadata().Get("Socket-Type"); !ok || string(v) != "DEALER" {
		t.Fatalf("INITIATE metadata %q", sess.PeerMetadata())
	}
	for _, m := range msgs {
		got, err := z.recvMsg(sess, &c.messages)
		if err != nil {
			t.Fatalf("from libzmq: %v", err)
		}
		if describe(got) != describe(m) {
			t.Fatalf("from libzmq %s, want %s", describe(got), describe(m))
		}
		if err := z.sendMsg(sess, got); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range msgs {
		if got, want := p.next(), describe(m); got != want {
			t.Fatalf("libzmq received %s, want %s", got, want)
		}
	}
	if l := p.next(); l != "done" {
		t.Fatalf("peer.py: %q", l)
	}
	saveCorpus(t, "FuzzServerHello", c.hello)
	saveCorpus(t, "FuzzServerInitiate", c.initiate)
	saveCorpus(t, "FuzzOpen", c.messages...)
}

// Authorize refuses: the libzmq client gets ERROR and reports
// HANDSHAKE_FAILED_AUTH 400; nothing it sent was delivered.
func TestServerRefusesLibzmqClient(t *testing.T) {
	server := mustKey(t)
	l, port := listen(t)
	p := startPeer(t, "client", KeyString(server.Public), port, "watch", "0")
	clientKey := keyOf(t, strings.TrimPrefix(p.next(), "key "))
	var c corpus
	z, sess, err := serve(t, l, ServerConfig{Key: server, Metadata: Metadata{{"Socket-Type", []byte("DEALER")}},
		Authorize: func([32]byte) error { return errors.New("not on the list") }}, &c)
	var re *RefusedError
	if !errors.As(err, &re) || re.Key != clientKey || sess != nil {
		t.Fatalf("OnInitiate: %v", err)
	}
	events := strings.Join(p.rest(), "\n")
	if !strings.Contains(events, "event EVENT_HANDSHAKE_FAILED_AUTH 400") || strings.Contains(events, "SUCCEEDED") {
		t.Fatalf("libzmq client's events:\n%s", events)
	}
	// the connection carries nothing more: libzmq closes its side
	z.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if f, b, err := z.readFrame(1 << 16); err == nil {
		t.Fatalf("frame after ERROR: %#x %q", f, b)
	}
}

// A libzmq client with the wrong server key: OnHello fails with ErrCrypto
// and the connection is closed without WELCOME.
func TestServerWrongKeyLibzmqClient(t *testing.T) {
	server := mustKey(t)
	l, port := listen(t)
	p := startPeer(t, "client", KeyString(mustKey(t).Public), port, "watch", "0")
	p.next() // key
	var c corpus
	z, _, err := serve(t, l, ServerConfig{Key: server}, &c)
	if !errors.Is(err, ErrCrypto) {
		t.Fatalf("OnHello with a HELLO for another key: %v", err)
	}
	z.c.Close()
	if events := strings.Join(p.rest(), "\n"); strings.Contains(events, "SUCCEEDED") {
		t.Fatalf("libzmq client's events:\n%s", events)
	}
}

// Commands after the handshake travel inside MESSAGE boxes with FlagCommand:
// libzmq's heartbeat PINGs reach us that way, and our PONGs, sealed the same
// way, keep libzmq from dropping the connection (it would after 300 ms
// without a valid frame).
func TestClientHeartbeatLibzmq(t *testing.T) {
	server := mustKey(t)
	p := startPeer(t, "server", KeyString(server.Secret), "ping", "1")
	z := dialPeer(t, p)
	var c corpus
	sess, err := clientHandshake(t, z, ClientConfig{Key: mustKey(t), ServerKey: server.Public,
		Metadata: Metadata{{"Socket-Type", []byte("DEALER")}}}, &c)
	if err != nil {
		t.Fatal(err)
	}
	// read frames, answering each PING with a PONG; returns the first data frame
	pings := 0
	next := func() []byte {
		for {
			f, body, err := z.readFrame(1 << 16)
			if err != nil || f != 0 {
				t.Fatalf("after %d PINGs: frame %#x, %v", pings, f, err)
			}
			flags, cmd, err := sess.Open(nil, body)
			if err != nil {
				t.Fatal(err)
			}
			if flags&FlagCommand == 0 {
				return cmd
			}
			if !isCommand(cmd, "\x04PING") || len(cmd) < 7 {
				t.Fatalf("command %q", cmd)
			}
			if pings == 0 {
				saveCorpus(t, "FuzzOpen", body)
			}
			pings++
			pong, _ := sess.Seal(nil, FlagCommand, append([]byte("\x04PONG"), cmd[7:]...))
			if err := z.writeFrame(0, pong); err != nil {
				t.Fatal(err)
			}
			if err := z.flush(); err != nil {
				t.Fatal(err)
			}
			if pings == 8 {
				if err := z.sendMsg(sess, [][]byte{[]byte("still here")}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if got := next(); string(got) != "still here" || pings < 8 {
		t.Fatalf("echo %q after %d PINGs", got, pings)
	}
	if l := p.next(); l != describe([][]byte{[]byte("still here")}) {
		t.Fatalf("libzmq received %s", l)
	}
}

// A SUBSCRIBE command inside a MESSAGE box (FlagCommand, "\x09SUBSCRIBE" and
// the prefix, as libzmq 4.3 sends it to a ZMTP 3.1 peer) reaches a libzmq
// PUB's filter: only the subscribed topic arrives.
func TestClientSubscribeLibzmqPub(t *testing.T) {
	server := mustKey(t)
	p := startPeer(t, "server", KeyString(server.Secret), "pub", "0")
	z := dialPeer(t, p)
	var c corpus
	sess, err := clientHandshake(t, z, ClientConfig{Key: mustKey(t), ServerKey: server.Public,
		Metadata: Metadata{{"Socket-Type", []byte("SUB")}}}, &c)
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := sess.Seal(nil, FlagCommand, []byte("\x09SUBSCRIBEa"))
	if err := z.writeFrame(0, sub); err != nil {
		t.Fatal(err)
	}
	if err := z.flush(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		got, err := z.recvMsg(sess, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || string(got[0]) != "a-keep" {
			t.Fatalf("message %d from the PUB: %q", i, got)
		}
	}
	saveCorpus(t, "FuzzOpen", sub)
}
