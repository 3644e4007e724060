package socket_test

// Direct I/O (direct.go): REQ and REP read and write their connection from
// the Recv and Send callers when they can. These tests drive the hand-over
// between those callers and the connection's goroutines through its edges:
// messages of every size, a message split at any byte, cancellation and
// Close during a direct read, a second peer arriving while one is read
// directly, PINGs while the application is not receiving, and a peer that
// never reads its replies.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/topo-zmq/topo/runtime/socket"
)

// rawReadMsg reads one message or command from a raw ZMTP stream.
func rawReadMsg(r *bufio.Reader) (m socket.Msg, cmd bool, err error) {
	for {
		flags, err := r.ReadByte()
		if err != nil {
			return nil, false, err
		}
		var size uint64
		if flags&flagLong != 0 {
			var b [8]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return nil, false, err
			}
			size = binary.BigEndian.Uint64(b[:])
		} else {
			b, err := r.ReadByte()
			if err != nil {
				return nil, false, err
			}
			size = uint64(b)
		}
		if size > 1<<24 {
			return nil, false, fmt.Errorf("frame of %d bytes", size)
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, false, err
		}
		m = append(m, body)
		if flags&flagCommand != 0 {
			return m, true, nil
		}
		if flags&flagMore == 0 {
			return m, false, nil
		}
	}
}

// rawREQ binds a topo REP on tcp and connects a raw peer to it that has
// completed the handshake as peerType; the raw peer is the REP's only peer.
func rawREQ(t *testing.T, peerType string, o socket.Options) (ctx context.Context, rep *socket.Socket, c net.Conn, r *bufio.Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	zctx := &socket.Context{}
	t.Cleanup(func() { _ = zctx.Close() })
	rep = newSock(t, zctx, socket.REP, o)
	ep := bindEphemeral(t, rep)
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(ep, "tcp://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	rawHandshake(t, c, peerType)
	if err := rep.WaitPeers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return ctx, rep, c, bufio.NewReader(c)
}

func rawWrite(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(b); err != nil {
		t.Fatalf("raw write: %v", err)
	}
}

// rawExpectReply reads the REP's next reply and checks it is [""][body].
func rawExpectReply(t *testing.T, c net.Conn, r *bufio.Reader, body []byte) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	m, cmd, err := rawReadMsg(r)
	if err != nil || cmd || !sameMsg(m, socket.Msg{{}, body}) {
		t.Fatalf("raw peer read %s (command %v, %v), want the reply [''][%d bytes]", describe(m), cmd, err, len(body))
	}
}

func TestDirectReqRepSizes(t *testing.T) {
	sizes := []int{0, 1, 255, 256, 8000, 8300, 65536, 70000, 1 << 20}
	for _, tr := range []string{"tcp", "ipc"} {
		t.Run(tr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			zctx := &socket.Context{}
			defer zctx.Close()
			rep := newSock(t, zctx, socket.REP, socket.Options{})
			req := newSock(t, zctx, socket.REQ, socket.Options{})
			ep := "tcp://127.0.0.1:0"
			if tr == "ipc" {
				ep = "ipc://" + filepath.Join(t.TempDir(), "rep.sock")
			}
			if err := rep.Bind(ep); err != nil {
				t.Fatal(err)
			}
			connect(t, req, rep.Endpoints()[0])
			for i := 0; i < 3*len(sizes); i++ {
				body := bytes.Repeat([]byte{byte(i)}, sizes[i%len(sizes)])
				mustSend(ctx, t, req, socket.Msg{[]byte(fmt.Sprint(i)), body}, "request")
				m := mustRecv(ctx, t, rep, "request")
				if !sameMsg(m, socket.Msg{[]byte(fmt.Sprint(i)), body}) {
					t.Fatalf("request %d: got %s", i, describe(m))
				}
				mustSend(ctx, t, rep, socket.Msg{body, []byte("re")}, "reply")
				if m := mustRecv(ctx, t, req, "reply"); !sameMsg(m, socket.Msg{body, []byte("re")}) {
					t.Fatalf("reply %d: got %s", i, describe(m))
				}
			}
			for _, s := range []*socket.Socket{req, rep} {
				if read, wrote := socket.DirectIO(s); !read || !wrote {
					t.Errorf("%s: read directly %v, wrote directly %v; want both", s.Type(), read, wrote)
				}
			}
		})
	}
}

