package socket

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	epsyntax "github.com/topo-zmq/topo/internal/endpoint"
	"github.com/topo-zmq/topo/runtime/socket/internal/curve"
)

// endpoint is a parsed "transport://address".
type endpoint struct {
	transport string // tcp, ipc, inproc
	addr      string // host:port, path, or name
}

// parseEndpoint checks ep with topo's one endpoint syntax
// (internal/endpoint) and gives the address to listen on or dial.
func parseEndpoint(ep string, bind bool) (endpoint, error) {
	e, err := epsyntax.Parse(ep, bind)
	if err != nil {
		return endpoint{}, fmt.Errorf("%w: %v", ErrBadEndpoint, err)
	}
	return endpoint{transport: e.Transport, addr: e.NetAddr()}, nil
}

func (e endpoint) network() string {
	if e.transport == "ipc" {
		return "unix"
	}
	return "tcp"
}

// listener is one bound tcp/ipc endpoint.
type listener struct {
	ln       net.Listener
	endpoint string // as actually bound
	asked    string // as passed to Bind
	seq      int    // bind order
}

// Bind binds the socket to endpoint: tcp://host:port (port 0 picks a free
// port, host * binds every interface), ipc://path or inproc://name. A socket
// may bind several endpoints. The listener accepts in its own goroutine and
// runs every handshake in another, bounded by HandshakeTimeout. An address in
// use gives an error wrapping ErrAddrInUse.
func (s *Socket) Bind(ep string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	e, err := parseEndpoint(ep, true)
	if err != nil {
		return fmt.Errorf("socket %s: bind: %w", s.typ, err)
	}
	if e.transport == "inproc" {
		return s.ctx.bindInproc(s, e.addr, ep)
	}
	ln, err := net.Listen(e.network(), e.addr)
	if err != nil && e.transport == "ipc" && errors.Is(err, syscall.EADDRINUSE) && !strings.HasPrefix(e.addr, "@") {
		// A stale socket file from a process that died: libzmq unlinks it.
		if c, derr := net.DialTimeout("unix", e.addr, time.Second); derr != nil {
			_ = os.Remove(e.addr)
			ln, err = net.Listen(e.network(), e.addr)
		} else {
			_ = c.Close()
		}
	}
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("socket %s: bind %s: %w: %v", s.typ, ep, ErrAddrInUse, err)
		}
		return fmt.Errorf("socket %s: bind %s: %w", s.typ, ep, err)
	}
	actual := ep
	if e.transport == "tcp" {
		actual = "tcp://" + ln.Addr().String()
	}
	l := &listener{ln: ln, endpoint: actual, asked: ep}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrClosed
	}
	s.bindSeq++
	l.seq = s.bindSeq
	s.lst[actual] = l
	s.wg.Add(1)
	s.mu.Unlock()
	go s.accept(l)
	s.emit(Event{Kind: EventListening, Endpoint: actual})
	return nil
}

