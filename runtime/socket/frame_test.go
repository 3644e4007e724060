package socket

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	goruntime "runtime"
	"testing"
)

func frameBytes(flags byte, body []byte) []byte {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	_ = writeFrame(w, flags, body)
	_ = w.Flush()
	return b.Bytes()
}

func hugeHeader(size uint64) []byte {
	h := make([]byte, 9)
	h[0] = flagLong
	binary.BigEndian.PutUint64(h[1:], size)
	return h
}

// FuzzFrameReader feeds arbitrary bytes to the frame reader: it must never
// panic, never return a message larger than the limit, and re-encoding what
// it returns must give back the bytes it consumed.
func FuzzFrameReader(f *testing.F) {
	var ok bytes.Buffer
	w := bufio.NewWriter(&ok)
	_ = writeMsg(w, zmtpCodec{}, Msg{[]byte("a"), nil, bytes.Repeat([]byte{7}, 300)})
	_ = writeCmd(w, zmtpCodec{}, "PING", []byte{0, 10, 'c'})
	_ = w.Flush()
	f.Add(ok.Bytes())
	f.Add(frameBytes(0, []byte("hello")))
	f.Add(hugeHeader(1 << 63))
	f.Add(hugeHeader(1<<64 - 1))
	f.Add(hugeHeader(4096))                              // truncated body
	f.Add([]byte{flagMore, 0, flagMore, 0, flagMore})    // endless empty frames
	f.Add([]byte{flagCommand | flagMore, 1, 'x'})        // command with MORE
	f.Add([]byte{flagMore, 1, 'a', flagCommand, 1, 'x'}) // command inside a message
	f.Add([]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3}) // a greeting, not a frame
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 12
		type rec struct {
			m   Msg
			cmd bool
		}
		read := func(b []byte) []rec {
			fr := newFrameReader(bufio.NewReaderSize(bytes.NewReader(b), 16), limit)
			var out []rec
			for {
				m, cmd, err := fr.next()
				if err != nil {
					return out
				}
				total := 0
				for _, fb := range m {
					total += len(fb)
				}
				if total > limit {
					t.Fatalf("message of %d bytes passed a %d-byte limit", total, limit)
				}
				if cmd && len(m) != 1 {
					t.Fatalf("command with %d frames", len(m))
				}
				out = append(out, rec{m, cmd})
			}
		}
		got := read(data)
		// What was accepted re-encodes to bytes that decode to the same.
		var re bytes.Buffer
		w := bufio.NewWriter(&re)
		for _, r := range got {
			if r.cmd {
				_ = writeFrame(w, flagCommand, r.m[0])
			} else {
				_ = writeMsg(w, zmtpCodec{}, r.m)
			}
		}
		_ = w.Flush()
		again := read(re.Bytes())
		if len(again) != len(got) {
			t.Fatalf("re-decoded %d messages, want %d", len(again), len(got))
		}
		for i := range got {
			if got[i].cmd != again[i].cmd || len(got[i].m) != len(again[i].m) {
				t.Fatalf("message %d differs after re-encoding", i)
			}
			for j := range got[i].m {
				if !bytes.Equal(got[i].m[j], again[i].m[j]) {
					t.Fatalf("message %d frame %d differs after re-encoding", i, j)
				}
			}
		}
	})
}

func TestFrameReaderRoundTrip(t *testing.T) {
	msgs := []Msg{
		{[]byte("one")},
		{nil},
		{[]byte("a"), []byte{}, bytes.Repeat([]byte{1}, 255), bytes.Repeat([]byte{2}, 256), bytes.Repeat([]byte{3}, 70000)},
		{bytes.Repeat([]byte{4}, 3<<20)},
	}
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	for _, m := range msgs {
		if err := writeMsg(w, zmtpCodec{}, m); err != nil {
			t.Fatal(err)
		}
	}
	_ = writeCmd(w, zmtpCodec{}, "PING", []byte{0, 1})
	_ = w.Flush()
	fr := newFrameReader(bufio.NewReader(&b), 64<<20)
	for i, want := range msgs {
		m, cmd, err := fr.next()
		if err != nil || cmd || len(m) != len(want) {
			t.Fatalf("message %d: %v %v %d frames", i, err, cmd, len(m))
		}
		for j := range m {
			if !bytes.Equal(m[j], want[j]) {
				t.Fatalf("message %d frame %d differs", i, j)
			}
		}
	}
	m, cmd, err := fr.next()
	if err != nil || !cmd {
		t.Fatalf("command: %v %v", cmd, err)
	}
	if name, data, ok := parseCmd(m[0]); !ok || name != "PING" || !bytes.Equal(data, []byte{0, 1}) {
		t.Fatalf("command %q %v", name, data)
	}
	if _, _, err := fr.next(); err != io.EOF {
		t.Fatalf("at end: %v, want EOF", err)
	}
}

