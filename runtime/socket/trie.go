package socket

import (
	"bytes"
	"sync/atomic"
)

// prefixTrie is a byte trie of subscription prefixes: a SUB's filter once
// it holds more than smallSubs prefixes. One writer at a time (Subscribe
// and Unsubscribe, under the socket's lock) changes it in place while
// connection readers match without locks: a node's children are an array
// that a change never modifies but replaces whole (an atomic pointer), and
// whether a prefix ends at a node is an atomic flag, so a reader sees each
// node as it was before a change or after it. add and remove cost
// O(len(prefix)) steps plus a copy of one node's children (at most 256
// edges), and usually allocate once or twice: an earlier version copied
// every node on the prefix's path (about 30 allocations per Subscribe with
// 100,000 prefixes held). match walks at most len(topic) nodes, however
// many prefixes the trie holds. The trie is at most maxTrieDepth nodes
// deep: the bytes of a longer prefix past that depth are kept whole in the
// node there (long), so one long prefix costs its length in bytes, not a
// node a byte. The zero prefixTrie is empty and ready to use.
type prefixTrie struct{ root trieNode }

type trieNode struct {
	end  atomic.Bool
	kids atomic.Pointer[[]trieEdge] // ascending by c; nil: none
	long atomic.Pointer[[][]byte]   // at maxTrieDepth: the rest of each longer prefix
}

type trieEdge struct {
	c byte
	n *trieNode
}

const maxTrieDepth = 64

// findEdge returns the index of c in ks and whether it is there.
func findEdge(ks []trieEdge, c byte) (int, bool) {
	lo, hi := 0, len(ks)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ks[m].c < c {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(ks) && ks[lo].c == c
}

func (t *prefixTrie) match(topic []byte) bool {
	n := &t.root
	for i, c := range topic {
		if n.end.Load() {
			return true
		}
		if i == maxTrieDepth {
			if lp := n.long.Load(); lp != nil {
				for _, l := range *lp {
					if bytes.HasPrefix(topic[i:], l) {
						return true
					}
				}
			}
			return false
		}
		kp := n.kids.Load()
		if kp == nil {
			return false
		}
		j, ok := findEdge(*kp, c)
		if !ok {
			return false
		}
		n = (*kp)[j].n
	}
	return n.end.Load()
}

// add puts prefix in the trie. Writer only.
func (t *prefixTrie) add(prefix []byte) {
	n := &t.root
	for d, c := range prefix {
		if d == maxTrieDepth {
			rest := prefix[d:]
			var old [][]byte
			if lp := n.long.Load(); lp != nil {
				old = *lp
			}
			for _, l := range old {
				if bytes.Equal(l, rest) {
					return
				}
			}
			nl := make([][]byte, len(old), len(old)+1)
			copy(nl, old)
			nl = append(nl, bytes.Clone(rest))
			n.long.Store(&nl)
			return
		}
		var ks []trieEdge
		if kp := n.kids.Load(); kp != nil {
			ks = *kp
		}
		i, ok := findEdge(ks, c)
		if ok {
			n = ks[i].n
			continue
		}
		next := &trieNode{}
		nk := make([]trieEdge, len(ks)+1)
		copy(nk, ks[:i])
		nk[i] = trieEdge{c, next}
		copy(nk[i+1:], ks[i:])
		n.kids.Store(&nk)
		n = next
	}
	n.end.Store(true)
}

// remove takes prefix out of the trie and drops the nodes left with no
// prefix below them. Writer only.
func (t *prefixTrie) remove(prefix []byte) { t.root.remove(prefix, 0) }

func (n *trieNode) remove(prefix []byte, depth int) (found bool) {
	switch {
	case len(prefix) == 0:
		if !n.end.Load() {
			return false
		}
		n.end.Store(false)
		return true
	case depth == maxTrieDepth:
		lp := n.long.Load()
		if lp == nil {
			return false
		}
		for i, l := range *lp {
			if bytes.Equal(l, prefix) {
				nl := make([][]byte, 0, len(*lp)-1)
				nl = append(append(nl, (*lp)[:i]...), (*lp)[i+1:]...)
				if len(nl) == 0 {
					n.long.Store(nil)
				} else {
					n.long.Store(&nl)
				}
				return true
			}
		}
		return false
	}
	kp := n.kids.Load()
	if kp == nil {
		return false
	}
	ks := *kp
	i, ok := findEdge(ks, prefix[0])
	if !ok || !ks[i].n.remove(prefix[1:], depth+1) {
		return false
	}
	if ks[i].n.empty() {
		if len(ks) == 1 {
			n.kids.Store(nil)
		} else {
			nk := make([]trieEdge, 0, len(ks)-1)
			nk = append(append(nk, ks[:i]...), ks[i+1:]...)
			n.kids.Store(&nk)
		}
	}
	return true
}

func (n *trieNode) empty() bool {
	return !n.end.Load() && n.kids.Load() == nil && n.long.Load() == nil
}
