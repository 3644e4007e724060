package runtime

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Runtime.Tap: a tap on a goroutine node's socket sees what the node
// sends ("out") and what it receives ("in") as the application sees
// them; a ring of 1 that is not read skips and counts; Close detaches;
// a process node and unknown names are errors naming them.
func TestTap(t *testing.T) {
	src := `
node "gen" {
  type = "generate"
  rate = 500
  size = 8
  socket "out" {
    type = "PUSH"
    bind = "tcp://127.0.0.1:0"
  }
}
node "sink" {
  type = "count"
  socket "in" {
    type    = "PULL"
    connect = node.gen.out
  }
}
node "other" {
  type      = "count"
  isolation = "process"
  socket "in" {
    type = "PULL"
    bind = "tcp://127.0.0.1:0"
  }
}
`
	ctx := testCtx(t, 60*time.Second)
	rt, err := Load(ctx, "tap.hcl", []byte(src), Options{Registry: processRegistry(t), Launcher: selfLauncher()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Tap("sink", "in", 0); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Tap before Run: %v, want ErrNotRunning", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rt.Run(runCtx) }()
	defer func() { stop(); <-done }()
	var in, out, stuck *Tap
	for in == nil {
		if in, err = rt.Tap("sink", "in", 8); errors.Is(err, ErrNotRunning) {
			time.Sleep(5 * time.Millisecond)
			continue
		} else if err != nil {
			t.Fatal(err)
		}
	}
	defer in.Close()
	if out, err = rt.Tap("gen", "out", 8); err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if stuck, err = rt.Tap("gen", "out", 1); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tap *Tap
		out bool
	}{{in, false}, {out, true}} {
		select {
		case m := <-c.tap.C:
			if m.Out != c.out || len(m.Frames) != 1 || len(m.Frames[0]) != 8 || m.Time.IsZero() || m.Truncated {
				t.Errorf("tapped %+v, want out=%v and one 8-byte frame", m, c.out)
			}
		case <-ctx.Done():
			t.Fatal("no tapped message")
		}
	}
	// The ring of 1 filled at once and skips what follows.
	for stuck.skipped.Load() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("a full ring skipped nothing")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if len(stuck.C) != 1 {
		t.Errorf("ring of 1 holds %d", len(stuck.C))
	}
	if n := stuck.Skipped(); n == 0 {
		t.Errorf("Skipped() = %d", n)
	}
	stuck.Close()
	stuck.Close() // twice is fine
	select {
	case <-stuck.Done():
	default:
		t.Error("Done not closed by Close")
	}
	for _, c := range []struct {
		node, sock string
		want       error
		text       string
	}{
		{"other", "in", ErrTapNotSupported, "tap other.in"},
		{"nobody", "in", ErrNoSuchSocket, `no node instance "nobody"`},
		{"sink", "nope", ErrNoSuchSocket, `node "sink" has no socket "nope"`},
	} {
		_, err := rt.Tap(c.node, c.sock, 0)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("Tap(%s, %s): %v, want %v naming %q", c.node, c.sock, err, c.want, c.text)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil
	select {
	case <-in.Done():
	default:
		t.Error("a tap outlives the run")
	}
}
