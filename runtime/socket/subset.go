package socket

import (
	"bytes"
	"hash/maphash"
	"math"
	"slices"
)

// subSet is a set of reference-counted subscription prefixes: a peer's
// subscriptions on a publisher and an XPUB's across its peers; and what a
// SUB's connection readers filter with (its few prefixes, or its trie).
//
// Up to smallSubs prefixes the set is a list of copies, matched with one
// bytes.HasPrefix each. Past that its storage holds (almost) no Go
// pointers, so the garbage collector need not scan it, and grows in pieces
// of fixed size, so growing leaves no large blocks behind for the process
// to keep (issue 16: a Go map of prefix to count held 51 B per 8-byte
// prefix, and one table doubling as a whole left its old copies in the
// publisher's RSS): the prefixes' bytes are appended to pages of at most
// arenaPage bytes, and slots (12 bytes each: where a prefix is in the
// pages, its length, count and 16 bits of its hash) index them in an
// extendible hash table, a directory of small open-addressed tables (at
// most maxTableSlots slots, at most three quarters used) indexed by the
// hash's top bits, where a full table splits in two. The hash is maphash
// with a seed of the set's own. Matching then costs one table lookup per
// distinct prefix length up to the topic's length (lens: few in practice,
// at most len(topic)). Every update is O(1) amortised, so a peer sending
// many subscriptions cannot make the publisher quadratic: a cancel leaves
// its bytes in the pages and a tombstone in its table, and the whole set
// is rebuilt once the dead bytes outnumber the live ones, the tables are
// mostly empty or the set is small again. Not safe for concurrent use:
// each owner says what guards it.
type subSet struct {
	n     int   // distinct prefixes
	bytes int64 // their total length
	pages [][]byte
	cur   int // the page short prefixes are appended to; -1: none
	dead  int // page bytes of cancelled prefixes
	// While the set is small (dir == nil): its prefixes (copies: a few
	// pointers) and their counts.
	small  [][]byte
	counts []uint32
	dir    []*subTable
	depth  uint8 // the directory has 1<<depth entries
	slots  int   // slots in all tables
	seed   maphash.Seed
	lens   []lenCount // distinct prefix lengths, ascending, while large
	// first counts the large set's prefixes by first byte: a topic whose
	// first byte no prefix starts with is matched by the empty prefix
	// alone, with no lookup.
	first *[256]uint32
	// trie, if set, is all a SUB's filter holds once it holds more than
	// smallSubs prefixes (before, its filter is a small set of copies;
	// subscriber.snapshotLocked).
	trie *prefixTrie
}

// subTable is one table of a large subSet: the prefixes whose hash starts
// with the same depth bits.
type subTable struct {
	depth    uint8
	n, tombs int
	slots    []subSlot // len a power of 2
}

// subSlot is one prefix of a subSet: ln bytes at offset off&0xffff of page
// off>>16 (ln lnOwn: all of that page), subscribed count times; in a
// table, fp is 16 bits of its hash (most probes compare it alone, not the
// prefix's bytes). A table slot with count 0 is empty, or a tombstone if
// ln is tomb.
type subSlot struct {
	off, count uint32
	ln, fp     uint16
}

// lenCount is how many distinct prefixes of a subSet have length l.
type lenCount struct{ l, n int }

const (
	smallSubs     = 16
	minTable      = 32
	maxTableSlots = 512 // 6 KiB
	maxDepth      = 32  // a table's position bits, fp and directory bits stay apart
	arenaPage     = 1 << 16
	ownPage       = 1 << 12 // a prefix this long or longer gets a page of its own
	maxPages      = 1 << 16
	lnOwn         = math.MaxUint16
	tomb          = math.MaxUint16 - 1
)

func newSubSet() *subSet { return &subSet{cur: -1} }

// len returns the number of distinct prefixes.
func (ps *subSet) len() int { return ps.n }

func (ps *subSet) key(s subSlot) []byte {
	if s.ln == lnOwn {
		return ps.pages[s.off>>16]
	}
	o := int(s.off & 0xffff)
	return ps.pages[s.off>>16][o : o+int(s.ln)]
}

