package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/topo-zmq/topo/runtime/pluginhost"
)

// Runtime.Tap: a tap on a goroutine node's socket sees what the node
// sends ("out") and what it receives ("in") as the application sees
// them; a ring of 1 that is not read skips and counts; Close detaches;
// unknown names are errors naming them.
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
`
	ctx := testCtx(t, 60*time.Second)
	rt, err := Load(ctx, "tap.hcl", []byte(src), Options{Registry: processRegistry(t)})
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

// startTapped runs src and returns the runtime once Tap answers, and a
// function that stops the run and returns Run's error.
func startTapped(t *testing.T, ctx context.Context, src string, opts Options) (*Runtime, func() error) {
	t.Helper()
	rt, err := Load(ctx, "tap.hcl", []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rt.Run(runCtx) }()
	var once bool
	var runErr error
	end := func() error {
		if !once {
			once = true
			stop()
			runErr = <-done
		}
		return runErr
	}
	t.Cleanup(func() { _ = end() })
	return rt, end
}

// tapUntilRunning retries Tap while the run is still starting.
func tapUntilRunning(t *testing.T, ctx context.Context, rt *Runtime, inst, sock string, ring int) *Tap {
	t.Helper()
	for {
		tp, err := rt.Tap(inst, sock, ring)
		if err == nil {
			t.Cleanup(tp.Close)
			return tp
		}
		if !errors.Is(err, ErrNotRunning) {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("the run did not start")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// checkTapped reads one message from tp and checks its direction and
// frames (want: the frames' contents, or nil for one frame of size bytes).
func checkTapped(t *testing.T, ctx context.Context, tp *Tap, out bool, size int, prefix string) {
	t.Helper()
	select {
	case m := <-tp.C:
		if m.Out != out || len(m.Frames) != 1 || len(m.Frames[0]) != size || m.Time.IsZero() || m.Truncated ||
			!strings.HasPrefix(string(m.Frames[0]), prefix) {
			t.Errorf("tapped %+v, want out=%v and one %d-byte frame starting %q", m, out, size, prefix)
		}
		if age := time.Since(m.Time); age < 0 || age > time.Minute {
			t.Errorf("tapped message's time is %v from now", age)
		}
	case <-ctx.Done():
		t.Fatal("no tapped message")
	}
}

// waitSkipped waits until tp counted skips and checks the ring holds
// exactly its size.
func waitSkipped(t *testing.T, ctx context.Context, tp *Tap, ring int) {
	t.Helper()
	for tp.skipped.Load() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("a full ring skipped nothing")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if len(tp.C) != ring {
		t.Errorf("ring of %d holds %d", ring, len(tp.C))
	}
	if n := tp.Skipped(); n == 0 {
		t.Errorf("Skipped() = %d", n)
	}
}

// TestTapProcessNode: a node with isolation = "process" is tapped in its
// own process over the plugin protocol's Tap stream, with the same
// messages, directions and skip counting as a goroutine node's tap; the
// tap outlives a restart of the node's process, and ends with the run.
func TestTapProcessNode(t *testing.T) {
	src := `
node "gen" {
  type      = "generate"
  isolation = "process"
  rate      = 500
  size      = 8
  socket "out" {
    type = "PUSH"
    bind = "tcp://127.0.0.1:0"
  }
}
node "sink" {
  type      = "count"
  isolation = "process"
  socket "in" {
    type    = "PULL"
    connect = node.gen.out
  }
}
`
	ctx := testCtx(t, 90*time.Second)
	l := &pidLauncher{Launcher: selfLauncher(), pids: map[string][]int{}}
	rt, end := startTapped(t, ctx, src, Options{Registry: processRegistry(t), Launcher: l})
	in := tapUntilRunning(t, ctx, rt, "sink", "in", 8)
	out := tapUntilRunning(t, ctx, rt, "gen", "out", 8)
	stuck := tapUntilRunning(t, ctx, rt, "gen", "out", 1)
	checkTapped(t, ctx, in, false, 8, "")
	checkTapped(t, ctx, out, true, 8, "")
	waitSkipped(t, ctx, stuck, 1)
	stuck.Close()
	if _, err := rt.Tap("gen", "nope", 0); !errors.Is(err, ErrNoSuchSocket) {
		t.Errorf("Tap of an unknown socket: %v", err)
	}

	// Kill the sink's process: the runtime restarts the node, and the
	// tap, still open, sees the new process's messages.
	pid := l.pid("sink", 0)
	if pid == 0 {
		t.Fatal("no pid for the process node sink")
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	for l.pid("sink", 1) == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("sink was not restarted")
		case <-time.After(20 * time.Millisecond):
		}
	}
	// Copied after the new process started: it can only be its message.
	since := time.Now()
	for got := false; !got; {
		select {
		case m := <-in.C:
			got = m.Time.After(since) && !m.Out && len(m.Frames) == 1
		case <-ctx.Done():
			t.Fatal("the tap saw nothing from the restarted process")
		}
	}

	if err := end(); err != nil {
		t.Fatal(err)
	}
	for _, tp := range []*Tap{in, out} {
		select {
		case <-tp.Done():
		default:
			t.Error("a tap outlives the run")
		}
	}
}

// TestTapPluginNode: a node of a real plugin (examples/plugin, built from
// source) is tapped in its process: the tap on text.upper's "out" sees
// what the plugin's node sent, upper-cased and prefixed.
func TestTapPluginNode(t *testing.T) {
	_, file, _, _ := goruntime.Caller(0)
	dir, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "examples", "plugin"))
	if err != nil {
		t.Fatal(err)
	}
	src := `
plugin "text" {
  source = "` + dir + `"
}
node "gen" {
  type = "generate"
  rate = 500
  size = 8
  socket "out" {
    type = "PUSH"
    bind = "tcp://127.0.0.1:0"
  }
}
node "shout" {
  type   = "text.upper"
  prefix = "hey "
  socket "in" {
    type    = "PULL"
    connect = node.gen.out
  }
  socket "out" {
    type = "PUSH"
    bind = "tcp://127.0.0.1:0"
  }
}
node "sink" {
  type = "count"
  socket "in" {
    type    = "PULL"
    connect = node.shout.out
  }
}
`
	ctx := testCtx(t, 4*time.Minute)
	host := pluginhost.New(pluginhost.Options{Self: []string{os.Args[0]}, CacheDir: t.TempDir()})
	rt, end := startTapped(t, ctx, src, Options{Registry: processRegistry(t), Launcher: host})
	out := tapUntilRunning(t, ctx, rt, "shout", "out", 8)
	in := tapUntilRunning(t, ctx, rt, "shout", "in", 8)
	checkTapped(t, ctx, out, true, 12, "HEY ")
	checkTapped(t, ctx, in, false, 8, "")
	if err := end(); err != nil {
		t.Fatal(err)
	}
}
