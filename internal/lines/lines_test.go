package lines

import (
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	var got []string
	rest := Split([]byte("a\n\nbc\r\npartial"), func(l []byte) { got = append(got, string(l)) })
	if want := []string{"a\n", "\n", "bc\r\n"}; !reflect.DeepEqual(got, want) || string(rest) != "partial" {
		t.Errorf("Split = %q, rest %q", got, rest)
	}
	if rest := Split(nil, func([]byte) { t.Error("emit on no input") }); len(rest) != 0 {
		t.Errorf("rest = %q", rest)
	}
}
