package socket

import (
	"bytes"
	"fmt"
	"slices"
)

// subSet is a set of reference-counted subscription prefixes: a peer's
// subscriptions on a publisher, an XPUB's across its peers, a SUB's or
// XSUB's own (and, while small, the snapshot a SUB filters with; a larger
// snapshot is a prefixTrie, updated per change). Matching costs one
// bytes.HasPrefix per prefix while the set is small and one map lookup per
// distinct prefix length once it grows, and every update is O(1)
// (amortised), so a peer sending many subscriptions cannot make the
// publisher quadratic. Not safe for concurrent use: each owner says what
// guards it.
type subSet struct {
	bytes  int64 // total length of the distinct prefixes
	peak   int   // most distinct prefixes held since the maps were made
	counts map[string]int
	list   [][]byte       // distinct prefixes, for small sets
	pos    map[string]int // index in list
	lens   map[int]int    // prefixes per length
	lensL  []int          // distinct lengths, ascending
	// trie, if set, is all a SUB's filter snapshot holds: its prefixes
	// past smallSubs (subscriber.snapshotLocked).
	trie *prefixTrie
}

const smallSubs = 16

func newSubSet() *subSet {
	return &subSet{counts: map[string]int{}, pos: map[string]int{}, lens: map[int]int{}}
}

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
	k := string(prefix)
	old := ps.counts[k]
	if d < 0 && old == 0 {
		return 0, 0
	}
	n := old + d
	if n > 0 {
		ps.counts[k] = n
		if old == 0 {
			ps.bytes += int64(len(k))
			ps.pos[k] = len(ps.list)
			ps.list = append(ps.list, []byte(k))
			ps.peak = max(ps.peak, len(ps.list))
			if ps.lens[len(k)]++; ps.lens[len(k)] == 1 {
				i, _ := slices.BinarySearch(ps.lensL, len(k))
				ps.lensL = slices.Insert(ps.lensL, i, len(k))
			}
		}
		return old, n
	}
	delete(ps.counts, k)
	ps.bytes -= int64(len(k))
	i := ps.pos[k]
	last := len(ps.list) - 1
	ps.list[i] = ps.list[last]
	ps.pos[string(ps.list[i])] = i
	ps.list[last] = nil
	ps.list = ps.list[:last]
	delete(ps.pos, k)
	if ps.lens[len(k)]--; ps.lens[len(k)] == 0 {
		delete(ps.lens, len(k))
		if i, ok := slices.BinarySearch(ps.lensL, len(k)); ok {
			ps.lensL = slices.Delete(ps.lensL, i, i+1)
		}
	}
	if ps.peak >= 1024 && len(ps.list) < ps.peak/4 {
		// Most prefixes were cancelled: give their memory back.
		ps.counts, ps.pos = cloneCounts(ps.counts), cloneCounts(ps.pos)
		ps.list = slices.Clone(ps.list)
		ps.peak = len(ps.list)
	}
	return old, 0
}

func (ps *subSet) match(topic []byte) bool {
	if ps.trie != nil {
		return ps.trie.match(topic)
	}
	if len(ps.list) <= smallSubs {
		for _, p := range ps.list {
			if bytes.HasPrefix(topic, p) {
				return true
			}
		}
		return false
	}
	for _, l := range ps.lensL {
		if l > len(topic) {
			return false
		}
		if ps.counts[string(topic[:l])] > 0 {
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
