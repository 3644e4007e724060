package socket

import (
	"bytes"
	"fmt"
	"slices"
)

// subSet is a set of reference-counted subscription prefixes: a peer's
// subscriptions on a publisher, an XPUB's across its peers, a SUB's or
// XSUB's own (and, while small, the snapshot a SUB filters with; a larger
// snapshot is a prefixTrie, updated per change). It is one map from prefix
// to count, which is all a large set holds per prefix (issue 16: it held
// three maps' and a list's entries); while the set is small, a list of its
// prefixes too. Matching costs one bytes.HasPrefix per prefix while the set
// is small, and once it grows one map lookup per distinct prefix length up
// to the topic's length (lens: few in practice, at most len(topic)), and
// every update is O(1) (amortised), so a peer sending many subscriptions
// cannot make the publisher quadratic. Not safe for concurrent use: each
// owner says what guards it.
type subSet struct {
	bytes  int64 // total length of the distinct prefixes
	peak   int   // most distinct prefixes held since counts was made
	counts map[string]int
	list   [][]byte   // the distinct prefixes while there are at most smallSubs
	lens   []lenCount // distinct prefix lengths, ascending, once past smallSubs
	// trie, if set, is all a SUB's filter snapshot holds: its prefixes
	// past smallSubs (subscriber.snapshotLocked).
	trie *prefixTrie
}

// lenCount is how many distinct prefixes of a subSet have length l.
type lenCount struct{ l, n int }

const smallSubs = 16

func newSubSet() *subSet { return &subSet{counts: map[string]int{}} }

// has reports whether prefix is subscribed.
func (ps *subSet) has(prefix []byte) bool { return ps.counts[string(prefix)] > 0 }

// cloneCounts copies m into a map sized for what it holds now (a Go map
// keeps its buckets after deletes).
func cloneCounts(m map[string]int) map[string]int {
	n := make(map[string]int, len(m))
	for k, v := range m {
		n[k] = v
	}
	return n
}

// add changes prefix's count by d and returns the count before and after;
// a count that would drop to 0 or below removes the prefix (after is 0),
// and a cancel of an unknown prefix changes nothing.
func (ps *subSet) add(prefix []byte, d int) (before, after int) {
	old := ps.counts[string(prefix)]
	if d < 0 && old == 0 {
		return 0, 0
	}
	n := old + d
	if n > 0 {
		if old > 0 {
			ps.counts[string(prefix)] = n
			return old, n
		}
		k := string(prefix)
		ps.counts[k] = n
		ps.bytes += int64(len(k))
		ps.peak = max(ps.peak, len(ps.counts))
		switch {
		case len(ps.counts) <= smallSubs:
			ps.list = append(ps.list, []byte(k))
		case ps.lens == nil:
			// Past small: lengths instead of the list.
			ps.list = nil
			for k := range ps.counts {
				ps.addLen(len(k), 1)
			}
		default:
			ps.addLen(len(k), 1)
		}
		return old, n
	}
	k := string(prefix)
	delete(ps.counts, k)
	ps.bytes -= int64(len(k))
	switch {
	case ps.lens == nil:
		for i, l := range ps.list {
			if string(l) == k {
				last := len(ps.list) - 1
				ps.list[i] = ps.list[last]
				ps.list[last] = nil
				ps.list = ps.list[:last]
				break
			}
		}
	case len(ps.counts) <= smallSubs:
		// Back to small: the list instead of the lengths.
		ps.lens = nil
		ps.list = make([][]byte, 0, smallSubs)
		for k := range ps.counts {
			ps.list = append(ps.list, []byte(k))
		}
	default:
		ps.addLen(len(k), -1)
	}
	if ps.peak >= 1024 && len(ps.counts) < ps.peak/4 {
		// Most prefixes were cancelled: give their memory back.
		ps.counts = cloneCounts(ps.counts)
		ps.peak = len(ps.counts)
	}
	return old, 0
}

// addLen counts one distinct prefix of length l more (d 1) or less (-1).
func (ps *subSet) addLen(l, d int) {
	i, ok := slices.BinarySearchFunc(ps.lens, l, func(e lenCount, l int) int { return e.l - l })
	switch {
	case ok:
		if ps.lens[i].n += d; ps.lens[i].n == 0 {
			ps.lens = slices.Delete(ps.lens, i, i+1)
		}
	case d > 0:
		ps.lens = slices.Insert(ps.lens, i, lenCount{l, d})
	}
}

func (ps *subSet) match(topic []byte) bool {
	if ps.trie != nil {
		return ps.trie.match(topic)
	}
	if ps.lens == nil {
		for _, p := range ps.list {
			if bytes.HasPrefix(topic, p) {
				return true
			}
		}
		return false
	}
	for _, e := range ps.lens {
		if e.l > len(topic) {
			return false
		}
		if ps.counts[string(topic[:e.l])] > 0 {
			return true
		}
	}
	return false
}

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
	if on && !p.subs.has(prefix) && (len(p.subs.counts) >= s.opt.MaxSubs || p.subs.bytes+int64(len(prefix)) > s.opt.MaxSubBytes) {
		p.subMu.Unlock()
		return false, true
	}
	before, _ := p.subs.add(prefix, d)
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
