package plugins

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/topo-zmq/topo/plugins/pluginproto"
	"github.com/topo-zmq/topo/runtime/socket"
)

// TapFrameMax is the most of each frame a tap copies; the rest is cut
// (runtime.TapMessage.Truncated).
const TapFrameMax = 64 << 10

// DefaultTapRing is the ring size a tap uses for a size of 0 or less.
const DefaultTapRing = 1024

// TapEvent is what a socket tapped in another process reports
// (StreamTapper): a message, copied where the socket lives, and how
// many messages that side skipped before it.
type TapEvent struct {
	// Skipped counts the messages the far side's ring had no room for
	// since the previous event.
	Skipped uint64
	// Msg: the event carries a message (Time, Out, Frames, Truncated);
	// otherwise only Skipped.
	Msg       bool
	Time      time.Time
	Out       bool
	Frames    [][]byte
	Truncated bool
}

// StreamTapper is an Actor whose sockets live in another process and can
// be tapped there: the actor of a process or plugin node (package
// runtime/pluginhost).
type StreamTapper interface {
	// TapStream makes f see the messages of the socket named sock,
	// copied on the socket's side into a ring of ring messages (0 or
	// less: DefaultTapRing) whose overflow is counted, never waited for.
	// It returns once the tap is installed (or after a bound wait). nil f
	// detaches. f is called from one goroutine at a time.
	TapStream(sock string, ring int, f func(TapEvent)) error
}

// ErrTapUnsupported is wrapped by TapStream's error for a plugin built
// before taps crossed the plugin protocol (protocol revision 3).
var ErrTapUnsupported = errors.New("the plugin was built before taps existed")

// tapSide is one Tap stream of the plugin side: its bounded ring.
type tapSide struct {
	ch      chan *pluginproto.TapEvent
	skipped atomic.Uint64
}

// tapSides fans one socket's messages out to its streams' rings.
type tapSides struct {
	mu   sync.Mutex                 // guards changes of list
	list atomic.Pointer[[]*tapSide] // read by see, on the socket's Send and Recv
}

// change replaces the list with f of it and returns its new length.
func (h *tapSides) change(f func([]*tapSide) []*tapSide) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var l []*tapSide
	if p := h.list.Load(); p != nil {
		l = append(l, *p...)
	}
	l = f(l)
	h.list.Store(&l)
	return len(l)
}

// see is the socket's TapFunc: it copies m into every ring with room and
// counts a skip in every other.
func (h *tapSides) see(out bool, m socket.Msg) {
	p := h.list.Load()
	if p == nil {
		return
	}
	var ev *pluginproto.TapEvent
	for _, t := range *p {
		if len(t.ch) == cap(t.ch) {
			t.skipped.Add(1)
			continue
		}
		if ev == nil {
			ev = copyTapEvent(out, m)
		}
		select {
		case t.ch <- ev:
		default:
			t.skipped.Add(1)
		}
	}
}

func copyTapEvent(out bool, m socket.Msg) *pluginproto.TapEvent {
	ev := &pluginproto.TapEvent{Msg: true, Time: time.Now().UnixNano(), Out: out, Frames: make([][]byte, len(m))}
	for i, f := range m {
		if len(f) > TapFrameMax {
			f, ev.Truncated = f[:TapFrameMax], true
		}
		ev.Frames[i] = append([]byte{}, f...)
	}
	return ev
}

// tapSkipFlush is how often a Tap stream with nothing to send reports
// the skips it counted.
const tapSkipFlush = 100 * time.Millisecond

// Tap serves a Tap stream: it installs a ring on the socket (on the
// actor Bind makes, if there is none yet), says so, and sends what the
// ring holds, each message with the skips counted before it, until ctx
// is done. The last stream of a socket to end removes the tap, so an
// untapped socket pays one atomic load per message.
func (s *nodeServer) Tap(ctx context.Context, req *pluginproto.TapRequest, send func(*pluginproto.TapEvent) error) error {
	ring := req.Ring
	if ring <= 0 {
		ring = DefaultTapRing
	}
	t := &tapSide{ch: make(chan *pluginproto.TapEvent, ring)}
	s.mu.Lock()
	if s.taps == nil {
		s.taps = map[string]*tapSides{}
	}
	h := s.taps[req.Socket]
	if h == nil {
		h = &tapSides{}
		if tp, ok := s.actor.(Tapper); ok {
			if err := tp.SetTap(req.Socket, h.see); err != nil {
				s.mu.Unlock()
				return toWire(err)
			}
		}
		s.taps[req.Socket] = h
	}
	h.change(func(l []*tapSide) []*tapSide { return append(l, t) })
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		left := h.change(func(l []*tapSide) []*tapSide {
			out := l[:0]
			for _, x := range l {
				if x != t {
					out = append(out, x)
				}
			}
			return out
		})
		if left == 0 && s.taps[req.Socket] == h {
			delete(s.taps, req.Socket)
			if tp, ok := s.actor.(Tapper); ok {
				_ = tp.SetTap(req.Socket, nil)
			}
		}
	}()
	if err := send(&pluginproto.TapEvent{Attached: true}); err != nil {
		return err
	}
	tick := time.NewTicker(tapSkipFlush)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-t.ch:
			e := *ev // shared with the socket's other streams
			e.Skipped = t.skipped.Swap(0)
			if err := send(&e); err != nil {
				return err
			}
		case <-tick.C:
			if n := t.skipped.Swap(0); n > 0 {
				if err := send(&pluginproto.TapEvent{Skipped: n}); err != nil {
					return err
				}
			}
		}
	}
}
