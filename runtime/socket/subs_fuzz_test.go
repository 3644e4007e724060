package socket

import (
	"bytes"
	"maps"
	"testing"
)

// FuzzSubscriptions feeds a peer's subscription bytes to the structures
// that hold them: data is a sequence of messages, each a flags byte (bit 0:
// subscribe, else cancel), a length byte and that many prefix bytes (the
// body of a ZMTP \x01prefix or \x00prefix message; the length byte's high
// bit makes the prefix longer than maxTrieDepth by repeating it). Each is
// applied to a subSet (a PUB's per-peer set) and a prefixTrie (a SUB's
// own), which must agree with a plain map on counts, enumeration and
// matching.
func FuzzSubscriptions(f *testing.F) {
	f.Add([]byte("\x01\x02wx\x01\x02zz\x00\x02wx\x01\x00"))
	f.Add([]byte("\x01\x81ab\x01\x01a\x00\x81ab"))
	long := []byte{}
	for i := 0; i < 40; i++ {
		long = append(long, 1, 3, 'k', byte('a'+i%26), byte('0'+i/26))
	}
	for i := 0; i < 30; i++ {
		long = append(long, 0, 3, 'k', byte('a'+i%26), byte('0'+i/26))
	}
	f.Add(long)
	f.Fuzz(func(t *testing.T, data []byte) {
		ps := newSubSet()
		tr := &prefixTrie{}
		model := map[string]int{}
		for len(data) >= 2 {
			on, n := data[0]&1 == 1, int(data[1]&0x7f)
			rep := data[1]&0x80 != 0
			data = data[2:]
			n = min(n, len(data))
			p := bytes.Clone(data[:n])
			data = data[n:]
			if rep && n > 0 {
				p = bytes.Repeat(p, maxTrieDepth/n+2)
			}
			d := -1
			if on {
				d = 1
			}
			want := model[string(p)]
			if b, a := ps.add(p, d); b != want || a != max(want+d, 0) {
				t.Fatalf("subSet %v %q: %d -> %d, model %d", on, p, b, a, want)
			}
			if b, a := tr.add(p, d); b != want || a != max(want+d, 0) {
				t.Fatalf("trie %v %q: %d -> %d, model %d", on, p, b, a, want)
			}
			if model[string(p)] = max(want+d, 0); model[string(p)] == 0 {
				delete(model, string(p))
			}
			if !on {
				tr = tr.compacted()
			}
			for _, topic := range [][]byte{p, append(bytes.Clone(p), 'x'), p[:len(p)/2]} {
				w := false
				for k := range model {
					w = w || bytes.HasPrefix(topic, []byte(k))
				}
				if ps.match(topic) != w || tr.match(topic) != w {
					t.Fatalf("match(%q): subSet %v, trie %v, want %v", topic, ps.match(topic), tr.match(topic), w)
				}
			}
		}
		for _, each := range []func(func([]byte, int)){ps.each, tr.each} {
			seen := map[string]int{}
			each(func(p []byte, c int) { seen[string(p)] = c })
			if !maps.Equal(seen, model) {
				t.Fatalf("each: %v, model %v", seen, model)
			}
		}
		if ps.len() != len(model) || tr.distinct != len(model) {
			t.Fatalf("%d and %d prefixes, model %d", ps.len(), tr.distinct, len(model))
		}
	})
}
