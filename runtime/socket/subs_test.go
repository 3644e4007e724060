package socket

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestPeerSubsMatchesNaiveModel checks subSet against a plain map for
// random subscribe/cancel sequences, across the small and large regimes.
func TestPeerSubsMatchesNaiveModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	word := func() []byte {
		b := make([]byte, r.IntN(4))
		for i := range b {
			b[i] = "ab"[r.IntN(2)]
		}
		return b
	}
	ps := newSubSet()
	model := map[string]int{}
	for step := 0; step < 20000; step++ {
		w := word()
		if r.IntN(3) == 0 {
			before, _ := ps.add(w, -1)
			known := before > 0
			if known != (model[string(w)] > 0) {
				t.Fatalf("cancel %q: known=%v model=%d", w, known, model[string(w)])
			}
			if model[string(w)] > 0 {
				model[string(w)]--
				if model[string(w)] == 0 {
					delete(model, string(w))
				}
			}
		} else {
			ps.add(w, 1)
			model[string(w)]++
		}
		topic := append(word(), word()...)
		want := false
		for k := range model {
			want = want || bytes.HasPrefix(topic, []byte(k))
		}
		if got := ps.match(topic); got != want {
			t.Fatalf("step %d: match(%q) = %v, want %v (subs %v)", step, topic, got, want, model)
		}
	}
	// Many distinct subscriptions stay cheap to add and to match.
	big := newSubSet()
	for i := 0; i < 100000; i++ {
		big.add([]byte{byte(i >> 16), byte(i >> 8), byte(i), 'x'}, 1)
	}
	if !big.match([]byte{0, 1, 2, 'x', 'y'}) || big.match([]byte("zzzz")) {
		t.Fatal("large set matches wrongly")
	}
}
