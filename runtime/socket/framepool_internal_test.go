package socket

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"runtime/debug"
	"testing"
)

// Buffers of the classes under lendMin that the pool does not hold are
// carved from slabs: each has exactly its class's capacity (so put files it
// under its own class), none overlaps another, and the lend bound matches
// its class index.
func TestCarvedBuffers(t *testing.T) {
	if idx, size, _ := ceilClass(lendMin); idx != lendIdx || size != lendMin {
		t.Fatalf("lendIdx %d, class of lendMin %d (%d)", lendIdx, idx, size)
	}
	var fp framePool
	for _, n := range []int{poolMin, 1000 + poolMin, lendMin - 1} {
		_, size, _ := ceilClass(n)
		var bufs [][]byte
		for i := 0; i < 3*carveSlab/size; i++ {
			b := fp.get(n)
			if len(b) != n || cap(b) != size {
				t.Fatalf("get(%d): len %d cap %d, want cap %d", n, len(b), cap(b), size)
			}
			for k := range b[:cap(b)] {
				b[:cap(b)][k] = byte(i)
			}
			bufs = append(bufs, b)
		}
		for i, b := range bufs {
			for _, c := range b[:cap(b)] {
				if c != byte(i) {
					t.Fatalf("get(%d): buffer %d overwritten by another", n, i)
				}
			}
		}
	}
	if b := fp.get(lendMin); cap(b) != lendMin {
		t.Fatalf("get(lendMin): cap %d", cap(b))
	}
}

// Classes: ceilClass gives the smallest class holding n, floorClass the
// largest within a capacity, and the two agree on every class size, so a
// buffer allocated for n and given back is found again for n.
func TestFrameClasses(t *testing.T) {
	if _, size, _ := floorClass(poolMin); size != poolMin {
		t.Fatalf("smallest class %d", size)
	}
	prev := 0
	for n := poolMin; n <= 1<<poolMaxShift; n += max(1, n/97) {
		idx, size, ok := ceilClass(n)
		if !ok || size < n || size > n+n/4+1 {
			t.Fatalf("ceilClass(%d) = %d, %d, %v", n, idx, size, ok)
		}
		fi, fs, ok := floorClass(size)
		if !ok || fi != idx || fs != size {
			t.Fatalf("floorClass(%d) = %d, %d; ceilClass(%d) = %d", size, fi, fs, n, idx)
		}
		if fi, fs, _ := floorClass(size - 1); size-1 >= poolMin && (fs >= size || fi >= idx) {
			t.Fatalf("floorClass(%d) = %d (class %d)", size-1, fs, fi)
		}
		if idx < prev {
			t.Fatalf("classes not monotone at %d", n)
		}
		prev = idx
	}
	if _, _, ok := floorClass(poolMin - 1); ok {
		t.Fatal("a buffer under the smallest class is pooled")
	}
	if _, _, ok := ceilClass(1<<poolMaxShift + 1); ok {
		t.Fatal("a frame over the largest class has a class")
	}
	var fp framePool
	if b := fp.get(100); cap(b) != 100 {
		t.Fatalf("a small frame got capacity %d", cap(b))
	}
}

// With the pool on, a frame over a chunk is read whole into a released
// buffer of its class, also in small segments; a frame cut short gives the
// buffer back and no message; and MaxMsgSize still refuses a header before
// anything is allocated for it.
func TestPooledBodyReads(t *testing.T) {
	var fp framePool
	fp.on.Store(true)
	const size = 2<<20 + 5
	_, class, _ := ceilClass(size)
	buf := make([]byte, class)
	for range 30 { // under -race, sync.Pool drops a quarter of what it is given
		fp.put(buf)
	}
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 13)
	}
	stream := appendMsg(nil, zmtpCodec{}, Msg{body})
	reader := func(b []byte, max int64) *frameReader {
		sr := &segReader{r: bytes.NewReader(b), seg: 1500}
		fr := newFrameReader(bufio.NewReaderSize(sr, 64<<10), max)
		fr.src, fr.pool = sr, &fp
		return fr
	}
	m, _, err := reader(stream, 64<<20).next()
	if err != nil || !bytes.Equal(m[0], body) {
		t.Fatalf("%v, or the body differs", err)
	}
	if !within(m[0], buf) {
		t.Fatal("the body was not read into the released buffer")
	}
	fp.put(m[0])
	if _, _, err := reader(stream[:len(stream)-100], 64<<20).next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut short: %v", err)
	}
	idx, _, _ := ceilClass(size)
	if b := fp.take(idx, class); !within(b, buf) {
		t.Fatal("a frame cut short kept the buffer")
	}
	// Nothing released, pool on: the body grows as it arrives and ends in
	// a buffer of the class's size.
	m, _, err = reader(stream, 64<<20).next()
	if err != nil || !bytes.Equal(m[0], body) || cap(m[0]) != class {
		t.Fatalf("%v; capacity %d, want the class's %d", err, cap(m[0]), class)
	}
	// A header over MaxMsgSize: refused, nothing allocated for it.
	hdr := appendMsg(nil, zmtpCodec{}, Msg{make([]byte, 300)})[:9]
	hdr[1], hdr[2], hdr[3] = 0, 0, 0x40 // announces 1<<40 + 300 bytes
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	_, _, err = reader(hdr, 1<<30).next()
	runtime.ReadMemStats(&ms1)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("header over the limit: %v", err)
	}
	if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 1<<20 {
		t.Fatalf("%d bytes allocated for a refused header", d)
	}
}

