package socket

// ---- pipes: attaching and detaching peers ----

// addPipe appends p to the outbound list. Caller holds s.mu.
func (s *Socket) addPipeLocked(p *pipe) {
	old := *s.pipes.Load()
	n := make([]*pipe, len(old), len(old)+1)
	copy(n, old)
	n = append(n, p)
	s.pipes.Store(&n)
}

// removePipe drops p from the outbound list. Caller holds s.mu.
func (s *Socket) removePipeLocked(p *pipe) {
	old := *s.pipes.Load()
	n := make([]*pipe, 0, len(old))
	for _, q := range old {
		if q != p {
			n = append(n, q)
		}
	}
	s.pipes.Store(&n)
}

// lockOpen locks s.mu unless the socket is closed (ErrClosed, unlocked).
func (s *Socket) lockOpen() error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// attach makes p live with a peer whose identity is peerID. It rejects the
// peer (returning an error) for a PAIR that already has one or a ROUTER
// routing id already in use.
func (s *Socket) attach(p *pipe, peerID []byte, addr string, meta peerMeta) error {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if err := s.lockOpen(); err != nil {
		return err
	}
	subs, err := s.pat.attachLocked(p, peerID)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	// A peer's subscriptions are forgotten when it detaches, not here: an
	// inproc peer that attached first may already have delivered its
	// subscriptions into this pipe.
	if !p.listed {
		p.listed = true
		s.addPipeLocked(p)
	}
	p.connected.Store(true)
	p.addr = addr
	p.meta = meta
	if _, ok := s.seen[meta]; !ok && meta.name != "" && len(s.seen) < maxSeen {
		if s.seen == nil {
			s.seen = map[peerMeta]struct{}{}
		}
		s.seen[meta] = struct{}{}
	}
	s.peers++
	s.st.connects.Add(1)
	s.changedLocked()
	s.mu.Unlock()
	for _, m := range subs {
		p.sendForce(m)
	}
	signal(s.sendWake)
	if s.opt.OnEvent != nil {
		s.emit(p.peerEvent(EventConnected, nil))
	}
	return nil
}

// detach marks p disconnected; keep keeps it listed (a connecting pipe whose
// queue survives reconnects), otherwise p is removed for good.
func (s *Socket) detach(p *pipe, keep bool, cause error) {
	s.mu.Lock()
	wasConnected := p.connected.Swap(false)
	cancels := s.pat.detachLocked(p)
	p.resetSubs()
	p.subscribed.Store(false)
	if !keep && p.listed {
		p.listed = false
		s.removePipeLocked(p)
		s.forgetPipeLocked(p)
	}
	if wasConnected {
		s.peers--
		s.st.disconnects.Add(1)
	}
	s.changedLocked()
	s.mu.Unlock()
	for _, m := range cancels {
		s.enqueueIn(p, m, true, nil)
	}
	if wasConnected && s.opt.OnEvent != nil {
		s.emit(p.peerEvent(EventDisconnected, cause))
	}
}

// announce tells Recv that p's inbound queue became readable. A Recv
// reading another pipe's connection directly is made to give way.
func (s *Socket) announce(p *pipe) {
	s.readyN.Add(1)
	s.ready.push(item{p: p}, true, nil)
	if d := s.direct.Load(); d != nil && d.p != p {
		d.kick()
	}
}
