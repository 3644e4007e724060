package socket

import "bytes"

// prefixTrie is an immutable byte trie of subscription prefixes: a SUB's
// filter snapshot once it holds more than smallSubs prefixes. with and
// without copy only the nodes on the prefix's path (persistent, path
// copying), so a Subscribe costs O(len(prefix)) node copies instead of a
// rebuild of the whole set, and readers keep matching the version they
// loaded without locks. match walks at most len(topic) nodes, however many
// prefixes the trie holds. The trie is at most maxTrieDepth nodes deep: the
// bytes of a longer prefix past that depth are kept whole in the node there
// (long), so one long prefix costs its length in bytes, not a node a byte.
type prefixTrie struct {
	end  bool          // a prefix ends here
	keys []byte        // child bytes, ascending
	kids []*prefixTrie // kids[i] follows keys[i]
	long [][]byte      // at maxTrieDepth: the rest of each longer prefix
}

const maxTrieDepth = 64

// child returns the index of c in t.keys and whether it is there.
func (t *prefixTrie) child(c byte) (int, bool) {
	lo, hi := 0, len(t.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.keys[m] < c {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(t.keys) && t.keys[lo] == c
}

func (t *prefixTrie) match(topic []byte) bool {
	for i, c := range topic {
		if t.end {
			return true
		}
		if i == maxTrieDepth {
			for _, l := range t.long {
				if bytes.HasPrefix(topic[i:], l) {
					return true
				}
			}
			return false
		}
		j, ok := t.child(c)
		if !ok {
			return false
		}
		t = t.kids[j]
	}
	return t.end
}

// copyNode returns a shallow copy of t (a new node for a nil t).
func (t *prefixTrie) copyNode() *prefixTrie {
	if t == nil {
		return &prefixTrie{}
	}
	return &prefixTrie{end: t.end, keys: bytes.Clone(t.keys), kids: append([]*prefixTrie(nil), t.kids...), long: append([][]byte(nil), t.long...)}
}

func (t *prefixTrie) empty() bool { return !t.end && len(t.keys) == 0 && len(t.long) == 0 }

// with returns a trie holding t's prefixes and prefix; t is unchanged.
func (t *prefixTrie) with(prefix []byte) *prefixTrie {
	root := t.copyNode()
	n := root
	for d, c := range prefix {
		if d == maxTrieDepth {
			rest := prefix[d:]
			for _, l := range n.long {
				if bytes.Equal(l, rest) {
					return root
				}
			}
			n.long = append(n.long, bytes.Clone(rest))
			return root
		}
		i, ok := n.child(c)
		var next *prefixTrie
		if ok {
			next = n.kids[i].copyNode()
			n.kids[i] = next
		} else {
			next = &prefixTrie{}
			n.keys = append(n.keys, 0)
			copy(n.keys[i+1:], n.keys[i:])
			n.keys[i] = c
			n.kids = append(n.kids, nil)
			copy(n.kids[i+1:], n.kids[i:])
			n.kids[i] = next
		}
		n = next
	}
	n.end = true
	return root
}

// without returns a trie holding t's prefixes but prefix (nil when none is
// left); t is unchanged. Nodes left with no prefix below them are dropped.
func (t *prefixTrie) without(prefix []byte) *prefixTrie { return t.withoutAt(prefix, 0) }

func (t *prefixTrie) withoutAt(prefix []byte, depth int) *prefixTrie {
	if t == nil {
		return nil
	}
	var n *prefixTrie
	switch {
	case len(prefix) == 0:
		if !t.end {
			return t
		}
		n = t.copyNode()
		n.end = false
	case depth == maxTrieDepth:
		i := -1
		for j, l := range t.long {
			if bytes.Equal(l, prefix) {
				i = j
			}
		}
		if i < 0 {
			return t
		}
		n = t.copyNode()
		n.long = append(n.long[:i], n.long[i+1:]...)
	default:
		i, ok := t.child(prefix[0])
		if !ok {
			return t
		}
		k := t.kids[i].withoutAt(prefix[1:], depth+1)
		if k == t.kids[i] {
			return t
		}
		n = t.copyNode()
		if k != nil {
			n.kids[i] = k
			return n
		}
		n.keys = append(n.keys[:i], n.keys[i+1:]...)
		n.kids = append(n.kids[:i], n.kids[i+1:]...)
	}
	if n.empty() {
		return nil
	}
	return n
}
