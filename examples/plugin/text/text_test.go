package text

import (
	"bytes"
	"testing"
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