func TestFrameReaderRejectsBeforeAllocating(t *testing.T) {
	for _, size := range []uint64{1 << 63, 1<<64 - 1, 65 << 20} {
		fr := newFrameReader(bufio.NewReader(bytes.NewReader(hugeHeader(size))), 64<<20)
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		_, _, err := fr.next()
		goruntime.ReadMemStats(&after)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("size %d: %v, want ErrTooLarge", size, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
			t.Errorf("size %d: allocated %d bytes before rejecting", size, n)
		}
	}
	// A large frame within the limit whose body never arrives allocates only
	// a first chunk, not the announced size.
	fr := newFrameReader(bufio.NewReader(bytes.NewReader(hugeHeader(60<<20))), 64<<20)
	if _, _, err := fr.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated frame: %v", err)
	}
}

func TestGuardConnRejectsHugeHandshakeFrame(t *testing.T) {
	g := &guardConn{limit: handshakeFrameLimit, greet: 64}
	greeting := make([]byte, 64)
	if err := g.scan(greeting); err != nil {
		t.Fatal(err)
	}
	if err := g.scan(frameBytes(flagCommand, bytes.Repeat([]byte{1}, 300))); err != nil {
		t.Fatalf("small command: %v", err)
	}
	h := hugeHeader(1 << 40)
	h[0] |= flagCommand
	// Fed one byte at a time, as zmq4's io.ReadFull calls may split it.
	var err error
	for _, b := range h {
		if err = g.scan([]byte{b}); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("huge handshake frame: %v, want ErrTooLarge", err)
	}
}

// FuzzMsgComplete checks msgComplete, which decides when a direct read has
// a whole message buffered, against the frame reader: when it says
// complete, parsing needs no more bytes; when it says incomplete, parsing
// runs out of bytes (or rejects an oversized frame) and need is past the end.
func FuzzMsgComplete(f *testing.F) {
	f.Add(appendMsg(nil, zmtpCodec{}, Msg{[]byte("a"), nil, bytes.Repeat([]byte("b"), 300)}))
	f.Add(appendMsg(nil, zmtpCodec{}, Msg{[]byte("a")})[:1])
	f.Add(frameBytes(flagCommand, []byte("\x04PING\x00\x00")))
	f.Add(hugeHeader(1 << 62))
	f.Add([]byte{0xff, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ok, need := msgComplete(b)
		fr := newFrameReader(bufio.NewReader(bytes.NewReader(b)), 1<<20)
		_, _, err := fr.next()
		short := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if ok && short {
			t.Fatalf("msgComplete(% x) = complete, but parsing ran out of bytes: %v", b, err)
		}
		if !ok && !short && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("msgComplete(% x) = incomplete (need %d), but parsing gave %v", b, need, err)
		}
		if !ok && need <= len(b) {
			t.Fatalf("msgComplete(% x) = incomplete with need %d <= %d buffered", b, need, len(b))
		}
	})
}

func TestAppendMsgMatchesWriteMsg(t *testing.T) {
	for _, m := range []Msg{{nil}, {[]byte("x")}, {nil, []byte("y"), bytes.Repeat([]byte("z"), 256)}, {bytes.Repeat([]byte("w"), 70000)}} {
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		_ = writeMsg(w, zmtpCodec{}, m)
		_ = w.Flush()
		if got := appendMsg(nil, zmtpCodec{}, m); !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("appendMsg(%d frames) differs from writeMsg", len(m))
		}
	}
}
