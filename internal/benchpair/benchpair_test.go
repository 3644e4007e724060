package benchpair

import (
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := append([]float64(nil), tc.in...)
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Fatalf("Median modified its input: %v -> %v", in, tc.in)
			}
		}
	}
}

// TestRunAlternates checks that Run calls both variants b.N times, in
// alternating order, and reports the ratio of their rates.
func TestRunAlternates(t *testing.T) {
	var order []string
	res := testing.Benchmark(func(b *testing.B) {
		order = order[:0]
		// Each call takes a moment so testing.Benchmark settles on a small N.
		Run(b, func() float64 { order = append(order, "s"); time.Sleep(time.Millisecond); return 3 },
			func() float64 { order = append(order, "b"); return 2 })
	})
	n := res.N
	if len(order) != 2*n {
		t.Fatalf("got %d calls for N=%d, want %d", len(order), n, 2*n)
	}
	for i := 0; i < n; i++ {
		first, second := order[2*i], order[2*i+1]
		want := "s"
		if i%2 == 1 {
			want = "b"
		}
		if first != want || first == second {
			t.Fatalf("pair %d ran %s then %s, want %s first", i, first, second, want)
		}
	}
	if got := res.Extra["median-ratio"]; got != 1.5 {
		t.Errorf("median-ratio = %v, want 1.5", got)
	}
	if res.Extra["subject-rate"] != 3 || res.Extra["baseline-rate"] != 2 {
		t.Errorf("rates = %v, %v, want 3, 2", res.Extra["subject-rate"], res.Extra["baseline-rate"])
	}
}