// A message that arrives in pieces, with a Recv cancelled in between, is
// delivered whole by the next Recv, wherever the cut falls.
func TestDirectRecvSplitMessage(t *testing.T) {
	ctx, rep, c, r := rawREQ(t, "REQ", socket.Options{})
	body := bytes.Repeat([]byte("x"), 1000)
	msg := zmtpMessage("", string(body))
	for _, cut := range []int{1, 2, 3, 5, 11, 500, len(msg) - 1} {
		rawWrite(t, c, msg[:cut])
		rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		start := time.Now()
		m, err := rep.Recv(rctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cut at %d: Recv of a partial message returned %s, %v; want DeadlineExceeded", cut, describe(m), err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("cut at %d: cancelled Recv took %v", cut, el)
		}
		rawWrite(t, c, msg[cut:])
		m = mustRecv(ctx, t, rep, fmt.Sprintf("request cut at %d", cut))
		if !sameMsg(m, socket.Msg{body}) {
			t.Fatalf("cut at %d: got %s, want the 1000-byte body", cut, describe(m))
		}
		reply := []byte(fmt.Sprint("re", cut))
		mustSend(ctx, t, rep, socket.Msg{reply}, "reply")
		rawExpectReply(t, c, r, reply)
	}
	if read, _ := socket.DirectIO(rep); !read {
		t.Error("no direct reads: the test did not exercise direct.go")
	}
}

// While the application holds the read side but is not receiving, the
// connection still answers a PING (the reader takes the read side back).
func TestDirectPingWhileNotReceiving(t *testing.T) {
	ctx, rep, c, r := rawREQ(t, "REQ", socket.Options{})
	for i := 0; i < 2; i++ {
		// Recv waits before the request is sent, so it reads directly.
		got := make(chan error, 1)
		go func() {
			_, err := rep.Recv(ctx)
			got <- err
		}()
		time.Sleep(50 * time.Millisecond)
		rawWrite(t, c, zmtpMessage("", "q"))
		if err := <-got; err != nil {
			t.Fatal(err)
		}
		mustSend(ctx, t, rep, socket.Msg{[]byte("a")}, "reply")
		rawExpectReply(t, c, r, []byte("a"))
	}
	if read, _ := socket.DirectIO(rep); !read {
		t.Fatal("no direct read: the read side was never lent")
	}
	rawWrite(t, c, zmtpFrame(flagCommand, []byte("\x04PING\x00\x00ctx")))
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	m, cmd, err := rawReadMsg(r)
	if err != nil || !cmd || !bytes.Equal(m[0], []byte("\x04PONGctx")) {
		t.Fatalf("after a PING: read %s (command %v, %v), want PONG with the context", describe(m), cmd, err)
	}
}

// A Recv reading one connection directly gives way when another pipe
// delivers, over tcp and inproc; neither peer's messages are lost.
func TestDirectRecvGivesWayToSecondPeer(t *testing.T) {
	for _, tr := range []string{"tcp", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			zctx := &socket.Context{}
			defer zctx.Close()
			rep := newSock(t, zctx, socket.REP, socket.Options{})
			a := newSock(t, zctx, socket.REQ, socket.Options{})
			connect(t, a, bindEphemeral(t, rep))
			exchange := func(req *socket.Socket, what string) {
				t.Helper()
				mustSend(ctx, t, req, socket.Msg{[]byte(what)}, what)
				if m := mustRecv(ctx, t, rep, what); string(m[0]) != what {
					t.Fatalf("REP got %s, want %s", describe(m), what)
				}
				mustSend(ctx, t, rep, socket.Msg{[]byte("re " + what)}, what)
				if m := mustRecv(ctx, t, req, what); string(m[0]) != "re "+what {
					t.Fatalf("REQ got %s, want the reply to %s", describe(m), what)
				}
			}
			exchange(a, "a1")
			// REP waits for a request, reading a's connection directly.
			got := make(chan socket.Msg, 1)
			go func() {
				m, err := rep.Recv(ctx)
				if err != nil {
					t.Errorf("REP Recv: %v", err)
				}
				got <- m
			}()
			time.Sleep(50 * time.Millisecond)
			b := newSock(t, zctx, socket.REQ, socket.Options{})
			ep := "inproc://direct-gives-way"
			if tr == "tcp" {
				ep = "tcp://127.0.0.1:0"
			}
			if err := rep.Bind(ep); err != nil {
				t.Fatal(err)
			}
			eps := rep.Endpoints()
			connect(t, b, eps[len(eps)-1])
			mustSend(ctx, t, b, socket.Msg{[]byte("b1")}, "b1")
			select {
			case m := <-got:
				if string(m[0]) != "b1" {
					t.Fatalf("REP got %s, want b1", describe(m))
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("REP Recv did not return b's request (stats %+v)", rep.Stats())
			}
			mustSend(ctx, t, rep, socket.Msg{[]byte("re b1")}, "reply b1")
			if m := mustRecv(ctx, t, b, "reply b1"); string(m[0]) != "re b1" {
				t.Fatalf("b got %s", describe(m))
			}
			exchange(a, "a2")
			exchange(b, "b2")
			exchange(a, "a3")
		})
	}
}

