package socket

import (
	"bytes"
	"math"
	"math/bits"
	"sync/atomic"
)

// prefixTrie is a counted byte trie of subscription prefixes: a SUB's or
// XSUB's own subscriptions (how many times each prefix was subscribed) and,
// once a SUB holds more than smallSubs prefixes, the filter its connection
// readers match with. One writer at a time
// (Subscribe and Unsubscribe, under the socket's lock) changes it in place
// while readers match without locks.
//
// Its nodes hold no Go pointers: they live in chunks (the first of
// trieBase nodes, each later one as large as all before it), refer to each
// other by index and are never moved, so the garbage collector does
// not scan them (issue 16: the collector marking a heap of 100,000 pointer
// nodes, and three allocations per Subscribe, were most of a Subscribe's
// cost). A node's children are a list linked through first-child and
// next-sibling indices, each an atomic word: adding a child links a new
// node at the head of its parent's list, removing one links past it, and a
// node once unlinked is never reused or changed, so a reader walking the
// old links still reaches every node that stayed in the list, and sees each
// change whole or not at all. Unlinked nodes are garbage inside the chunks;
// once they outnumber the live ones (compacted) a fresh trie replaces this
// one. add and remove cost O(len(prefix)) steps and a scan of at most 256
// siblings per byte, and allocate nothing but a new chunk now and then;
// match walks at most len(topic) nodes, however many prefixes the trie
// holds.
//
// The trie is at most maxTrieDepth nodes deep: the bytes of a longer prefix
// past that depth are kept whole in a list beside the nodes (long), so one
// long prefix costs its length in bytes, not a node a byte. The zero
// prefixTrie is empty and ready to use.
type prefixTrie struct {
	chunks atomic.Pointer[[][]trieNode] // node storage; node 0 is the root
	long   atomic.Pointer[[]longPrefix] // prefixes past maxTrieDepth; replaced whole

	// Writer only.
	last     []byte   // the prefix the last add walked (at most maxTrieDepth bytes)
	lastPath []uint32 // lastPath[k]: the node at depth k on last's path
	nodes    uint32   // nodes allocated, the root included
	dead     uint32   // nodes unlinked (garbage until the trie is compacted)
	distinct int      // distinct prefixes held
	bytes    int64    // their total length
}

const (
	trieBaseBits = 4
	trieBase     = 1 << trieBaseBits
	maxTrieDepth = 64
)

type trieNode struct {
	count atomic.Uint32 // references to the prefix that ends here; 0: none ends here
	kid   atomic.Uint32 // first child; 0: none (the root is nobody's child)
	next  atomic.Uint32 // next sibling; 0: none
	c     byte          // the byte on the edge to this node; set before it is linked
	nlong uint16        // writer only: entries of long at this node (depth maxTrieDepth)
}

// longPrefix is a prefix longer than maxTrieDepth: its first maxTrieDepth
// bytes are the path to node, rest the bytes past it.
type longPrefix struct {
	node  uint32
	count uint32
	rest  []byte
}

// chunkOf returns the chunk that holds node i and i's place in it: chunk
// 0 holds nodes [0, trieBase), chunk k > 0 nodes [trieBase<<(k-1),
// trieBase<<k).
func chunkOf(i uint32) (k int, j uint32) {
	if i < trieBase {
		return 0, i
	}
	k = bits.Len32(i >> trieBaseBits)
	return k, i - trieBase<<(k-1)
}

// node returns node i of chunks cs.
func node(cs [][]trieNode, i uint32) *trieNode {
	k, j := chunkOf(i)
	return &cs[k][j]
}

// at returns node i, reloading the chunk list if i is in a chunk added
// since cs was loaded (a node is in the list before its index is linked).
func (t *prefixTrie) at(cs *[][]trieNode, i uint32) *trieNode {
	k, j := chunkOf(i)
	if k >= len(*cs) {
		*cs = *t.chunks.Load()
	}
	return &(*cs)[k][j]
}

