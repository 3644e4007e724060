package text

import (
	"bytes"
	"slices"
	"strconv"
	"testing"
	"unicode/utf8"
)

func TestToUpper(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"hello, world 42", "HELLO, WORLD 42"},
		{"ALREADY", "ALREADY"},
		{"héllo", "HÉLLO"},
		{"ıi", "II"}, // dotless i upper-cases to one byte: the length changes
	} {
		in := []byte(tc.in)
		if got := toUpper(in); string(got) != tc.want {
			t.Errorf("toUpper(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// ASCII is upper-cased in place: no copy per message.
	b := []byte("abc")
	if got := toUpper(b); &got[0] != &b[0] || !bytes.Equal(b, []byte("ABC")) {
		t.Errorf("ASCII frame was copied or not changed in place: %q", b)
	}
}

// FuzzToUpper: toUpper agrees with bytes.ToUpper on any input, and leaves
// ASCII frames where they are.
func FuzzToUpper(f *testing.F) {
	for _, s := range []string{"", "a", "hello, world 42", "abcdefghijklmnopqrstuvwxyz`{@[", "héllo wörld, longer than eight", "ıi", "\xff\x80abc"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want := bytes.ToUpper(in)
		ascii := !slices.ContainsFunc(in, func(c byte) bool { return c >= utf8.RuneSelf })
		got := toUpper(bytes.Clone(in))
		if !bytes.Equal(got, want) {
			t.Fatalf("toUpper(%q) = %q, bytes.ToUpper = %q", in, got, want)
		}
		if ascii && len(in) > 0 {
			b := bytes.Clone(in)
			if got := toUpper(b); &got[0] != &b[0] {
				t.Fatalf("ASCII %q was copied", in)
			}
		}
	})
}

func BenchmarkToUpper(b *testing.B) {
	for _, n := range []int{16, 1024} {
		f := bytes.Repeat([]byte("Hello, world! "), n/14+1)[:n]
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				toUpper(f)
			}
		})
	}
}
