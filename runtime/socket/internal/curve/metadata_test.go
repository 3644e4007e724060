package curve

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestMetadataRoundTrip(t *testing.T) {
	m := Metadata{{"Socket-Type", []byte("DEALER")}, {"Identity", nil}, {"X-Topo.run+1_a", []byte{0, 1, 2}}}
	b, err := AppendMetadata(nil, m, 0)
	if err != nil {
		t.Fatal(err)
	}
	// the encoding libzmq's add_property makes
	want := append([]byte("\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00"), "\x0eX-Topo.run+1_a\x00\x00\x00\x03\x00\x01\x02"...)
	if !bytes.Equal(b, want) {
		t.Fatalf("encoding\n got %q\nwant %q", b, want)
	}
	if len(b) != m.EncodedLen() {
		t.Fatalf("EncodedLen %d, encoded %d", m.EncodedLen(), len(b))
	}
	back, err := ParseMetadata(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Fatalf("parsed %q, want %q", back, m)
	}
	if v, ok := back.Get("socket-type"); !ok || string(v) != "DEALER" {
		t.Fatalf("Get(socket-type) = %q, %v", v, ok)
	}
	if _, ok := back.Get("Socket-Typ"); ok {
		t.Fatal("Get of a prefix found something")
	}
}

func TestMetadataBad(t *testing.T) {
	for name, b := range map[string][]byte{
		"zero name":      []byte("\x00\x00\x00\x00\x00"),
		"truncated name": []byte("\x0bSocket"),
		"truncated len":  []byte("\x0bSocket-Type\x00\x00"),
		"value too long": []byte("\x0bSocket-Type\x00\x00\x00\x07DEALER"),
		"huge value len": []byte("\x0bSocket-Type\xff\xff\xff\xffDEALER"),
		"bad name char":  []byte("\x0bSocket Type\x00\x00\x00\x00"),
		"one stray byte": []byte("\x08Identity\x00\x00\x00\x00\x01"),
		"over the limit": append([]byte("\x01a\x00\x00\x04\x00"), make([]byte, 1024)...),
	} {
		max := 0
		if name == "over the limit" {
			max = 512
		}
		if _, err := ParseMetadata(b, max); !errors.Is(err, ErrMetadata) {
			t.Errorf("%s: err = %v, want ErrMetadata", name, err)
		}
	}
	if _, err := AppendMetadata(nil, Metadata{{"", nil}}, 0); !errors.Is(err, ErrMetadata) {
		t.Errorf("empty name: %v", err)
	}
	if _, err := AppendMetadata(nil, Metadata{{"a", make([]byte, DefaultMaxMetadata)}}, 0); !errors.Is(err, ErrMetadata) {
		t.Errorf("oversize value: %v", err)
	}
}

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte("\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00"))
	f.Add([]byte("\x0bSocket-Type\xff\xff\xff\xffDEALER"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMetadata(b, 4096)
		if err != nil {
			return
		}
		back, err := AppendMetadata(nil, m, 4096)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("re-encoding %q gives %q, %v", b, back, err)
		}
	})
}
