package observe

import (
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics serves g in the Prometheus exposition formats (promhttp), and
// gzips the answer at gzip.BestSpeed for a client that accepts gzip, as
// Prometheus does: promhttp's own gzip, at the default level, was a
// quarter of a 200-node scrape's CPU, and a scrape travels over a local
// network where the extra bytes cost less (docs/BENCHMARKS.md,
// Observability).
func Metrics(g prometheus.Gatherer) http.Handler {
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, DisableCompression: true})
	pool := &sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
		return w
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if !acceptsGzip(req.Header.Values("Accept-Encoding")) {
			h.ServeHTTP(w, req)
			return
		}
		gz := pool.Get().(*gzip.Writer)
		gz.Reset(w)
		defer pool.Put(gz)
		w.Header().Set("Content-Encoding", "gzip")
		h.ServeHTTP(&gzipResponse{ResponseWriter: w, gz: gz}, req)
		_ = gz.Close()
	})
}

// acceptsGzip reports whether Accept-Encoding values list gzip (or *)
// with a quality above 0.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for _, tok := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(tok), ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "gzip" && name != "*" {
				continue
			}
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			if q > 0 {
				return true
			}
		}
	}
	return false
}

// gzipResponse writes the body through gz.
type gzipResponse struct {
	http.ResponseWriter
	gz *gzip.Writer
}

func (r *gzipResponse) WriteHeader(code int) {
	r.Header().Del("Content-Length") // of the plain body, if set
	r.ResponseWriter.WriteHeader(code)
}

func (r *gzipResponse) Write(p []byte) (int, error) { return r.gz.Write(p) }
