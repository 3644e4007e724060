package socket

import "fmt"

// ---- the socket's subscriptions and its peers' ----

// isSubMsg reports whether m is a ZMTP 3.0 subscription message (\x01prefix
// subscribes, \x00prefix cancels).
func isSubMsg(m Msg) bool {
	return len(m) == 1 && len(m[0]) >= 1 && (m[0][0] == 0 || m[0][0] == 1)
}

// Subscribe adds a subscription prefix (SUB, XSUB). An empty prefix matches
// every message. Subscriptions are sent to every connected publisher and
// re-sent after a reconnect.
func (s *Socket) Subscribe(prefix []byte) error { return s.pat.subscribe(prefix, true) }

// Unsubscribe removes one reference to a subscription prefix (SUB, XSUB).
func (s *Socket) Unsubscribe(prefix []byte) error { return s.pat.subscribe(prefix, false) }

func subMsg(prefix []byte, on bool) Msg {
	b := make([]byte, 1+len(prefix))
	if on {
		b[0] = 1
	}
	copy(b[1:], prefix)
	return Msg{b}
}

// applyPeerSub records a subscription change from p on a PUB/XPUB socket and
// reports whether XPUB x (nil for a PUB) passes it to Recv. over reports a
// subscription past the peer's budget (MaxSubs, MaxSubBytes): it is not
// recorded, and the caller disconnects the peer.
func (s *Socket) applyPeerSub(p *pipe, on bool, prefix []byte, x *xpub) (fwd, over bool) {
	d := -1
	if on {
		d = 1
	}
	p.subMu.Lock()
	if on && !p.subs.has(prefix) && (p.subs.len() >= s.opt.MaxSubs || p.subs.bytes+int64(len(prefix)) > s.opt.MaxSubBytes) {
		p.subMu.Unlock()
		return false, true
	}
	before, after := p.subs.add(prefix, d)
	if (before == 0) != (after == 0) { // a prefix added or removed
		p.subsChangedLocked()
	}
	p.subMu.Unlock()
	if !on && before == 0 { // a cancel of a prefix the peer never subscribed
		return false, false
	}
	s.mu.Lock()
	if on && !p.subscribed.Load() {
		p.subscribed.Store(true)
		s.st.subscribes.Add(1)
		s.changedLocked()
	}
	if x != nil {
		fwd = x.forwardLocked(prefix, d)
	}
	s.mu.Unlock()
	if on && s.opt.OnEvent != nil {
		s.emit(p.peerEvent(EventSubscribed, nil))
	}
	return fwd, false
}

// subLimitErr is why a peer over its subscription budget is disconnected;
// counted once per peer.
func (s *Socket) subLimitErr(p *pipe) error {
	s.st.subLimited.Add(1)
	n, b := s.opt.MaxSubs, s.opt.MaxSubBytes
	err := fmt.Errorf("socket %s: %s: peer %s: %w (%d prefixes, %d bytes)", s.typ, p.endpoint, p.peerAddr(), ErrSubLimit, n, b)
	s.log.Warn("peer subscribed past its budget; disconnecting it", "endpoint", p.endpoint, "peer", p.peerAddr(), "max_subs", n, "max_sub_bytes", b)
	return err
}
