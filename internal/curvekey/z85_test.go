package curvekey

import (
	"bytes"
	"errors"
	"testing"
)

func TestZ85RFCVector(t *testing.T) {
	raw := []byte{0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B}
	s, err := EncodeZ85(raw)
	if err != nil || s != "HelloWorld" {
		t.Fatalf("EncodeZ85 = %q, %v; want HelloWorld", s, err)
	}
	b, err := DecodeZ85("HelloWorld")
	if err != nil || !bytes.Equal(b, raw) {
		t.Fatalf("DecodeZ85 = %x, %v; want %x", b, err, raw)
	}
}

func TestZ85Bad(t *testing.T) {
	for _, s := range []string{"Hell", "HelloWorl", "Hello Worl", "Hell\"World", "%%%%%", "#####"} {
		if _, err := DecodeZ85(s); !errors.Is(err, ErrZ85) {
			t.Errorf("DecodeZ85(%q) err = %v, want ErrZ85", s, err)
		}
	}
	// "%nSc0" is the largest group: 0xFFFFFFFF
	if b, err := DecodeZ85("%nSc0"); err != nil || !bytes.Equal(b, []byte{0xff, 0xff, 0xff, 0xff}) {
		t.Errorf("DecodeZ85(%%nSc0) = %x, %v", b, err)
	}
	if _, err := DecodeZ85("%nSc1"); !errors.Is(err, ErrZ85) {
		t.Errorf("DecodeZ85 over 32 bits: err = %v", err)
	}
	if _, err := EncodeZ85([]byte{1, 2, 3}); !errors.Is(err, ErrZ85) {
		t.Errorf("EncodeZ85 of 3 bytes: err = %v", err)
	}
	if _, err := ParseKey("HelloWorld"); !errors.Is(err, ErrZ85) {
		t.Errorf("ParseKey of 10 chars: err = %v", err)
	}
}

func FuzzZ85(f *testing.F) {
	f.Add([]byte{0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B})
	f.Add([]byte("HelloWorld"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		// As bytes to encode: a round trip when the length allows.
		if s, err := EncodeZ85(b); err == nil {
			back, err := DecodeZ85(s)
			if err != nil || !bytes.Equal(back, b) {
				t.Fatalf("round trip %x -> %q -> %x, %v", b, s, back, err)
			}
		} else if len(b)%4 == 0 {
			t.Fatalf("EncodeZ85(%x): %v", b, err)
		}
		// As text to decode: any success re-encodes to the same text.
		if d, err := DecodeZ85(string(b)); err == nil {
			if s, _ := EncodeZ85(d); s != string(b) {
				t.Fatalf("DecodeZ85(%q) re-encodes to %q", b, s)
			}
		}
	})
}
