// Package benchpair measures one variant of a benchmark against another in
// alternating pairs, for targets stated as a ratio ("at least 95% of ...").
//
// On a shared, noisy machine two variants measured one after the other see
// different machines: the speed drifts by tens of percent from one minute to
// the next. Running them in pairs, alternating which goes first, and taking
// the median of the per-pair ratios takes most of that drift out.
package benchpair

import (
	"slices"
	"testing"
)

// Run calls subject and baseline b.N times each, alternately (which one goes
// first alternates too), and reports the median, minimum and maximum of the
// per-pair ratios subject ÷ baseline as "median-ratio", "min-ratio" and
// "max-ratio", along with the median rates as "subject-rate" and
// "baseline-rate". Each function returns a rate (higher is better).
func Run(b *testing.B, subject, baseline func() float64) {
	b.Helper()
	ratios := make([]float64, 0, b.N)
	subj := make([]float64, 0, b.N)
	base := make([]float64, 0, b.N)
	for i := 0; i < b.N; i++ {
		var s, r float64
		if i%2 == 0 {
			s, r = subject(), baseline()
		} else {
			r, s = baseline(), subject()
		}
		subj = append(subj, s)
		base = append(base, r)
		ratios = append(ratios, s/r)
	}
	b.ReportMetric(Median(ratios), "median-ratio")
	b.ReportMetric(slices.Min(ratios), "min-ratio")
	b.ReportMetric(slices.Max(ratios), "max-ratio")
	b.ReportMetric(Median(subj), "subject-rate")
	b.ReportMetric(Median(base), "baseline-rate")
}

// Median returns the median of xs (the mean of the middle two for an even
// count); xs is not modified. It returns 0 for an empty slice.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + m) / 2
	}
	return m
}
