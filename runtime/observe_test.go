package runtime

import (
	"context"
	"testing"
	"time"
)

// TestSocketsAddUpAcrossRestarts: Sockets' counters add up every actor an
// instance had (hoard fails once and restarts), and agree with Status.
func TestSocketsAddUpAcrossRestarts(t *testing.T) {
	for _, iso := range []string{"goroutine", "process"} {
		t.Run(iso, func(t *testing.T) {
			o := Options{Registry: processRegistry(t), BackoffInitial: 10 * time.Millisecond, StatsInterval: time.Hour}
			if iso == "process" {
				o.Launcher = selfLauncher()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			runs := make(chan struct{}, 4)
			o.OnEvent = func(e Event) {
				if e.Instance == "hoard" && e.Kind == EventRunning {
					runs <- struct{}{}
				}
			}
			rt := New(hoardPipeline(t, "error", iso), o)
			done := make(chan error, 1)
			go func() { done <- rt.Run(ctx) }()
			for range 2 {
				select {
				case <-runs:
				case err := <-done:
					t.Fatalf("Run returned %v", err)
				case <-ctx.Done():
					t.Fatal("hoard did not run twice")
				}
			}
			time.Sleep(100 * time.Millisecond) // the second actor moves some messages
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			st := rt.Status()[1]
			socks := rt.Sockets()["hoard"]
			if len(socks) != 2 || socks[0].Name != "in" || socks[1].Name != "out" {
				t.Fatalf("hoard's sockets: %+v", socks)
			}
			in, out := socks[0].Stats, socks[1].Stats
			if st.Restarts != 1 || in.MsgsIn != st.MsgsIn || out.MsgsOut != st.MsgsOut || in.MsgsIn < 5 {
				t.Errorf("restarts %d; socket in %d, out %d; status in %d, out %d", st.Restarts, in.MsgsIn, out.MsgsOut, st.MsgsIn, st.MsgsOut)
			}
			if in.Connects < 2 || out.Connects < 2 {
				t.Errorf("connects in %d, out %d: want one per actor (2)", in.Connects, out.Connects)
			}
			if in.Peers != 0 || len(in.Conns) != 0 {
				t.Errorf("after Run, in has peers %d %v", in.Peers, in.Conns)
			}
		})
	}
}
