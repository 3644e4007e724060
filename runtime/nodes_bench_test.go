package runtime

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkNodes measures the start and stop of idleTopo (N/2 workers each
// pushing to its own print node, nothing flowing) at N = 10, 100, 1,000
// and 2,000 nodes over tcp and inproc: wall time from Run to every node
// running (EventRunning) and to Run's return after the stop, and the
// process CPU time (user + system, getrusage) each took. CPU time is the
// figure to compare on a shared machine: wall time there mostly says how
// busy the other tenants were. One iteration is one topology; run it with
// -benchtime=Nx and compare medians of interleaved runs.
func BenchmarkNodes(b *testing.B) {
	for _, tr := range []string{"tcp", "inproc"} {
		for _, nodes := range []int{10, 100, 1000, 2000} {
			b.Run(fmt.Sprintf("%s-%d", tr, nodes), func(b *testing.B) {
				ep := func(int) string { return "tcp://127.0.0.1:0" }
				if tr == "inproc" {
					ep = func(i int) string { return fmt.Sprintf("inproc://nodes-%d", i) }
				}
				reg := builtinRegistry(b)
				var ready, readyCPU, stop, stopCPU time.Duration
				for i := 0; i < b.N; i++ {
					topo := idleTopo(nodes/2, ep)
					running := 0
					all := make(chan struct{})
					// OnEvent calls are serialised by the runtime.
					rt := New(topo, Options{Registry: reg, OnEvent: func(e Event) {
						if e.Kind == EventRunning {
							if running++; running == len(topo.Instances) {
								close(all)
							}
						}
					}})
					ctx, cancel := context.WithCancel(context.Background())
					errc := make(chan error, 1)
					c0, t0 := cpuTime(b), time.Now()
					go func() { errc <- rt.Run(ctx) }()
					select {
					case <-all:
					case err := <-errc:
						cancel()
						b.Fatalf("Run returned early: %v", err)
					case <-time.After(60 * time.Second):
						cancel()
						b.Fatal("not all nodes running after 60s")
					}
					c1, t1 := cpuTime(b), time.Now()
					cancel()
					if err := <-errc; err != nil {
						b.Fatal(err)
					}
					c2, t2 := cpuTime(b), time.Now()
					ready, readyCPU = ready+t1.Sub(t0), readyCPU+c1-c0
					stop, stopCPU = stop+t2.Sub(t1), stopCPU+c2-c1
				}
				n := float64(b.N)
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 / n }
				b.ReportMetric(ms(ready), "ms-to-running")
				b.ReportMetric(ms(readyCPU), "cpu-ms-to-running")
				b.ReportMetric(ms(stop), "ms-shutdown")
				b.ReportMetric(ms(stopCPU), "cpu-ms-shutdown")
			})
		}
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
