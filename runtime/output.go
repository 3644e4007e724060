package runtime

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"
)

// lineMux serialises whole lines from many instances onto one writer.
type lineMux struct {
	mu    sync.Mutex
	w     io.Writer
	width int // instance names are padded to this width
	// abandoned: the run stopped and gave up on w (a write to it blocked
	// past the stop grace); every later line is dropped, so nothing else
	// queues up behind the blocked write.
	abandoned atomic.Bool
}

// prefixWriter is one instance's view of a lineMux: it buffers a partial
// line and writes every complete line as "name | line". Safe for concurrent
// use (a node may write from its body and from a subprocess relay).
type prefixWriter struct {
	mux    *lineMux
	prefix []byte
	mu     sync.Mutex
	buf    []byte
	// writing counts calls inside Write or Flush (waiting for the mux or
	// blocked in the underlying writer): a body that does not stop while
	// it is non-zero is blocked on its own output.
	writing atomic.Int32
}

// blocked reports whether a Write or Flush of w is in progress.
func (w *prefixWriter) blocked() bool { return w.writing.Load() > 0 }

func (m *lineMux) writer(name string) *prefixWriter {
	p := make([]byte, 0, m.width+3)
	p = append(p, name...)
	for len(p) < m.width {
		p = append(p, ' ')
	}
	p = append(p, " | "...)
	return &prefixWriter{mux: m, prefix: p}
}

// Write implements io.Writer; it never returns an error of its own making.
// Once the run has given up on the underlying writer (lineMux.abandoned)
// it drops b.
func (w *prefixWriter) Write(b []byte) (int, error) {
	if w.mux.abandoned.Load() {
		return len(b), nil
	}
	w.writing.Add(1)
	defer w.writing.Add(-1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i+1])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) == 0 {
		w.buf = nil
	}
	return len(b), nil
}

// Flush writes a pending partial line, terminated.
func (w *prefixWriter) Flush() {
	if w.mux.abandoned.Load() {
		return
	}
	w.writing.Add(1)
	defer w.writing.Add(-1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(append(w.buf, '\n'))
		w.buf = nil
	}
}

func (w *prefixWriter) emit(line []byte) {
	if w.mux.abandoned.Load() {
		return
	}
	out := make([]byte, 0, len(w.prefix)+len(line))
	out = append(out, w.prefix...)
	out = append(out, line...)
	w.mux.mu.Lock()
	_, _ = w.mux.w.Write(out)
	w.mux.mu.Unlock()
}
