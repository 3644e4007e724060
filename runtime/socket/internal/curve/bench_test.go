package curve

import (
	"fmt"
	"testing"
)

// go test -run '^$' -bench . -benchmem ./runtime/socket/internal/curve/
func BenchmarkSeal(b *testing.B) {
	for _, n := range []int{16, 1024, 64 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			cc, sc := pair(b)
			cs, _, _ := handshake(b, cc, sc)
			payload := make([]byte, n)
			dst := make([]byte, 0, SealedLen(n))
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cs.Seal(dst[:0], 0, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{16, 1024, 64 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			cc, sc := pair(b)
			cs, ss, _ := handshake(b, cc, sc)
			payload := make([]byte, n)
			body, _ := cs.Seal(nil, 0, payload)
			dst := make([]byte, 0, n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				ss.recvNonce = 0 // reopen the same body: measures the crypto, not the nonce check
				if _, _, err := ss.Open(dst[:0], body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkHandshake(b *testing.B) {
	cc, sc := pair(b)
	b.ReportAllocs()
	for b.Loop() {
		handshake(b, cc, sc)
	}
}

func BenchmarkSealFrame(b *testing.B) {
	for _, n := range []int{16, 1024, 64 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			cc, sc := pair(b)
			cs, _, _ := handshake(b, cc, sc)
			payload := make([]byte, n)
			dst := make([]byte, 0, 9+SealedLen(n))
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cs.SealFrame(dst[:0], 0, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpenInPlace(b *testing.B) {
	for _, n := range []int{16, 1024, 64 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			cc, sc := pair(b)
			cs, ss, _ := handshake(b, cc, sc)
			body, _ := cs.Seal(nil, 0, make([]byte, n))
			work := make([]byte, len(body))
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				copy(work, body) // as a reader would have just read it
				ss.recvNonce = 0
				if _, _, err := ss.OpenInPlace(work); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
