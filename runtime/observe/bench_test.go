package observe_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/observe"
)

// BenchmarkScrape200 scrapes /metrics of a running 200-node topology (100
// generate → count pairs over inproc, every node running): the issue's
// target is under 50 ms a scrape.
func BenchmarkScrape200(b *testing.B) {
	var src strings.Builder
	for i := range 100 {
		s := strconv.Itoa(i)
		src.WriteString(`node "gen` + s + `" {
  type = "generate"
  rate = 10
  socket "out" {
    type = "PUSH"
    bind = "inproc://b` + s + `"
  }
}
node "sink` + s + `" {
  type = "count"
  socket "in" {
    type    = "PULL"
    connect = node.gen` + s + `.out
  }
}
`)
	}
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rt, err := runtime.Load(ctx, "bench.hcl", []byte(src.String()), runtime.Options{Registry: registry(), Registerer: reg})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(observe.Handler(rt, reg))
	defer srv.Close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rt.Run(runCtx) }()
	defer func() { stop(); <-done }()
	for {
		if short, ok := rt.Readiness(); ok && len(short) == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.ResetTimer()
	size := 0
	for range b.N {
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		size = int(n)
	}
	b.ReportMetric(float64(size), "bytes/scrape")
}
