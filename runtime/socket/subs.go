package socket

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
)

// subSet is a set of reference-counted subscription prefixes: a peer's
// subscriptions on a publisher and an XPUB's across its peers; and the
// snapshot a SUB's connection readers filter with (while the SUB holds at
// most smallSubs prefixes a small subSet, then one holding only trie).
//
// Its storage holds no Go pointers, so the garbage collector need not scan
// it (issue 16: a Go map of prefix to count held 51 B per 8-byte prefix,
// and the collector marked it): the prefixes' bytes are appended to one
// arena, and slots (16 bytes each: the offset and length of a prefix in
// the arena and its count) index them, a plain list while the set is small
// and an open-addressed hash table (maphash with a seed of the set's own,
// linear probing) once it holds more than smallSubs. Matching costs one
// bytes.HasPrefix per prefix while the set is small, and once it grows one
// table lookup per distinct prefix length up to the topic's length (lens:
// few in practice, at most len(topic)). Every update is O(1) amortised, so
// a peer sending many subscriptions cannot make the publisher quadratic: a
// cancel leaves its bytes in the arena and a tombstone in the table until
// the dead bytes outnumber the live ones or the table is rebuilt, and the
// table shrinks when most of its prefixes are cancelled. Not safe for
// concurrent use: each owner says what guards it.
type subSet struct {
	n     int   // distinct prefixes
	bytes int64 // their total length
	arena []byte
	slots []subSlot // a list (n <= smallSubs) or a table (len a power of 2)
	table bool      // slots is a hash table
	tombs int       // table slots of cancelled prefixes
	dead  int       // arena bytes of cancelled prefixes
	seed  maphash.Seed
	lens  []lenCount // distinct prefix lengths, ascending, while table
	// trie, if set, is all a SUB's filter snapshot holds: its prefixes
	// past smallSubs (subscriber.snapshotLocked).
	trie *prefixTrie
}

// subSlot is one prefix of a subSet: arena[off:off+ln], subscribed count
// times. A table slot with count 0 is empty (off >= 0) or a tombstone
// (off < 0).
type subSlot struct {
	off   int
	ln    uint32
	count uint32
}

// lenCount is how many distinct prefixes of a subSet have length l.
type lenCount struct{ l, n int }

const (
	smallSubs = 16
	minTable  = 32
)

func newSubSet() *subSet { return &subSet{} }

// len returns the number of distinct prefixes.
func (ps *subSet) len() int { return ps.n }

func (ps *subSet) key(s subSlot) []byte { return ps.arena[s.off : s.off+int(s.ln)] }

// find returns the slot of prefix (live, or in a table the empty slot
// where it would go) and whether it is there.
func (ps *subSet) find(prefix []byte) (int, bool) {
	if !ps.table {
		for i, s := range ps.slots {
			if int(s.ln) == len(prefix) && bytes.Equal(ps.key(s), prefix) {
				return i, true
			}
		}
		return -1, false
	}
	mask := len(ps.slots) - 1
	i := int(maphash.Bytes(ps.seed, prefix)) & mask
	free := -1
	for {
		s := ps.slots[i]
		switch {
		case s.count > 0:
			if int(s.ln) == len(prefix) && bytes.Equal(ps.key(s), prefix) {
				return i, true
			}
		case s.off < 0:
			if free < 0 {
				free = i
			}
		default:
			if free < 0 {
				free = i
			}
			return free, false
		}
		i = (i + 1) & mask
	}
}

// has reports whether prefix is subscribed.
func (ps *subSet) has(prefix []byte) bool {
	_, ok := ps.find(prefix)
	return ok
}

// get returns prefix's count, 0 if it is not subscribed.
func (ps *subSet) get(prefix []byte) int {
	if i, ok := ps.find(prefix); ok {
		return int(ps.slots[i].count)
	}
	return 0
}