// length is the length of s's prefix.
func (ps *subSet) length(s subSlot) int {
	if s.ln == lnOwn {
		return len(ps.pages[s.off>>16])
	}
	return int(s.ln)
}

func (ps *subSet) hash(p []byte) uint64 { return maphash.Bytes(ps.seed, p) }

// fp is the part of hash h a slot keeps.
func fp(h uint64) uint16 { return uint16(h >> 16) }

// table returns the table for hash h.
func (ps *subSet) table(h uint64) *subTable {
	return ps.dir[h>>(64-ps.depth)] // a shift of 64 is 0: one table
}

// find returns prefix's slot (in a table, or the free slot where it would
// go, its table and hash) and whether it is there.
func (ps *subSet) find(prefix []byte) (t *subTable, i int, h uint64, ok bool) {
	if ps.dir == nil {
		for i, p := range ps.small {
			if bytes.Equal(p, prefix) {
				return nil, i, 0, true
			}
		}
		return nil, -1, 0, false
	}
	h = ps.hash(prefix)
	t = ps.table(h)
	i, ok = ps.probe(t, h, prefix)
	return t, i, h, ok
}

// probe finds prefix (hash h) in t, or the free slot where it would go.
func (ps *subSet) probe(t *subTable, h uint64, prefix []byte) (int, bool) {
	mask := len(t.slots) - 1
	i, f := int(h)&mask, fp(h)
	free := -1
	for {
		s := &t.slots[i]
		switch {
		case s.count > 0:
			if s.fp == f && ps.length(*s) == len(prefix) && bytes.Equal(ps.key(*s), prefix) {
				return i, true
			}
		case s.ln == tomb:
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
	_, _, _, ok := ps.find(prefix)
	return ok
}

// get returns prefix's count, 0 if it is not subscribed.
func (ps *subSet) get(prefix []byte) int {
	t, i, _, ok := ps.find(prefix)
	switch {
	case !ok:
		return 0
	case t == nil:
		return int(ps.counts[i])
	}
	return int(t.slots[i].count)
}

// each calls fn with every prefix and its count (prefix is only valid
// during the call; fn must not change the set).
func (ps *subSet) each(fn func(prefix []byte, count int)) {
	for i, p := range ps.small {
		fn(p, int(ps.counts[i]))
	}
	for j, t := range ps.dir {
		if j&(1<<(ps.depth-t.depth)-1) != 0 {
			continue // t's first directory entry came before
		}
		for _, s := range t.slots {
			if s.count > 0 {
				fn(ps.key(s), int(s.count))
			}
		}
	}
}

// add changes prefix's count by d and returns the count before and after;
// a count that would drop to 0 or below removes the prefix (after is 0),
// a cancel of an unknown prefix changes nothing, and a count saturates at
// math.MaxUint32. A new prefix that would take the set past maxPages pages
// of bytes (4 GiB, far past any budget a publisher can live with) is not
// added (after is 0).
func (ps *subSet) add(prefix []byte, d int) (before, after int) {
	t, i, h, ok := ps.find(prefix)
	if !ok {
		if d <= 0 {
			return 0, 0
		}
		c := count(0, d)
		if t == nil {
			ps.putSmall(bytes.Clone(prefix), c)
			return 0, c
		}
		off, ok := ps.store(prefix)
		if !ok {
			return 0, 0
		}
		ps.put(t, i, newSlot(off, prefix, c, h), h)
		return 0, c
	}
	if t == nil {
		before, after = int(ps.counts[i]), count(ps.counts[i], d)
		if after > 0 {
			ps.counts[i] = uint32(after)
			return before, after
		}
		last := len(ps.small) - 1
		ps.small[i], ps.counts[i] = ps.small[last], ps.counts[last]
		ps.small[last] = nil
		ps.small, ps.counts = ps.small[:last], ps.counts[:last]
		ps.n--
		ps.bytes -= int64(len(prefix))
		return before, 0
	}
	sl := &t.slots[i]
	before, after = int(sl.count), count(sl.count, d)
	if after > 0 {
		sl.count = uint32(after)
		return before, after
	}
	ps.n--
	ps.bytes -= int64(len(prefix))
	ps.dead += len(prefix)
	*sl = subSlot{ln: tomb}
	t.n--
	t.tombs++
	ps.addLen(len(prefix), -1)
	if len(prefix) > 0 {
		ps.first[prefix[0]]--
	}
	switch {
	case ps.n <= smallSubs,
		ps.n*8 < ps.slots && ps.slots > 4*maxTableSlots,
		ps.dead > 4096 && ps.dead > int(ps.bytes):
		ps.rebuild()
	}
	return before, 0
}

func newSlot(off uint32, prefix []byte, c int, h uint64) subSlot {
	s := subSlot{off: off, count: uint32(c), fp: fp(h), ln: lnOwn}
	if len(prefix) < ownPage {
		s.ln = uint16(len(prefix))
	}
	return s
}

// store appends prefix's bytes to the pages and returns where they are.
func (ps *subSet) store(prefix []byte) (uint32, bool) {
	if len(prefix) >= ownPage {
		if len(ps.pages) == maxPages {
			return 0, false
		}
		ps.pages = append(ps.pages, bytes.Clone(prefix))
		return uint32(len(ps.pages)-1) << 16, true
	}
	if ps.cur >= 0 {
		// The first page grows (a set of a few prefixes holds a few
		// bytes) until it is a whole page.
		p := ps.pages[ps.cur]
		if need := len(p) + len(prefix); need > cap(p) && need <= arenaPage {
			np := make([]byte, len(p), min(arenaPage, max(2*cap(p), need)))
			copy(np, p)
			ps.pages[ps.cur] = np
		}
	}
	if ps.cur < 0 || len(ps.pages[ps.cur])+len(prefix) > cap(ps.pages[ps.cur]) {
		if len(ps.pages) == maxPages {
			return 0, false
		}
		c := arenaPage
		if ps.cur < 0 {
			c = max(64, 2*len(prefix))
		}
		ps.pages = append(ps.pages, make([]byte, 0, c))
		ps.cur = len(ps.pages) - 1
	}
	p := ps.pages[ps.cur]
	off := uint32(ps.cur)<<16 | uint32(len(p))
	ps.pages[ps.cur] = append(p, prefix...)
	return off, true
}

// putSmall adds new prefix p (the set's own copy) with count c to a small
// set.
func (ps *subSet) putSmall(p []byte, c int) {
	ps.small = append(ps.small, p)
	ps.counts = append(ps.counts, uint32(c))
	ps.n++
	ps.bytes += int64(len(p))
	if ps.n > smallSubs {
		ps.rebuild()
	}
}

// put adds slot s for a new prefix (hash h) at slot i of table t from
// find.
func (ps *subSet) put(t *subTable, i int, s subSlot, h uint64) {
	ps.n++
	l := ps.length(s)
	ps.bytes += int64(l)
	ps.addLen(l, 1)
	if l > 0 {
		ps.first[ps.key(s)[0]]++
	}
	ps.place(t, i, s, h)
}

// place puts s (hash h) at slot i of t and splits or grows t if it is
// full.
func (ps *subSet) place(t *subTable, i int, s subSlot, h uint64) {
	if t.slots[i].ln == tomb {
		t.tombs--
	}
	t.slots[i] = s
	t.n++
	if (t.n+t.tombs)*4 <= len(t.slots)*3 {
		return
	}
	switch {
	case t.tombs > t.n: // mostly cancelled: clear the tombstones
		ps.regrow(t, len(t.slots))
	case len(t.slots) < maxTableSlots, t.depth >= maxDepth: // past maxDepth, a table grows without bound
		ps.regrow(t, 2*len(t.slots))
	default:
		ps.split(t, h)
	}
}

// regrow rehashes t's live slots into size slots.
func (ps *subSet) regrow(t *subTable, size int) {
	old := t.slots
	t.slots = make([]subSlot, size)
	t.tombs = 0
	ps.slots += size - len(old)
	for _, s := range old {
		if s.count > 0 {
			t.slots[ps.free(t, ps.hash(ps.key(s)))] = s
		}
	}
}

// free returns the first free slot for hash h in t (which holds no
// tombstones).
func (ps *subSet) free(t *subTable, h uint64) int {
	mask := len(t.slots) - 1
	i := int(h) & mask
	for t.slots[i].count > 0 {
		i = (i + 1) & mask
	}
	return i
}

// split replaces t by two tables one bit deeper (h: the hash of a prefix
// of t), doubling the directory if t was as deep as it.
func (ps *subSet) split(t *subTable, h uint64) {
	if t.depth == ps.depth {
		nd := make([]*subTable, 2*len(ps.dir))
		for j, u := range ps.dir {
			nd[2*j], nd[2*j+1] = u, u
		}
		ps.dir = nd
		ps.depth++
	}
	d := t.depth + 1
	t0 := &subTable{depth: d, slots: make([]subSlot, maxTableSlots)}
	t1 := &subTable{depth: d, slots: make([]subSlot, maxTableSlots)}
	ps.slots += 2*maxTableSlots - len(t.slots)
	bit := uint64(1) << (64 - d)
	for _, s := range t.slots {
		if s.count == 0 {
			continue
		}
		sh := ps.hash(ps.key(s))
		u := t0
		if sh&bit != 0 {
			u = t1
		}
		u.slots[ps.free(u, sh)] = s
		u.n++
	}
	span := 1 << (ps.depth - t.depth) // directory entries pointing to t
	start := int(h>>(64-ps.depth)) &^ (span - 1)
	for j := start; j < start+span/2; j++ {
		ps.dir[j] = t0
	}
	for j := start + span/2; j < start+span; j++ {
		ps.dir[j] = t1
	}
}

// rebuild copies the live prefixes into fresh pages and slots: a list
// while there are at most smallSubs, else tables.
func (ps *subSet) rebuild() {
	old := *ps
	*ps = subSet{cur: -1, seed: old.seed, trie: old.trie}
	if old.n > smallSubs {
		if ps.seed == (maphash.Seed{}) {
			ps.seed = maphash.MakeSeed()
		}
		ps.dir = []*subTable{{slots: make([]subSlot, minTable)}}
		ps.slots = minTable
		ps.first = new([256]uint32)
	}
	old.each(func(p []byte, c int) {
		t, i, h, _ := ps.find(p)
		if t == nil {
			ps.putSmall(bytes.Clone(p), c)
			return
		}
		off, _ := ps.store(p) // fits: it did before
		ps.put(t, i, newSlot(off, p, c, h), h)
	})
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
	if ps.dir == nil {
		return matchList(ps.small, topic)
	}
	if len(topic) > 0 && ps.first[topic[0]] == 0 {
		return len(ps.lens) > 0 && ps.lens[0].l == 0 // the empty prefix
	}
	for _, e := range ps.lens {
		if e.l > len(topic) {
			return false
		}
		p := topic[:e.l]
		h := ps.hash(p)
		if _, ok := ps.probe(ps.table(h), h, p); ok {
			return true
		}
	}
	return false
}

// matchList reports whether one of prefixes is a prefix of topic: the
// small set's match, and a publisher's lock-free view of a peer's few
// subscriptions (pipe.subView).
func matchList(prefixes [][]byte, topic []byte) bool {
	for _, p := range prefixes {
		if hasPrefix(topic, p) {
			return true
		}
	}
	return false
}

// hasPrefix is bytes.HasPrefix with short prefixes (topics are mostly a
// few bytes) compared inline: no call to the runtime's memequal per
// message and prefix.
func hasPrefix(topic, p []byte) bool {
	if len(p) > 16 {
		return bytes.HasPrefix(topic, p)
	}
	if len(topic) < len(p) {
		return false
	}
	t := topic[:len(p)]
	for i, c := range p {
		if t[i] != c {
			return false
		}
	}
	return true
}

// smallView is a copy of the set's prefix list while it is small (the
// prefixes themselves are never changed in place, so the copy shares
// them), nil once it is large.
func (ps *subSet) smallView() *[][]byte {
	if ps.dir != nil || ps.trie != nil {
		return nil
	}
	v := slices.Clone(ps.small)
	return &v
}
