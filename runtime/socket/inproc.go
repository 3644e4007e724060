package socket

import "fmt"

// inprocLink is one socket's Connect to an inproc name. It stays registered
// until Disconnect or Close, so the socket is paired with whichever socket
// binds the name, before or after the connect, and again after a rebind.
type inprocLink struct {
	s    *Socket
	name string
	ep   string
	cur  *pipe // the connector's end while paired
}

func (c *Context) bindInproc(s *Socket, name, ep string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.binds == nil {
		c.binds = map[string]*Socket{}
	}
	if b := c.binds[name]; b != nil {
		return fmt.Errorf("socket %s: bind %s: %w", s.typ, ep, ErrAddrInUse)
	}
	if err := s.lockOpen(); err != nil {
		return err
	}
	s.ibound = append(s.ibound, name)
	s.mu.Unlock()
	c.binds[name] = s
	for l := range c.links[name] {
		c.pairLocked(l, s)
	}
	s.emit(Event{Kind: EventListening, Endpoint: ep})
	return nil
}

func (c *Context) connectInproc(s *Socket, name, ep string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := s.lockOpen(); err != nil {
		return err
	}
	for _, l := range s.ilinks {
		if l.name == name {
			s.mu.Unlock()
			return fmt.Errorf("socket %s: connect %s: already connected", s.typ, ep)
		}
	}
	l := &inprocLink{s: s, name: name, ep: ep}
	s.ilinks = append(s.ilinks, l)
	s.mu.Unlock()
	if c.links == nil {
		c.links = map[string]map[*inprocLink]bool{}
	}
	if c.links[name] == nil {
		c.links[name] = map[*inprocLink]bool{}
	}
	c.links[name][l] = true
	if b := c.binds[name]; b != nil {
		c.pairLocked(l, b)
	}
	return nil
}

// pairLocked creates the pipe pair between connector l.s and binder b.
// Caller holds c.mu.
func (c *Context) pairLocked(l *inprocLink, b *Socket) {
	if l.cur != nil && !l.cur.dead.Load() {
		return
	}
	a := l.s
	if !Compatible(a.typ, b.typ) {
		err := fmt.Errorf("%w: %s cannot talk to %s", errProtocol, a.typ, b.typ)
		a.emit(Event{Kind: EventHandshakeFailed, Endpoint: l.ep, Err: err})
		b.emit(Event{Kind: EventHandshakeFailed, Endpoint: l.ep, Err: err})
		a.st.hsFailed.Add(1)
		b.st.hsFailed.Add(1)
		return
	}
	pa, pb := newPipe(a, l.ep), newPipe(b, l.ep)
	pa.peer, pb.peer = pb, pa
	a.inprocSeen.Store(true)
	b.inprocSeen.Store(true)
	// Every message into an inproc pipe comes from the peer's Send, except
	// subscriptions into PUB and XPUB, which come from the peer's Subscribe
	// and attach as well: those keep the multi-producer queue.
	for _, p := range []*pipe{pa, pb} {
		if !p.s.tr.publisher {
			p.fast = newSPSC(p.s.opt.RecvHWM)
			// A sender whose Send blocks holds at most outByteBound of
			// large messages unread, as over tcp it holds them unwritten:
			// a sender of 1 MiB messages ran up to 60 ahead of its
			// receiver, refilling buffers the cache had lost (issue 16;
			// 4 and 16 MiB bounds measured no better).
			if p.peer.s.tr.byteBound && p.fast.cap > 0 {
				p.fast.byteCap, p.fast.cbyteCap = outByteBound, outByteBound
			}
		}
	}
	if err := b.attach(pb, a.opt.Identity, "inproc", peerMeta{a.opt.Run, a.opt.Name}); err != nil {
		pa.dead.Store(true)
		pb.dead.Store(true)
		b.emit(Event{Kind: EventHandshakeFailed, Endpoint: l.ep, Err: err})
		b.st.hsFailed.Add(1)
		return
	}
	if err := a.attach(pa, b.opt.Identity, "inproc", peerMeta{b.opt.Run, b.opt.Name}); err != nil {
		pa.dead.Store(true)
		pb.dead.Store(true)
		b.detach(pb, false, err)
		a.emit(Event{Kind: EventHandshakeFailed, Endpoint: l.ep, Err: err})
		a.st.hsFailed.Add(1)
		return
	}
	l.cur = pa
}

// dropInproc unregisters a closing socket's inproc binds and links.
func (c *Context) dropInproc(s *Socket, links []*inprocLink, bound []string) {
	c.mu.Lock()
	for _, l := range links {
		delete(c.links[l.name], l)
		if len(c.links[l.name]) == 0 {
			delete(c.links, l.name)
		}
	}
	for _, n := range bound {
		if c.binds[n] == s {
			delete(c.binds, n)
		}
	}
	c.mu.Unlock()
}

func (c *Context) unbindInproc(s *Socket, name string) error {
	c.mu.Lock()
	if c.binds[name] != s {
		c.mu.Unlock()
		return fmt.Errorf("socket %s: unbind inproc://%s: %w", s.typ, name, ErrNoSuchAddress)
	}
	delete(c.binds, name)
	c.mu.Unlock()
	s.mu.Lock()
	for i, n := range s.ibound {
		if n == name {
			s.ibound = append(s.ibound[:i:i], s.ibound[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	for _, p := range *s.pipes.Load() {
		if p.peer != nil && p.endpoint == "inproc://"+name {
			p.kill()
		}
	}
	return nil
}

func (c *Context) disconnectInproc(s *Socket, name string) error {
	c.mu.Lock()
	s.mu.Lock()
	var l *inprocLink
	for i, x := range s.ilinks {
		if x.name == name {
			l = x
			s.ilinks = append(s.ilinks[:i:i], s.ilinks[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	if l == nil {
		c.mu.Unlock()
		return fmt.Errorf("socket %s: disconnect inproc://%s: %w", s.typ, name, ErrNoSuchAddress)
	}
	delete(c.links[name], l)
	cur := l.cur
	c.mu.Unlock()
	if cur != nil {
		cur.kill()
	}
	return nil
}