// child returns the index of n's child on byte c, 0 if there is none.
func (t *prefixTrie) child(cs *[][]trieNode, n *trieNode, c byte) uint32 {
	for k := n.kid.Load(); k != 0; {
		m := t.at(cs, k)
		if m.c == c {
			return k
		}
		k = m.next.Load()
	}
	return 0
}

// match reports whether a prefix in the trie is a prefix of topic. Safe
// concurrently with one writer.
func (t *prefixTrie) match(topic []byte) bool {
	cp := t.chunks.Load()
	if cp == nil {
		return false
	}
	cs := *cp
	i := uint32(0)
	n := node(cs, 0)
	for d, c := range topic {
		if n.count.Load() > 0 {
			return true
		}
		if d == maxTrieDepth {
			return t.matchLong(i, topic[d:])
		}
		if i = t.child(&cs, n, c); i == 0 {
			return false
		}
		n = node(cs, i)
	}
	return n.count.Load() > 0
}

// matchLong reports whether a long prefix at node i is a prefix of rest.
func (t *prefixTrie) matchLong(i uint32, rest []byte) bool {
	lp := t.long.Load()
	if lp == nil {
		return false
	}
	for _, l := range *lp {
		if l.node == i && bytes.HasPrefix(rest, l.rest) {
			return true
		}
	}
	return false
}

// newNode allocates a node for byte c, not yet linked. Writer only.
func (t *prefixTrie) newNode(c byte) uint32 {
	cp := t.chunks.Load()
	i := t.nodes
	if k, _ := chunkOf(i); k == len(*cp) {
		ncs := make([][]trieNode, len(*cp), len(*cp)+1)
		copy(ncs, *cp)
		ncs = append(ncs, make([]trieNode, trieBase<<(k-1)))
		t.chunks.Store(&ncs)
		cp = &ncs
	}
	t.nodes++
	n := node(*cp, i)
	n.c = c
	return i
}

// add changes prefix's count by d (a count that would drop to 0 or below
// removes the prefix; a cancel of an unknown prefix changes nothing) and
// returns the count before and after, as subSet.add. A count saturates at
// math.MaxUint32. Writer only.
func (t *prefixTrie) add(prefix []byte, d int) (before, after int) {
	if t.chunks.Load() == nil {
		cs := [][]trieNode{make([]trieNode, trieBase)}
		t.chunks.Store(&cs)
		t.nodes = 1
	}
	var path [maxTrieDepth + 1]uint32 // path[k]: the node at depth k
	cs := *t.chunks.Load()
	// Start where the last add's path and this prefix part: subscriptions
	// often come in order, sharing most of their bytes.
	depth := 0
	for depth < len(t.last) && depth < len(prefix) && t.last[depth] == prefix[depth] {
		depth++
	}
	copy(path[:depth+1], t.lastPath)
	i := path[depth]
	for ; depth < len(prefix); depth++ {
		if depth == maxTrieDepth {
			before, after = t.addLong(i, prefix[depth:], d)
			break
		}
		n := node(cs, i)
		k := t.child(&cs, n, prefix[depth])
		if k == 0 {
			if d < 0 {
				return 0, 0
			}
			k = t.newNode(prefix[depth])
			cs = *t.chunks.Load()
			node(cs, k).next.Store(n.kid.Load())
			n.kid.Store(k) // published: readers see the node whole
		}
		i = k
		path[depth+1] = i
	}
	t.remember(prefix, path[:min(depth, maxTrieDepth)+1])
	if depth == len(prefix) {
		n := node(cs, i)
		old := n.count.Load()
		before, after = int(old), count(old, d)
		if after != before {
			n.count.Store(uint32(after))
		}
	}
	switch {
	case before == 0 && after > 0:
		t.distinct++
		t.bytes += int64(len(prefix))
	case before > 0 && after == 0:
		t.distinct--
		t.bytes -= int64(len(prefix))
		t.prune(path[:min(depth, maxTrieDepth)+1])
	}
	return before, after
}

// remember keeps prefix's path for the next add. Writer only.
func (t *prefixTrie) remember(prefix []byte, path []uint32) {
	t.last = append(t.last[:0], prefix[:len(path)-1]...)
	t.lastPath = append(t.lastPath[:0], path...)
}

