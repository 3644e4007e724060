package socket

import (
	"bytes"
	"slices"
)

// peerSubs is a publisher's record of one peer's subscriptions: reference
// counted prefixes. Matching costs one bytes.HasPrefix per prefix while the
// set is small and one map lookup per distinct prefix length once it grows,
// and every update is O(1) (amortised), so a peer sending many subscriptions
// cannot make the publisher quadratic. Guarded by the owning pipe's subMu.
type peerSubs struct {
	bytes  int64 // total length of the distinct prefixes
	peak   int   // most distinct prefixes held since the maps were made
	counts map[string]int
	list   [][]byte       // distinct prefixes, for small sets
	pos    map[string]int // index in list
	lens   map[int]int    // prefixes per length
	lensL  []int          // distinct lengths, ascending
}

const smallSubs = 16

func newPeerSubs() *peerSubs {
	return &peerSubs{counts: map[string]int{}, pos: map[string]int{}, lens: map[int]int{}}
}

func (ps *peerSubs) empty() bool { return len(ps.counts) == 0 }

// has reports whether prefix is subscribed.
func (ps *peerSubs) has(prefix []byte) bool { return ps.counts[string(prefix)] > 0 }

// cloneCounts copies m into a map sized for what it holds now (a Go map
// keeps its buckets after deletes).
func cloneCounts(m map[string]int) map[string]int {
	n := make(map[string]int, len(m))
	for k, v := range m {
		n[k] = v
	}
	return n
}

// add changes prefix's count by d (+1 or -1) and reports whether the prefix
// was known before a cancel (cancels of unknown prefixes are ignored).
func (ps *peerSubs) add(prefix []byte, d int) bool {
	k := string(prefix)
	old := ps.counts[k]
	if d < 0 && old == 0 {
		return false
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
		return true
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
	return true
}

func (ps *peerSubs) match(topic []byte) bool {
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