func (s *Socket) accept(l *listener) {
	defer s.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("accept failed", "endpoint", l.endpoint, "err", err)
			select {
			case <-time.After(backoff):
			case <-s.closing:
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		s.mu.Lock()
		if s.closed.Load() {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		s.shaking[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveAccepted(l, nc)
	}
}

func (s *Socket) serveAccepted(l *listener, nc net.Conn) {
	defer s.wg.Done()
	id, meta, sess, err := s.handshakeApart(nc, true, "")
	s.mu.Lock()
	delete(s.shaking, nc)
	s.mu.Unlock()
	if err != nil {
		s.handshakeFailed(l.endpoint, nc, err)
		return
	}
	p := newPipe(s, l.endpoint)
	p.out = s.newOutQueue(p)
	p.out.kick = p.kickWriter
	s.serve(s.bg, nc, p, id, meta, sess, false)
}

// handshakeApart runs handshake on a goroutine of its own and waits for
// it, so that the stack the handshake grows (zmq4's runs deep) is freed
// when it ends instead of staying, for the connection's lifetime, with the
// goroutine that goes on to read the connection (issue 16: 8 KiB per idle
// connection).
func (s *Socket) handshakeApart(nc net.Conn, server bool, ep string) (id []byte, meta peerMeta, sess *curve.Session, err error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		id, meta, sess, err = s.handshake(nc, server, ep)
	}()
	<-done
	return id, meta, sess, err
}

func (s *Socket) handshakeFailed(ep string, nc net.Conn, err error) {
	addr := ""
	if ra := nc.RemoteAddr(); ra != nil {
		addr = ra.String()
	}
	_ = nc.Close()
	if s.closed.Load() {
		return
	}
	var refused *curve.RefusedError
	var byPeer *curve.PeerError
	switch {
	case errors.As(err, &refused):
		// A client we refused: its address and public key, never a secret.
		err = fmt.Errorf("socket %s: %s: CURVE client %s with key %s refused: %w", s.typ, ep, addr, curve.KeyString(refused.Key), refused)
		s.log.Warn("CURVE client refused", "socket", string(s.typ), "endpoint", ep, "peer", addr, "client_key", curve.KeyString(refused.Key), "err", refused.Err)
	case errors.As(err, &byPeer):
		err = fmt.Errorf("socket %s: %s: the CURVE server %s refused this socket's key %s: reason %q: %w", s.typ, ep, addr, curve.KeyString(s.curve.key.Public), byPeer.Reason, byPeer)
		s.log.Warn("refused by the CURVE server", "socket", string(s.typ), "endpoint", ep, "peer", addr, "key", curve.KeyString(s.curve.key.Public), "reason", byPeer.Reason)
	default:
		s.log.Debug("handshake failed", "socket", string(s.typ), "endpoint", ep, "peer", addr, "err", err)
	}
	s.emit(Event{Kind: EventHandshakeFailed, Endpoint: ep, Peer: addr, Err: err})
	// Counted after the event, so that whoever sees the count (Stats)
	// can rely on the event having been delivered.
	s.st.hsFailed.Add(1)
}

// refusedHandshake reports a handshake the peer refused (CURVE's or
// PLAIN's ERROR): the connector backs off as after a failed dial.
func refusedHandshake(err error) bool {
	return errors.Is(err, curve.ErrRefused) || errors.Is(err, errAuth)
}

// connector keeps one connected endpoint alive.
type connector struct {
	endpoint string
	e        endpoint
	p        *pipe
	ctx      context.Context
	cancel   context.CancelFunc
}

// Connect connects the socket to endpoint asynchronously: it returns at once
// and a goroutine dials, handshakes and reconnects with exponential backoff
// (ReconnectIvl doubling up to ReconnectIvlMax) until Disconnect or Close.
// The peer need not be bound yet. As in libzmq, a connected endpoint gets
// its queue at once: messages sent to it wait there until it connects.
func (s *Socket) Connect(ep string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	e, err := parseEndpoint(ep, false)
	if err != nil {
		return fmt.Errorf("socket %s: connect: %w", s.typ, err)
	}
	if e.transport == "inproc" {
		return s.ctx.connectInproc(s, e.addr, ep)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if s.cons[ep] != nil {
		return fmt.Errorf("socket %s: connect %s: already connected", s.typ, ep)
	}
	cn := &connector{endpoint: ep, e: e, p: newPipe(s, ep)}
	cn.p.out = s.newOutQueue(cn.p)
	cn.p.out.kick = cn.p.kickWriter
	cn.ctx, cn.cancel = context.WithCancel(s.bg)
	s.cons[ep] = cn
	if !s.tr.lazyPipe {
		// libzmq creates the pipe of a connect at once (ZMQ_IMMEDIATE off).
		cn.p.listed = true
		s.addPipeLocked(cn.p)
		signal(s.sendWake)
	}
	s.wg.Add(1)
	go s.runConnector(cn)
	return nil
}

func (s *Socket) runConnector(cn *connector) {
	defer s.wg.Done()
	ivl := s.opt.ReconnectIvl
	var d net.Dialer
	for {
		if cn.ctx.Err() != nil {
			return
		}
		dctx, cancel := context.WithTimeout(cn.ctx, s.opt.HandshakeTimeout)
		nc, err := d.DialContext(dctx, cn.e.network(), cn.e.addr)
		cancel()
		if err == nil {
			s.mu.Lock()
			if s.closed.Load() || cn.ctx.Err() != nil {
				s.mu.Unlock()
				_ = nc.Close()
				return
			}
			s.shaking[nc] = struct{}{}
			s.mu.Unlock()
			id, meta, sess, herr := s.handshakeApart(nc, false, cn.endpoint)
			s.mu.Lock()
			delete(s.shaking, nc)
			s.mu.Unlock()
			if herr != nil {
				s.handshakeFailed(cn.endpoint, nc, herr)
				if refusedHandshake(herr) {
					err = herr // back off: the server will refuse again
				}
			} else {
				ivl = s.opt.ReconnectIvl
				s.serve(cn.ctx, nc, cn.p, id, meta, sess, true)
			}
		}
		t := time.NewTimer(ivl)
		select {
		case <-t.C:
		case <-cn.ctx.Done():
			t.Stop()
			return
		}
		if err != nil {
			ivl = min(2*ivl, s.opt.ReconnectIvlMax)
		}
	}
}

// Endpoints returns the endpoints the socket is bound to, as actually bound
// (an ephemeral tcp port filled in).
func (s *Socket) Endpoints() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := make([]*listener, 0, len(s.lst))
	for _, l := range s.lst {
		ls = append(ls, l)
	}
	slices.SortFunc(ls, func(a, b *listener) int { return a.seq - b.seq })
	out := make([]string, 0, len(s.lst)+len(s.ibound))
	for _, l := range ls {
		out = append(out, l.endpoint)
	}
	for _, n := range s.ibound {
		out = append(out, "inproc://"+n)
	}
	return out
}

// undoInproc is where Unbind and Disconnect start: done reports that ep
// needs no more (the socket is closed, or ep is inproc and undo did it).
func (s *Socket) undoInproc(ep string, undo func(*Context, *Socket, string) error) (done bool, err error) {
	if s.closed.Load() {
		return true, ErrClosed
	}
	if name, ok := strings.CutPrefix(ep, "inproc://"); ok {
		return true, undo(s.ctx, s, name)
	}
	return false, nil
}

// Unbind stops listening on endpoint (as passed to Bind or as returned by
// Endpoints) and closes the connections accepted through it.
func (s *Socket) Unbind(ep string) error {
	if done, err := s.undoInproc(ep, (*Context).unbindInproc); done {
		return err
	}
	s.mu.Lock()
	l := s.lst[ep]
	if l == nil {
		for _, x := range s.lst {
			if x.asked == ep {
				l = x
				break
			}
		}
	}
	if l == nil {
		s.mu.Unlock()
		return fmt.Errorf("socket %s: unbind %s: %w", s.typ, ep, ErrNoSuchAddress)
	}
	delete(s.lst, l.endpoint)
	var kill []*conn
	for c := range s.live {
		if c.p.endpoint == l.endpoint {
			kill = append(kill, c)
		}
	}
	s.mu.Unlock()
	_ = l.ln.Close()
	for _, c := range kill {
		c.kill(ErrClosed)
	}
	return nil
}

// Disconnect stops connecting to endpoint, closes its connection and drops
// its queued messages.
func (s *Socket) Disconnect(ep string) error {
	if done, err := s.undoInproc(ep, (*Context).disconnectInproc); done {
		return err
	}
	s.mu.Lock()
	cn := s.cons[ep]
	if cn == nil {
		s.mu.Unlock()
		return fmt.Errorf("socket %s: disconnect %s: %w", s.typ, ep, ErrNoSuchAddress)
	}
	delete(s.cons, ep)
	cn.cancel()
	var kill []*conn
	for c := range s.live {
		if c.p == cn.p {
			kill = append(kill, c)
		}
	}
	if cn.p.listed {
		cn.p.listed = false
		s.removePipeLocked(cn.p)
	}
	s.mu.Unlock()
	for _, c := range kill {
		c.kill(ErrClosed)
	}
	return nil
}
