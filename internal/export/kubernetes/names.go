package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxLabel is the longest DNS label (RFC 1123 and RFC 1035).
const maxLabel = 63

// Label maps any name (a host "worker[2]", a topology file "My_Pipeline")
// to a DNS-1035 label, which is also a DNS-1123 label: lower case, runs of
// characters other than [a-z0-9] become one '-', no '-' at either end,
// a leading digit (or an empty result) gets an "x" in front, and a name
// longer than 63 characters is cut to 57 and ends in '-' and 5 hex
// digits of the SHA-256 of the original. The same name always gives the
// same label; "worker[2]" becomes "worker-2".
func Label(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	s := b.String()
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "x" + s
	}
	if len(s) > maxLabel {
		s = strings.TrimRight(s[:maxLabel-6], "-") + "-" + hash5(name)
	}
	return s
}

// hash5 is the first 5 hex digits of name's SHA-256.
func hash5(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])[:5]
}

// joinLabel is prefix-suffix as one label of at most 63 characters: when
// too long, prefix is shortened and the result ends in a hash of both,
// so distinct pairs stay distinct.
func joinLabel(prefix, suffix string) string {
	s := prefix + "-" + suffix
	if len(s) <= maxLabel {
		return s
	}
	keep := maxLabel - len(suffix) - 7 // "-" + hash5 + "-"
	if keep < 1 {
		return Label(s)
	}
	return strings.TrimRight(prefix[:keep], "-") + "-" + hash5(s) + "-" + suffix
}

// labels maps every name of names to a distinct label: Label(name), or,
// when two names map to the same label ("a_b" and "a-b"), that label
// with '-' and a hash of the name for every one of them whose label is
// not the name itself. The result depends only on the set of names.
func labels(names []string) map[string]string {
	out := make(map[string]string, len(names))
	byLabel := map[string][]string{}
	for _, n := range names {
		byLabel[Label(n)] = append(byLabel[Label(n)], n)
	}
	for l, ns := range byLabel {
		for _, n := range ns {
			if len(ns) == 1 || n == l {
				out[n] = l
				continue
			}
			base := l
			if len(base) > maxLabel-6 {
				base = strings.TrimRight(base[:maxLabel-6], "-")
			}
			out[n] = base + "-" + hash5(n)
		}
	}
	return out
}