// each calls fn with every prefix and its count (prefix is only valid
// during the call).
func (ps *subSet) each(fn func(prefix []byte, count int)) {
	for _, s := range ps.slots {
		if s.count > 0 {
			fn(ps.key(s), int(s.count))
		}
	}
}

// add changes prefix's count by d and returns the count before and after;
// a count that would drop to 0 or below removes the prefix (after is 0),
// a cancel of an unknown prefix changes nothing, and a count saturates at
// math.MaxUint32.
func (ps *subSet) add(prefix []byte, d int) (before, after int) {
	i, ok := ps.find(prefix)
	if !ok {
		if d <= 0 || uint64(len(prefix)) > math.MaxUint32 {
			return 0, 0
		}
		ps.insert(i, prefix, count(0, d))
		return 0, count(0, d)
	}
	s := &ps.slots[i]
	before, after = int(s.count), count(s.count, d)
	if after > 0 {
		s.count = uint32(after)
		return before, after
	}
	ps.n--
	ps.bytes -= int64(s.ln)
	ps.dead += int(s.ln)
	if ps.table {
		*s = subSlot{off: -1}
		ps.tombs++
		ps.addLen(len(prefix), -1)
		if ps.n <= smallSubs || ps.n < len(ps.slots)/8 {
			ps.rebuild()
		}
	} else {
		last := len(ps.slots) - 1
		ps.slots[i] = ps.slots[last]
		ps.slots = ps.slots[:last]
	}
	if ps.dead > 4096 && ps.dead > int(ps.bytes) {
		ps.rebuild()
	}
	return before, 0
}

// insert adds prefix with count c at slot i from find.
func (ps *subSet) insert(i int, prefix []byte, c int) {
	s := subSlot{off: len(ps.arena), ln: uint32(len(prefix)), count: uint32(c)}
	ps.arena = append(ps.arena, prefix...)
	ps.n++
	ps.bytes += int64(len(prefix))
	if !ps.table {
		ps.slots = append(ps.slots, s)
		if ps.n > smallSubs {
			ps.rebuild()
		}
		return
	}
	if ps.slots[i].off < 0 {
		ps.tombs--
	}
	ps.slots[i] = s
	ps.addLen(len(prefix), 1)
	if (ps.n+ps.tombs)*4 > len(ps.slots)*3 {
		ps.rebuild()
	}
}

// rebuild copies the live prefixes into a fresh arena and slots: a list
// while there are at most smallSubs, else a table at most half full.
func (ps *subSet) rebuild() {
	old, oldArena := ps.slots, ps.arena
	ps.arena = make([]byte, 0, ps.bytes+ps.bytes/4)
	ps.dead, ps.tombs, ps.lens = 0, 0, nil
	ps.table = ps.n > smallSubs
	if !ps.table {
		ps.slots = make([]subSlot, 0, smallSubs+1)
	} else {
		size := minTable
		for size < 2*ps.n {
			size *= 2
		}
		ps.slots = make([]subSlot, size)
		if ps.seed == (maphash.Seed{}) {
			ps.seed = maphash.MakeSeed()
		}
	}
	for _, s := range old {
		if s.count == 0 {
			continue
		}
		p := oldArena[s.off : s.off+int(s.ln)]
		ns := subSlot{off: len(ps.arena), ln: s.ln, count: s.count}
		ps.arena = append(ps.arena, p...)
		if !ps.table {
			ps.slots = append(ps.slots, ns)
			continue
		}
		i, _ := ps.find(p)
		ps.slots[i] = ns
		ps.addLen(len(p), 1)
	}
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
	if !ps.table {
		for _, s := range ps.slots {
			if bytes.HasPrefix(topic, ps.key(s)) {
				return true
			}
		}
		return false
	}
	for _, e := range ps.lens {
		if e.l > len(topic) {
			return false
		}
		if _, ok := ps.find(topic[:e.l]); ok {
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
	if on && !p.subs.has(prefix) && (p.subs.len() >= s.opt.MaxSubs || p.subs.bytes+int64(len(prefix)) > s.opt.MaxSubBytes) {
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
