package observe

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsGzip: /metrics is gzipped for a client that accepts gzip
// (decoding to the same text a plain answer has), plain for one that
// does not or refuses it with q=0.
func TestMetricsGzip(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "topo_test_total", Help: "A test counter."})
	c.Add(3)
	reg.MustRegister(c)
	h := Metrics(reg)
	get := func(accept string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("Accept-Encoding %q: %d", accept, w.Code)
		}
		return w
	}
	plain := get("")
	if plain.Header().Get("Content-Encoding") != "" || !strings.Contains(plain.Body.String(), "topo_test_total 3\n") {
		t.Fatalf("plain answer: %v %q", plain.Header(), plain.Body.String())
	}
	for _, a := range []string{"gzip", "deflate, gzip;q=0.5", "*", "GZIP ; q=1"} {
		w := get(a)
		if w.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q", a, w.Header().Get("Content-Encoding"))
			continue
		}
		zr, err := gzip.NewReader(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil || string(b) != plain.Body.String() {
			t.Errorf("Accept-Encoding %q: decoded %q, %v; want %q", a, b, err, plain.Body.String())
		}
	}
	for _, a := range []string{"gzip;q=0", "identity", "deflate, br"} {
		if w := get(a); w.Header().Get("Content-Encoding") != "" || w.Body.String() != plain.Body.String() {
			t.Errorf("Accept-Encoding %q: %v %q, want the plain answer", a, w.Header(), w.Body.String())
		}
	}
}

// FuzzAcceptsGzip: any Accept-Encoding value is parsed without a panic.
func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "*;q=0.1, identity", ";;,,=", "gzip;q=NaN", "gzip;q=", "x;q=1;q=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = acceptsGzip([]string{s})
	})
}
