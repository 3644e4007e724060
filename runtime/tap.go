package runtime

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

// TapFrameMax is the most of each frame a tap copies; the rest is cut
// (TapMessage.Truncated).
const TapFrameMax = plugins.TapFrameMax

// DefaultTapRing is the ring size Tap uses for a size of 0 or less.
const DefaultTapRing = plugins.DefaultTapRing

// ErrTapNotSupported is wrapped by Tap's error for a node whose actor
// cannot be tapped: a plugin built before taps crossed the plugin
// protocol (revision 3; the error says to rebuild it), or a Launcher's
// actor that is neither a plugins.Tapper nor a plugins.StreamTapper.
var ErrTapNotSupported = errors.New("this node cannot be tapped")

// ErrNotRunning is wrapped by Tap's error while Run has not prepared the
// nodes yet, or after it returned.
var ErrNotRunning = errors.New("the runtime is not running")

// ErrNoSuchSocket is wrapped by Tap's error for an instance or socket the
// topology does not have.
var ErrNoSuchSocket = errors.New("no such node instance or socket")

// TapMessage is one message a tap saw go through its socket.
type TapMessage struct {
	Time time.Time
	// Out: the node sent it (Send); otherwise the node received it (Recv).
	Out bool
	// Frames are copies of the message's frames as the node's application
	// saw them, each cut to TapFrameMax bytes.
	Frames [][]byte
	// Truncated: at least one frame was cut.
	Truncated bool
}

// Tap is a sample of the messages through one socket of a running node
// (Runtime.Tap). It never slows the socket down: a message that finds
// the tap's ring full is not copied, only counted (Skipped).
type Tap struct {
	// C delivers the messages, oldest first.
	C <-chan TapMessage

	ch      chan TapMessage
	skipped atomic.Uint64
	done    chan struct{}
	once    sync.Once
	hub     *tapHub
	n       *node
	sock    string
}

// Skipped returns how many messages the tap skipped because its ring was
// full since the last call, and resets the count.
func (t *Tap) Skipped() uint64 { return t.skipped.Swap(0) }

// Done is closed when the tap is closed, or when the run ends.
func (t *Tap) Done() <-chan struct{} { return t.done }

// Close detaches the tap; once the socket has no tap left, its Send and
// Recv are back to paying one atomic load each. Safe to call more than once.
func (t *Tap) Close() {
	t.once.Do(func() {
		close(t.done)
		n := t.n
		n.mu.Lock()
		defer n.mu.Unlock()
		if t.hub.remove(t) == 0 {
			delete(n.taps, t.sock)
			switch tp := n.actor.(type) {
			case plugins.Tapper:
				_ = tp.SetTap(t.sock, nil)
			case plugins.StreamTapper:
				_ = tp.TapStream(t.sock, 0, nil)
			}
		}
	})
}

// tapHub fans one socket's messages out to its taps.
type tapHub struct {
	mu   sync.Mutex             // guards changes of list
	list atomic.Pointer[[]*Tap] // read by see, on the socket's Send and Recv
}

func (h *tapHub) add(t *Tap) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var l []*Tap
	if p := h.list.Load(); p != nil {
		l = append(l, *p...)
	}
	l = append(l, t)
	h.list.Store(&l)
}

// remove drops t and returns how many taps are left.
func (h *tapHub) remove(t *Tap) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var l []*Tap
	if p := h.list.Load(); p != nil {
		for _, x := range *p {
			if x != t {
				l = append(l, x)
			}
		}
	}
	h.list.Store(&l)
	return len(l)
}

// see is the socket's TapFunc: it copies m into every tap with room.
func (h *tapHub) see(out bool, m socket.Msg) {
	p := h.list.Load()
	if p == nil {
		return
	}
	var msg TapMessage
	copied := false
	for _, t := range *p {
		if len(t.ch) == cap(t.ch) {
			t.skipped.Add(1)
			continue
		}
		if !copied {
			msg, copied = copyTap(out, m), true
		}
		select {
		case t.ch <- msg:
		default:
			t.skipped.Add(1)
		}
	}
}

// seeEvent is a StreamTapper's callback: the skips the socket's side
// counted are every tap's skips (none of them saw those messages), and
// the message goes into every tap with room, like see.
func (h *tapHub) seeEvent(ev plugins.TapEvent) {
	p := h.list.Load()
	if p == nil {
		return
	}
	msg := TapMessage{Time: ev.Time, Out: ev.Out, Frames: ev.Frames, Truncated: ev.Truncated}
	for _, t := range *p {
		if ev.Skipped > 0 {
			t.skipped.Add(ev.Skipped)
		}
		if !ev.Msg {
			continue
		}
		select {
		case t.ch <- msg:
		default:
			t.skipped.Add(1)
		}
	}
}

