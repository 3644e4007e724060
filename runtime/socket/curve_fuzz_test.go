package socket

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/topo-zmq/topo/runtime/socket/internal/curve"
)

// curveSessions runs a deterministic CURVE handshake in memory and returns
// the client's and the server's sessions.
func curveSessions(t testing.TB) (client, server *curve.Session) {
	t.Helper()
	r := rand.NewChaCha8([32]byte{'c', 'u', 'r', 'v', 'e', '-', 'w', 'i', 'r', 'e'})
	ck, err := curve.GenerateKey(r)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := curve.GenerateKey(r)
	c, err := curve.NewClient(curve.ClientConfig{Key: ck, ServerKey: sk.Public, Rand: r, Metadata: curve.Metadata{{Name: "Socket-Type", Value: []byte("PUSH")}}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := curve.NewServer(curve.ServerConfig{Key: sk, Rand: r, Metadata: curve.Metadata{{Name: "Socket-Type", Value: []byte("PULL")}}})
	if err != nil {
		t.Fatal(err)
	}
	hello, _ := c.Hello()
	welcome, err := s.OnHello(hello)
	if err != nil {
		t.Fatal(err)
	}
	initiate, err := c.OnWelcome(welcome)
	if err != nil {
		t.Fatal(err)
	}
	ready, ss, err := s.OnInitiate(initiate)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := c.OnReady(ready)
	if err != nil {
		t.Fatal(err)
	}
	return cs, ss
}

// curveTranscript is what a topo client connection writes after READY,
// through the socket's own codec: messages of one and several frames,
// empty and long frames, PING, PONG, SUBSCRIBE and CANCEL.
func curveTranscript(t testing.TB, cs *curve.Session) []byte {
	var buf bytes.Buffer
	w := bufio.NewWriterSize(&buf, 512)
	fc := &curveCodec{sess: cs}
	for _, m := range []Msg{{[]byte("one")}, {[]byte("a"), nil, bytes.Repeat([]byte("b"), 300)}, {nil}, {bytes.Repeat([]byte("c"), 1000)}} {
		if err := writeMsg(w, fc, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range [][2]string{{"PING", "\x00\x0actx"}, {"PONG", "ctx"}, {"SUBSCRIBE", "topic"}, {"CANCEL", "topic"}} {
		if err := writeCmd(w, fc, c[0], []byte(c[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readCurve is the socket's read of a CURVE connection after the
// handshake: frames opened by sess, commands parsed as conn.command does.
func readCurve(b []byte, sess *curve.Session, max int64) (msgs, cmds int, err error) {
	return readCurvePool(b, sess, max, nil)
}

// readCurvePool is readCurve with frames read through fp (nil: none);
// every message is released to it at once.
func readCurvePool(b []byte, sess *curve.Session, max int64, fp *framePool) (msgs, cmds int, err error) {
	fr := newFrameReader(bufio.NewReaderSize(bytes.NewReader(b), 64), max)
	fr.sess = sess
	fr.pool = fp
	for {
		m, isCmd, err := fr.next()
		if err != nil {
			return msgs, cmds, err
		}
		if isCmd {
			if _, _, ok := parseCmd(m[0]); !ok {
				return msgs, cmds, errProtocol
			}
			cmds++
			continue
		}
		var n int64
		for _, f := range m {
			n += int64(len(f))
		}
		if n > max {
			panic("a message over the size limit was delivered")
		}
		msgs++
		if fp != nil {
			fp.putMsg(m)
		}
	}
}

// The transcript written by the codec reads back exactly, through the
// reader's CURVE path.
func TestCurveCodecRoundTrip(t *testing.T) {
	cs, ss := curveSessions(t)
	tr := curveTranscript(t, cs)
	msgs, cmds, err := readCurve(tr, ss, 1<<20)
	if msgs != 4 || cmds != 4 || err == nil || err.Error() != "EOF" {
		t.Fatalf("read %d messages, %d commands, then %v; want 4, 4, EOF", msgs, cmds, err)
	}
	// Every frame on the wire is a MESSAGE with no flags (short) or only
	// the long-size flag, as libzmq writes it.
	for b := tr; len(b) > 0; {
		var size, hdr int
		switch b[0] {
		case 0:
			size, hdr = int(b[1]), 2
		case flagLong:
			size, hdr = int(b[8])|int(b[7])<<8, 9
		default:
			t.Fatalf("wire frame flags %#x, want 0 or long", b[0])
		}
		if !bytes.HasPrefix(b[hdr:], []byte("\x07MESSAGE")) {
			t.Fatalf("wire frame is not a MESSAGE: %q", b[hdr:min(len(b), hdr+9)])
		}
		b = b[hdr+size:]
	}
}

// FuzzCurveRead feeds the socket's CURVE read path (frameReader with a
// session, then the command parser) arbitrary bytes after a real
// handshake, seeded with a real transcript: it must never panic, never
// deliver more than the size limit, and stop at the first bad box.
func FuzzCurveRead(f *testing.F) {
	cs, ss := curveSessions(f)
	tr := curveTranscript(f, cs)
	f.Add(tr)
	f.Add(tr[:len(tr)/2])
	f.Add(append(append([]byte(nil), tr[:60]...), tr[:60]...)) // a replayed first box
	f.Add([]byte{0, 5, '\x07', 'M', 'E', 'S', 'S'})
	f.Add([]byte{flagLong, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	base := *ss
	f.Fuzz(func(t *testing.T, b []byte) {
		sess := base // a fresh copy: nonces start where the handshake left them
		m1, c1, _ := readCurve(b, &sess, 4096)
		// With the frame pool on (payloads of 1 KiB or more opened into pooled
		// buffers): the same messages.
		var fp framePool
		fp.on.Store(true)
		sess = base
		m2, c2, _ := readCurvePool(b, &sess, 4096, &fp)
		if m1 != m2 || c1 != c2 {
			t.Fatalf("pooled read: %d messages, %d commands; unpooled %d, %d", m2, c2, m1, c1)
		}
	})
}
