package runtime

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/topo-zmq/topo/internal/lines"
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
	w.buf = lines.Split(append(w.buf, b...), w.emit)
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

// Warnings a node logs are rate-limited per node and per message: after
// warnBurst records with the same message within warnWindow, the rest are
// counted, not written, and one "suppressed N similar warnings" record
// says how many when the window is over (or the run ends). A hostile peer
// that sends 20,000 malformed messages costs a few lines, not 20,000.
const (
	warnBurst  = 5
	warnWindow = 10 * time.Second
)

// warnLimiter is the rate-limiting state of one node's log, shared by
// every handler derived from it (With, WithGroup).
type warnLimiter struct {
	mu     sync.Mutex
	next   slog.Handler // the runtime's handler
	node   string       // added to the "suppressed" records
	now    func() time.Time
	counts map[string]*warnCount // by message
}

type warnCount struct {
	level      slog.Level
	start      time.Time // the window's start
	n          int       // records in the window
	suppressed int       // of which not written
}

func newWarnLimiter(next slog.Handler, node string, now func() time.Time) *warnLimiter {
	if now == nil {
		now = time.Now
	}
	return &warnLimiter{next: next, node: node, now: now, counts: map[string]*warnCount{}}
}

// handler returns the slog.Handler that writes through the limiter, with
// no attributes (the node's name is for the caller to add).
func (l *warnLimiter) handler() slog.Handler { return &limitHandler{l: l, next: l.next} }

// admit counts a record and reports whether to write it; over is a
// window that ended with suppressed records, to report first.
func (l *warnLimiter) admit(r slog.Record) (ok bool, over []suppressed) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	over = l.expireLocked(now)
	c := l.counts[r.Message]
	if c == nil {
		c = &warnCount{start: now}
		l.counts[r.Message] = c
	}
	c.level = max(c.level, r.Level)
	c.n++
	if c.n > warnBurst {
		c.suppressed++
		return false, over
	}
	return true, over
}

type suppressed struct {
	msg   string
	level slog.Level
	n     int
	since time.Time
}

// expireLocked ends the windows that are over, returning those that
// suppressed records.
func (l *warnLimiter) expireLocked(now time.Time) []suppressed {
	var out []suppressed
	for msg, c := range l.counts {
		if now.Sub(c.start) < warnWindow {
			continue
		}
		if c.suppressed > 0 {
			out = append(out, suppressed{msg, c.level, c.suppressed, c.start})
		}
		delete(l.counts, msg)
	}
	return out
}

// tick reports the windows that are over; the runtime calls it every
// stats interval.
func (l *warnLimiter) tick() { l.report(l.expire(false)) }

// flush reports every suppressed record now, windows over or not.
func (l *warnLimiter) flush() { l.report(l.expire(true)) }

func (l *warnLimiter) expire(all bool) []suppressed {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !all {
		return l.expireLocked(now)
	}
	var out []suppressed
	for msg, c := range l.counts {
		if c.suppressed > 0 {
			out = append(out, suppressed{msg, c.level, c.suppressed, c.start})
		}
		delete(l.counts, msg)
	}
	return out
}

func (l *warnLimiter) report(s []suppressed) {
	sort.Slice(s, func(i, j int) bool { return s[i].msg < s[j].msg })
	for _, x := range s {
		r := slog.NewRecord(l.now(), x.level, fmt.Sprintf("suppressed %d similar warnings", x.n), 0)
		r.AddAttrs(slog.String("node", l.node), slog.String("warning", x.msg), slog.Int("suppressed", x.n),
			slog.Duration("in", l.now().Sub(x.since).Round(time.Millisecond)))
		if l.next.Enabled(context.Background(), x.level) {
			_ = l.next.Handle(context.Background(), r)
		}
	}
}

// limitHandler passes records below slog.LevelWarn through and rate-limits
// the others with its node's warnLimiter.
type limitHandler struct {
	l    *warnLimiter
	next slog.Handler
}

func (h *limitHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return h.next.Enabled(ctx, lv)
}

func (h *limitHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.next.Handle(ctx, r)
	}
	ok, over := h.l.admit(r)
	h.l.report(over)
	if !ok {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *limitHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &limitHandler{l: h.l, next: h.next.WithAttrs(as)}
}

func (h *limitHandler) WithGroup(name string) slog.Handler {
	return &limitHandler{l: h.l, next: h.next.WithGroup(name)}
}
