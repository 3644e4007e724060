package socket

import (
	"fmt"
	"testing"
)

// benchTopics are the cost curves' messages: 16 bytes, topic wx or zz.
var benchTopics = [2][]byte{[]byte("wx\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), []byte("zz\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")}

// BenchmarkSubMatch: one match of a curve message (alternately wx and zz)
// against wx plus n-1 prefixes q%07d, on a PUB's per-peer set (peer) and
// a SUB's filter (filter).
func BenchmarkSubMatch(b *testing.B) {
	for _, n := range []int{1, 1000, 100000} {
		b.Run(fmt.Sprintf("peer/%d", n), func(b *testing.B) {
			ps := newSubSet()
			ps.add([]byte("wx"), 1)
			for i := 1; i < n; i++ {
				ps.add(fmt.Appendf(nil, "q%07d", i), 1)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if ps.match(benchTopics[i&1]) != (i&1 == 0) {
					b.Fatal("wrong match")
				}
			}
		})
		b.Run(fmt.Sprintf("filter/%d", n), func(b *testing.B) {
			zc := &Context{}
			s, err := zc.NewSocket(SUB, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			_ = s.Subscribe([]byte("wx"))
			for i := 1; i < n; i++ {
				_ = s.Subscribe(fmt.Appendf(nil, "q%07d", i))
			}
			f := s.pat.(*sub).filter.Load()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if f.match(benchTopics[i&1]) != (i&1 == 0) {
					b.Fatal("wrong match")
				}
			}
		})
	}
}