// FuzzPooledFrameReader reads arbitrary bytes with the frame pool on (and
// a released buffer in it, dirty) and off: both must accept the same
// messages with the same bytes, within the limit, and the pooled read must
// never panic.
func FuzzPooledFrameReader(f *testing.F) {
	f.Add(appendMsg(nil, zmtpCodec{}, Msg{bytes.Repeat([]byte{7}, 5000)}))
	f.Add(appendMsg(appendMsg(nil, zmtpCodec{}, Msg{[]byte("a"), bytes.Repeat([]byte{1}, 4096)}), zmtpCodec{}, Msg{bytes.Repeat([]byte{2}, 9000)}))
	f.Add(appendMsg(nil, zmtpCodec{}, Msg{bytes.Repeat([]byte{3}, 6000)})[:3000]) // cut short
	f.Add(hugeHeader(1 << 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 15
		read := func(pooled bool) []Msg {
			var fp framePool
			if pooled {
				fp.on.Store(true)
				dirty := bytes.Repeat([]byte{0xee}, 8<<10)
				fp.put(dirty)
			}
			fr := newFrameReader(bufio.NewReaderSize(bytes.NewReader(data), 16), limit)
			fr.pool = &fp
			var out []Msg
			for {
				m, _, err := fr.next()
				if err != nil {
					return out
				}
				n := 0
				for _, b := range m {
					n += len(b)
				}
				if n > limit {
					t.Fatalf("message of %d bytes passed a %d-byte limit", n, limit)
				}
				out = append(out, cloneMsg(m))
				fp.putMsg(m) // released at once: the next frames may reuse it
			}
		}
		plain, pooled := read(false), read(true)
		if len(plain) != len(pooled) {
			t.Fatalf("%d messages unpooled, %d pooled", len(plain), len(pooled))
		}
		for i := range plain {
			if len(plain[i]) != len(pooled[i]) {
				t.Fatalf("message %d: frames differ", i)
			}
			for j := range plain[i] {
				if !bytes.Equal(plain[i][j], pooled[i][j]) {
					t.Fatalf("message %d frame %d differs pooled", i, j)
				}
			}
		}
	})
}

// Large buffers come back last in, first out, also when released on
// another goroutine than the one that takes them (an inproc receiver's
// Release, the sender's AllocFrame): the buffer released last is the one
// still warm in the cache. sync.Pool alone, taken from another P, hands
// out its oldest first. A garbage collection empties the hot stack, so
// idle buffers stay collectable.
func TestFramePoolLIFO(t *testing.T) {
	// A collection empties the hot stack (what this test checks last); one
	// between the puts and the gets, which 8 MiB of allocation can bring
	// on under -race, would empty it before the order is checked.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var fp framePool
	const size, k = 1 << 20, 8
	bufs := make([][]byte, k)
	for i := range bufs {
		bufs[i] = fp.get(size)
	}
	done := make(chan struct{})
	go func() { // release on another goroutine, oldest first
		for _, b := range bufs {
			fp.put(b)
		}
		close(done)
	}()
	<-done
	for i := k - 1; i >= 0; i-- {
		b := fp.get(size)
		if &b[0] != &bufs[i][0] {
			t.Fatalf("get %d: not the buffer released last (want %d)", k-1-i, i)
		}
	}
	fp.put(bufs[0])
	h := fp.hotStack()
	for i := 0; ; i++ {
		runtime.GC()
		h.mu.Lock()
		n := h.bytes
		h.mu.Unlock()
		if n == 0 {
			break
		}
		if i == 100 {
			t.Fatalf("hot stack holds %d bytes after %d collections", n, i)
		}
	}
	// Past the budget, buffers go to sync.Pool.
	for range hotBudget/size + 2 {
		fp.put(make([]byte, size))
	}
	h.mu.Lock()
	n := h.bytes
	h.mu.Unlock()
	if n > hotBudget {
		t.Fatalf("hot stack holds %d bytes, budget %d", n, hotBudget)
	}
}