func copyTap(out bool, m socket.Msg) TapMessage {
	msg := TapMessage{Time: time.Now(), Out: out, Frames: make([][]byte, len(m))}
	for i, f := range m {
		if len(f) > TapFrameMax {
			f, msg.Truncated = f[:TapFrameMax], true
		}
		msg.Frames[i] = append([]byte{}, f...)
	}
	return msg
}

// Tap attaches a tap to the socket sock of instance inst: from now on
// (for the rest of the run, across the node's restarts) it receives
// copies of the messages the instance sends and receives on that socket,
// holding up to ring of them (0 or less: DefaultTapRing) until they are
// read from Tap.C; what finds the ring full is skipped and counted. The
// caller must Close it. A process or plugin node is tapped in its own
// process, over the plugin protocol's Tap stream: its messages are
// copied there into a ring of DefaultTapRing whose overflow counts in
// Skipped too; a plugin built before that stream existed gives an error
// wrapping ErrTapNotSupported.
func (r *Runtime) Tap(inst, sock string, ring int) (*Tap, error) {
	r.mu.Lock()
	nodes, live := r.nodes, r.live
	r.mu.Unlock()
	if !live || nodes == nil {
		return nil, fmt.Errorf("tap %s.%s: %w", inst, sock, ErrNotRunning)
	}
	var n *node
	for _, x := range nodes {
		if x.inst.Name == inst {
			n = x
		}
	}
	if n == nil {
		return nil, fmt.Errorf("tap %s.%s: no node instance %q in the topology: %w", inst, sock, inst, ErrNoSuchSocket)
	}
	// The topology's instance, not n.spec: the runtime fills the spec's
	// CURVE keys while nodes start.
	if n.inst.Socket(sock) == nil {
		return nil, fmt.Errorf("tap %s.%s: node %q has no socket %q: %w", inst, sock, inst, sock, ErrNoSuchSocket)
	}
	if ring <= 0 {
		ring = DefaultTapRing
	}
	ch := make(chan TapMessage, ring)
	t := &Tap{C: ch, ch: ch, done: make(chan struct{}), n: n, sock: sock}
	if err := n.addTap(t); err != nil {
		if errors.Is(err, plugins.ErrTapUnsupported) {
			return nil, fmt.Errorf("tap %s.%s: %w: %w", inst, sock, ErrTapNotSupported, err)
		}
		return nil, fmt.Errorf("tap %s.%s: %w", inst, sock, err)
	}
	// The run may have ended since live was read, its closeTaps done.
	r.mu.Lock()
	live = r.live
	r.mu.Unlock()
	if !live {
		t.Close()
	}
	return t, nil
}

// addTap attaches t to n's hub for t.sock, making the hub (and setting
// it on the live actor's socket) for the first tap.
func (n *node) addTap(t *Tap) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.taps == nil {
		n.taps = map[string]*tapHub{}
	}
	h := n.taps[t.sock]
	if h == nil {
		h = &tapHub{}
		var err error
		switch tp := n.actor.(type) {
		case plugins.Tapper:
			err = tp.SetTap(t.sock, h.see)
		case plugins.StreamTapper:
			err = tp.TapStream(t.sock, DefaultTapRing, h.seeEvent)
		case nil: // between runs of the node: installTapsLocked
		default:
			err = ErrTapNotSupported
		}
		if err != nil {
			return err
		}
		n.taps[t.sock] = h
	}
	t.hub = h
	h.add(t)
	return nil
}

// installTapsLocked gives a new actor of n the taps attached to n.
// Caller holds n.mu.
func (n *node) installTapsLocked(a plugins.Actor) {
	for sock, h := range n.taps {
		switch tp := a.(type) {
		case plugins.Tapper:
			_ = tp.SetTap(sock, h.see)
		case plugins.StreamTapper:
			_ = tp.TapStream(sock, DefaultTapRing, h.seeEvent)
		}
	}
}

// closeTaps ends every tap when the run ends.
func (r *Runtime) closeTaps() {
	r.mu.Lock()
	nodes := r.nodes
	r.mu.Unlock()
	var all []*Tap
	for _, n := range nodes {
		n.mu.Lock()
		for _, h := range n.taps {
			if p := h.list.Load(); p != nil {
				all = append(all, *p...)
			}
		}
		n.mu.Unlock()
	}
	for _, t := range all {
		t.Close()
	}
}