// Cancelling a Recv that reads directly returns at once and loses nothing;
// Close ends one with ErrClosed.
func TestDirectRecvCancelAndClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	zctx := &socket.Context{}
	defer zctx.Close()
	rep := newSock(t, zctx, socket.REP, socket.Options{})
	req := newSock(t, zctx, socket.REQ, socket.Options{})
	connect(t, req, bindEphemeral(t, rep))
	for i := 0; i < 3; i++ {
		q := []byte(fmt.Sprint("q", i))
		mustSend(ctx, t, req, socket.Msg{q}, "request")
		if m := mustRecv(ctx, t, rep, "request"); !bytes.Equal(m[0], q) {
			t.Fatalf("got %s", describe(m))
		}
		mustSend(ctx, t, rep, socket.Msg{q}, "reply")
		mustRecv(ctx, t, req, "reply")

		rctx, rcancel := context.WithCancel(ctx)
		time.AfterFunc(50*time.Millisecond, rcancel)
		start := time.Now()
		if m, err := rep.Recv(rctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Recv: %s, %v", describe(m), err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("cancelled Recv returned after %v", el)
		}
	}
	if read, _ := socket.DirectIO(rep); !read {
		t.Fatal("no direct reads")
	}
	errc := make(chan error, 1)
	go func() {
		_, err := rep.Recv(ctx)
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	_ = rep.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, socket.ErrClosed) {
			t.Fatalf("Recv during Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Recv did not return after Close")
	}
}

// A peer that sends requests and never reads the replies cannot block REP's
// Send: replies beyond what the network and the high-water mark hold are
// dropped and counted, and those that arrive are whole and in order.
func TestDirectSendNeverBlocks(t *testing.T) {
	const n, hwm = 4000, 50
	ctx, rep, c, r := rawREQ(t, "DEALER", socket.Options{SendHWM: hwm})
	body := func(i int) []byte {
		b := bytes.Repeat([]byte{byte(i)}, 2000)
		binary.BigEndian.PutUint32(b, uint32(i))
		return b
	}
	go func() {
		w := bufio.NewWriter(c)
		for i := 0; i < n; i++ {
			if _, err := w.Write(zmtpMessage("", string(body(i)))); err != nil {
				return
			}
		}
		_ = w.Flush()
	}()
	for i := 0; i < n; i++ {
		m := mustRecv(ctx, t, rep, fmt.Sprint("request ", i))
		if !sameMsg(m, socket.Msg{body(i)}) {
			t.Fatalf("request %d: got %s", i, describe(m))
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		mustSend(sctx, t, rep, m, fmt.Sprint("reply ", i))
		cancel()
	}
	st := rep.Stats()
	if st.Dropped == 0 {
		t.Fatalf("no reply dropped (stats %+v): the peer read them all, so this test proves nothing", st)
	}
	// Every reply that arrives is whole, and they come in order.
	last, count := -1, 0
	for {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		m, cmd, err := rawReadMsg(r)
		if err != nil {
			break
		}
		if cmd {
			continue
		}
		if len(m) != 2 || len(m[0]) != 0 || len(m[1]) != 2000 {
			t.Fatalf("reply %d is malformed: %s", count, describe(m))
		}
		i := int(binary.BigEndian.Uint32(m[1]))
		if i <= last || !bytes.Equal(m[1], body(i)) {
			t.Fatalf("reply %d is request %d's after request %d's, or corrupt", count, i, last)
		}
		last = i
		count++
	}
	if uint64(count)+st.Dropped != n {
		t.Fatalf("%d replies arrived and %d were dropped, want %d in all", count, st.Dropped, n)
	}
	// Only now: DirectIO waits for a writer that is blocked writing.
	if _, wrote := socket.DirectIO(rep); !wrote {
		t.Fatal("no direct writes")
	}
}

// Close ends a Recv that reads directly at once, even while Close itself
// lingers for a peer that does not close its side.
func TestDirectRecvCloseWhileLingering(t *testing.T) {
	ctx, rep, c, r := rawREQ(t, "REQ", socket.Options{Linger: 2 * time.Second})
	rawWrite(t, c, zmtpMessage("", "q"))
	mustRecv(ctx, t, rep, "request")
	mustSend(ctx, t, rep, socket.Msg{[]byte("a")}, "reply")
	rawExpectReply(t, c, r, []byte("a"))
	errc := make(chan error, 1)
	go func() {
		_, err := rep.Recv(ctx)
		errc <- err
	}()
	// Close only once that Recv reads the connection itself (the request
	// above may have come through the reader goroutine instead).
	for deadline := time.Now().Add(5 * time.Second); !socket.ReadingDirect(rep); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Recv did not start reading the connection directly within 5s")
		}
	}
	closed := make(chan struct{})
	go func() {
		_ = rep.Close()
		close(closed)
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, socket.ErrClosed) {
			t.Fatalf("Recv during Close: %v, want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Recv did not return within 1s of Close (Close lingers 2s for the silent peer)")
	}
	<-closed
}
