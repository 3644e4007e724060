package observe_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	rtmetrics "runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/topo-zmq/topo/internal/benchpair"
	"github.com/topo-zmq/topo/internal/lockedbuf"
	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/observe"
)

// BenchmarkScrape200 scrapes /metrics of a running 200-node topology (100
// generate → count pairs over inproc, every node running): the issue's
// target is under 50 ms a scrape.
func BenchmarkScrape200(b *testing.B) { benchScrape(b, 100, "/metrics") }

// BenchmarkScrapeGenCount is what BenchmarkHTTPOverhead's scraper does
// once a second, /metrics and /v1/status of a generate → count run: its
// CPU per scrape over a second is the share of one core -http costs.
func BenchmarkScrapeGenCount(b *testing.B) { benchScrape(b, 1, "/metrics", "/v1/status") }

// BenchmarkScrape200Handler is BenchmarkScrape200 without the HTTP
// client and connection: the /metrics handler called in the benchmark's
// goroutine, gzip accepted as Prometheus asks. Its ns/op is the time a
// scrape takes the server, its allocations the server's.
func BenchmarkScrape200Handler(b *testing.B) { benchScrape(b, 100, "direct:/metrics") }

func benchScrape(b *testing.B, pairs int, paths ...string) {
	var src strings.Builder
	for i := range pairs {
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
	h := observe.Handler(rt, reg)
	srv := httptest.NewServer(h)
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
	cpu0 := cpuTime()
	for range b.N {
		size = 0
		for _, p := range paths {
			if direct, ok := strings.CutPrefix(p, "direct:"); ok {
				req := httptest.NewRequest("GET", direct, nil)
				req.Header.Set("Accept-Encoding", "gzip")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d", direct, w.Code)
				}
				size += w.Body.Len()
				continue
			}
			resp, err := http.Get(srv.URL + p)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			size += int(n)
		}
	}
	b.ReportMetric(float64(size), "bytes/scrape")
	// CPU time of the process per scrape (the handler, the client, and the
	// generators' 10 msgs/s each in the background): steadier than the
	// wall time on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/scrape")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHTTPOverhead is the throughput target: generate →
// count (10M 16-byte messages) with what apply -http adds (the collector
// on a registry, the endpoints served, /metrics and /v1/status fetched
// every second as Prometheus and topo top would; no tap) against the same
// run without. Each round runs with, without, and without again (the A/A
// control), in an order that goes through all six orders of three, so the
// control shares the rounds, and so the machine, of the ratio it checks:
// median-ratio is the median over rounds of with ÷ without of count's
// steady msgs/s, control-ratio the median of without again ÷ without,
// how far from 1 the method strays here and now; cpu-ratio and
// control-cpu-ratio are the same for the process's CPU time per run.
// Run it with -benchtime a multiple of 6x.
func BenchmarkHTTPOverhead(b *testing.B) {
	for _, ep := range []string{"tcp://127.0.0.1:0", "inproc://overhead"} {
		b.Run(ep[:strings.Index(ep, ":")], func(b *testing.B) {
			overheadRounds(b, ep, []string{partNone, partAll, partNone}, []string{"", "median", "control"})
		})
	}
}

// BenchmarkHTTPOverheadParts turns on one part of -http at a time, over
// tcp and inproc, in the same rounds as two runs without (an A/A
// control): the collector registered and nothing else (1-ratio), the
// endpoints served and not fetched (2-ratio), everything as in
// BenchmarkHTTPOverhead (3-ratio), each ÷ the round's run without;
// control-ratio is the second run without ÷ the first. Rounds rotate the
// order.
func BenchmarkHTTPOverheadParts(b *testing.B) {
	for _, ep := range []string{"tcp://127.0.0.1:0", "inproc://overhead"} {
		b.Run(ep[:strings.Index(ep, ":")], func(b *testing.B) {
			overheadRounds(b, ep, []string{partNone, partRegisterer, partServer, partAll, partNone}, []string{"", "1", "2", "3", "control"})
		})
	}
}

// What genCount turns on of -http.
const (
	partNone       = "none"       // nothing
	partRegisterer = "registerer" // Options.Registerer: the collector registered, never scraped
	partServer     = "server"     // that and the endpoints served, never fetched
	partAll        = "all"        // that and /metrics, /v1/status fetched once a second
)

// overheadRounds runs b.N rounds of genCount, one run of each part per
// round (parts[0] the baseline), and reports the median over rounds of
// each part's rate and CPU time ÷ the baseline's as "<name>-ratio" and
// "<name>-cpu-ratio" (names[i], "" for the baseline), with the min and
// max of the first ratio and the median rates of the first two parts as
// subject-rate and baseline-rate. The order within a round goes through
// every permutation (three parts) or rotates (more).
func overheadRounds(b *testing.B, ep string, parts, names []string) {
	rates := make([][]float64, len(parts))
	cpus := make([][]float64, len(parts))
	logs := make([][]string, len(parts))
	gcs := make([]float64, len(parts)) // GC cycles, summed over the rounds
	perms := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	for i := range b.N {
		order := make([]int, len(parts))
		for k := range order {
			order[k] = (i + k) % len(parts)
		}
		if len(parts) == 3 {
			order = perms[i%len(perms)]
		}
		for _, j := range order {
			c0, g0 := cpuTime(), gcCycles()
			r := genCount(b, ep, parts[j])
			c := (cpuTime() - c0).Seconds()
			gcs[j] += float64(gcCycles() - g0)
			rates[j] = append(rates[j], r)
			cpus[j] = append(cpus[j], c)
			logs[j] = append(logs[j], fmt.Sprintf("%.0f/%.2f", r, c))
		}
	}
	for j := 1; j < len(parts); j++ {
		var rr, cr []float64
		for i := range rates[j] {
			rr = append(rr, rates[j][i]/rates[0][i])
			cr = append(cr, cpus[j][i]/cpus[0][i])
		}
		b.ReportMetric(benchpair.Median(rr), names[j]+"-ratio")
		b.ReportMetric(benchpair.Median(cr), names[j]+"-cpu-ratio")
		if j == 1 {
			b.ReportMetric(slices.Min(rr), "min-ratio")
			b.ReportMetric(slices.Max(rr), "max-ratio")
		}
	}
	b.ReportMetric(benchpair.Median(rates[1]), "subject-rate")
	b.ReportMetric(benchpair.Median(rates[0]), "baseline-rate")
	// Each run's rate and CPU seconds, logged (-test.v) so batches can be
	// pooled.
	for j := range parts {
		b.Logf("runs (msgs/s / cpu s), %s: %s", parts[j], strings.Join(logs[j], " "))
		b.Logf("GC cycles per run, %s: %.1f", parts[j], gcs[j]/float64(b.N))
	}
}

// gcCycles is how many GC cycles the process has completed.
func gcCycles() uint64 {
	s := []rtmetrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64()
}

var rateRe = regexp.MustCompile(`\((\d+) msgs/s\)`)

// genCount runs generate → count once with part of the -http machinery
// on (partNone, ...) and returns count's steady rate.
func genCount(b *testing.B, ep, part string) float64 {
	// 10M messages: a run of 1.5–3 s here, so the 1 s scrapes land in it
	// as often as they do in a long run.
	const n = 10_000_000
	src := `
node "count" {
  type   = "count"
  expect = ` + itoa(n) + `
  socket "in" {
    type = "PULL"
    bind = "` + ep + `"
  }
}
node "generate" {
  type     = "generate"
  messages = ` + itoa(n) + `
  size     = 16
  socket "out" {
    type    = "PUSH"
    connect = node.count.in
  }
}
`
	var out lockedbuf.Buffer
	opts := runtime.Options{Registry: registry(), Stdout: &out}
	var reg *prometheus.Registry
	if part != partNone {
		reg = prometheus.NewRegistry()
		opts.Registerer = reg
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt, err := runtime.Load(ctx, "bench.hcl", []byte(src), opts)
	if err != nil {
		b.Fatal(err)
	}
	if part == partServer || part == partAll {
		srv := httptest.NewServer(observe.Handler(rt, reg))
		defer srv.Close()
		scrapeCtx, stop := context.WithCancel(ctx)
		defer stop()
		if part == partAll {
			go func() {
				t := time.NewTicker(time.Second)
				defer t.Stop()
				for {
					// A scrape a second, the first a second in, as a
					// scraper with a 1 s interval does; not one at once,
					// which would put a whole scrape inside a run this
					// short.
					select {
					case <-scrapeCtx.Done():
						return
					case <-t.C:
					}
					for _, path := range []string{"/metrics", "/v1/status"} {
						if resp, err := http.Get(srv.URL + path); err == nil {
							_, _ = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
					}
				}
			}()
		}
	}
	if err := rt.Run(ctx); err != nil {
		b.Fatal(err)
	}
	m := rateRe.FindStringSubmatch(out.String())
	if m == nil {
		b.Fatalf("no rate in count's output: %q", out.String())
	}
	r, _ := strconv.ParseFloat(m[1], 64)
	return r
}