// count is c changed by d, at least 0 and at most math.MaxUint32; a
// negative d takes an unknown prefix nowhere.
func count(c uint32, d int) int {
	n := int64(c) + int64(d)
	if c == 0 && d < 0 || n < 0 {
		return 0
	}
	return int(min(n, math.MaxUint32))
}

// addLong changes the count of the long prefix at node i with bytes rest
// past it. Writer only.
func (t *prefixTrie) addLong(i uint32, rest []byte, d int) (before, after int) {
	var old []longPrefix
	if lp := t.long.Load(); lp != nil {
		old = *lp
	}
	at := -1
	for j, l := range old {
		if l.node == i && bytes.Equal(l.rest, rest) {
			at = j
			break
		}
	}
	if at >= 0 {
		before = int(old[at].count)
	}
	after = count(uint32(before), d)
	n := node(*t.chunks.Load(), i)
	switch {
	case after == before:
	case before == 0:
		nl := make([]longPrefix, len(old), len(old)+1)
		copy(nl, old)
		nl = append(nl, longPrefix{node: i, count: uint32(after), rest: bytes.Clone(rest)})
		t.long.Store(&nl)
		n.nlong++
	case after == 0:
		nl := make([]longPrefix, 0, len(old)-1)
		nl = append(append(nl, old[:at]...), old[at+1:]...)
		if len(nl) == 0 {
			t.long.Store(nil)
		} else {
			t.long.Store(&nl)
		}
		n.nlong--
	default:
		nl := append([]longPrefix(nil), old...)
		nl[at].count = uint32(after)
		t.long.Store(&nl)
	}
	return before, after
}

// prune unlinks the nodes at the end of path (path[k] at depth k) that no
// prefix ends at or passes through any more. Writer only.
func (t *prefixTrie) prune(path []uint32) {
	t.last, t.lastPath = t.last[:0], t.lastPath[:0] // its nodes may go
	cs := *t.chunks.Load()
	for k := len(path) - 1; k > 0; k-- {
		i := path[k]
		n := node(cs, i)
		if n.count.Load() > 0 || n.kid.Load() != 0 || n.nlong > 0 {
			return
		}
		parent := node(cs, path[k-1])
		if parent.kid.Load() == i {
			parent.kid.Store(n.next.Load())
		} else {
			for j := parent.kid.Load(); j != 0; {
				m := node(cs, j)
				if m.next.Load() == i {
					m.next.Store(n.next.Load())
					break
				}
				j = m.next.Load()
			}
		}
		t.dead++
	}
}

// empty reports whether the trie holds no prefix.
func (t *prefixTrie) empty() bool { return t.distinct == 0 }

// each calls fn with every prefix and its count (prefix is only valid
// during the call), in no particular order. Writer only.
func (t *prefixTrie) each(fn func(prefix []byte, count int)) {
	cp := t.chunks.Load()
	if cp == nil {
		return
	}
	var long []longPrefix
	if lp := t.long.Load(); lp != nil {
		long = *lp
	}
	buf := make([]byte, 0, 64)
	var walk func(i uint32, depth int)
	walk = func(i uint32, depth int) {
		n := node(*cp, i)
		if c := n.count.Load(); c > 0 {
			fn(buf, int(c))
		}
		if n.nlong > 0 {
			for _, l := range long {
				if l.node == i {
					fn(append(buf, l.rest...), int(l.count))
				}
			}
		}
		for k := n.kid.Load(); k != 0; {
			m := node(*cp, k)
			buf = append(buf, m.c)
			walk(k, depth+1)
			buf = buf[:len(buf)-1]
			k = m.next.Load()
		}
	}
	walk(0, 0)
}

// compacted returns t, or, once t's unlinked nodes outnumber its live ones
// (and are many), a fresh trie with t's prefixes and counts; t is then not
// changed any more, so readers still matching with it finish safely.
// Writer only.
func (t *prefixTrie) compacted() *prefixTrie {
	if t.dead < 2048 || t.dead < t.nodes/2 {
		return t
	}
	nt := &prefixTrie{}
	t.each(func(p []byte, c int) { nt.add(p, c) })
	return nt
}
