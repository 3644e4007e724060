package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTapWeatherClient: `topo tap` on examples/weather.hcl's client
// socket (bound on an ephemeral port here) prints the updates for its
// zip code, received ("in"), with their time.
func TestTapWeatherClient(t *testing.T) {
	bin := buildTopo(t)
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "weather.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	hcl := strings.Replace(string(src), "tcp://127.0.0.1:5556", "tcp://127.0.0.1:0", 1)
	if hcl == string(src) {
		t.Fatal("examples/weather.hcl no longer binds tcp://127.0.0.1:5556: update the test")
	}
	file := filepath.Join(t.TempDir(), "weather.hcl")
	if err := os.WriteFile(file, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	// Enough updates that the client runs until the test stops it.
	cmd, addr := startApplyHTTP(t, bin, file, "-http-tap", "-var", "updates=1000000")
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		waitExit(t, cmd, 30*time.Second)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "tap", "-addr", addr, "-n", "3", "weather-client.in").CombinedOutput()
	if err != nil {
		t.Fatalf("topo tap: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got %q", out)
	}
	for _, l := range lines {
		// 15:04:05.000000 in  "10001 23 45"
		f := strings.Fields(l)
		if len(f) < 3 || len(f[0]) != len("15:04:05.000000") || f[1] != "in" || f[2] != `"10001` {
			t.Errorf("tap line %q: want time, in, and an update for 10001", l)
		}
	}

	// json: the endpoint's lines, base64 frames.
	out, err = exec.CommandContext(ctx, bin, "tap", "-addr", addr, "-n", "1", "-format", "json", "weather-client.in").Output()
	if err != nil {
		t.Fatalf("topo tap -format json: %v\n%s", err, out)
	}
	var l struct {
		Time   time.Time `json:"time"`
		Dir    string    `json:"dir"`
		Frames [][]byte  `json:"frames"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &l); err != nil || l.Dir != "in" || len(l.Frames) != 1 || !strings.HasPrefix(string(l.Frames[0]), "10001 ") || l.Time.IsZero() {
		t.Errorf("json tap line %q (%v): %+v", out, err, l)
	}

	// hex, and the errors a user meets.
	out, err = exec.CommandContext(ctx, bin, "tap", "-addr", addr, "-n", "1", "-format", "hex", "weather-client.in").Output()
	if err != nil || !strings.Contains(string(out), " in  3130303031") { // "10001"
		t.Errorf("topo tap -format hex: %v %q", err, out)
	}
	for _, c := range []struct{ arg, want string }{
		{"weather-client.nope", `no socket "nope"`},
		{"nobody.in", `no node instance "nobody"`},
		{"weather-client", "want NODE.SOCKET"},
	} {
		out, err := exec.CommandContext(ctx, bin, "tap", "-addr", addr, c.arg).CombinedOutput()
		if code := tapExit(err); code != 1 || !strings.Contains(string(out), c.want) {
			t.Errorf("topo tap %s: exit %d, %q; want 1 and %q", c.arg, code, out, c.want)
		}
	}
}

// TestTapNeedsHTTPTap: without -http-tap, apply serves no /v1/tap, and
// topo tap says how to get one.
func TestTapNeedsHTTPTap(t *testing.T) {
	bin := buildTopo(t)
	addr := applyHTTP(t, bin)
	out, err := exec.Command(bin, "tap", "-addr", addr, "sink.in").CombinedOutput()
	if code := tapExit(err); code != 1 || !strings.Contains(string(out), "-http-tap") {
		t.Errorf("topo tap without -http-tap: exit %d, %q", code, out)
	}
}

// TestTapFastEdgeSkips: a tap on a fast edge (generate → count, 3M
// messages over tcp, a ring of 16) does not hold the run up: apply
// completes, every message is counted, and the tap reports what it
// skipped.
func TestTapFastEdgeSkips(t *testing.T) {
	tapFastEdge(t, "goroutine", "sink.in", "in")
}

// TestTapProcessNode: `topo tap` on a node with isolation = "process"
// (a fast generate in its own process, 3M messages over tcp, a ring of
// 16): the tap streams from the node's process what it sends ("out"),
// the run completes with every message counted, and the tap reports
// what it skipped, on either side of the plugin protocol.
func TestTapProcessNode(t *testing.T) {
	tapFastEdge(t, "process", "gen.out", "out")
}

// tapFastEdge runs generate (with the given isolation) → count, 3M
// 8-byte messages over tcp, under apply -http-tap, with `topo tap -ring
// 16` on sock, and checks that the run completes and that the tap shows
// some messages, each in direction dir with a time and one 8-byte frame,
// and skips some.
func tapFastEdge(t *testing.T, isolation, sock, dir string) {
	t.Helper()
	bin := buildTopo(t)
	const n = 3_000_000
	file := filepath.Join(t.TempDir(), "fast.hcl")
	if err := os.WriteFile(file, []byte(`node "gen" {
  type      = "generate"
  isolation = "`+isolation+`"
  messages  = 3000000
  size      = 8
  socket "out" {
    type = "PUSH"
    bind = "tcp://127.0.0.1:0"
  }
}

node "sink" {
  type   = "count"
  expect = 3000000
  socket "in" {
    type    = "PULL"
    connect = node.gen.out
  }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, addr := startApplyHTTP(t, bin, file, "-http-tap")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	tap := exec.CommandContext(ctx, bin, "tap", "-addr", addr, "-n", "0", "-ring", "16", "-format", "json", sock)
	var tapOut strings.Builder
	tap.Stdout, tap.Stderr = &tapOut, &tapOut
	if err := tap.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if tap.ProcessState == nil {
			_ = tap.Process.Kill()
			_ = tap.Wait()
		}
	}()
	if code := waitExit(t, cmd, 100*time.Second); code != 0 {
		t.Fatalf("apply with a tap attached to %s (isolation %s): exit %d", sock, isolation, code)
	}
	if err := tap.Wait(); err != nil { // the run ended: so does the tap
		t.Fatalf("topo tap: %v\n%s", err, tapOut.String())
	}
	var msgs, skipped uint64
	for _, l := range strings.Split(strings.TrimSpace(tapOut.String()), "\n") {
		var tl struct {
			Time    *time.Time `json:"time"`
			Dir     string     `json:"dir"`
			Frames  [][]byte   `json:"frames"`
			Skipped uint64     `json:"skipped"`
		}
		if err := json.Unmarshal([]byte(l), &tl); err != nil {
			t.Fatalf("tap line %q: %v", l, err)
		}
		if tl.Dir != "" {
			msgs++
			if tl.Dir != dir || len(tl.Frames) != 1 || len(tl.Frames[0]) != 8 || tl.Time == nil || tl.Time.IsZero() {
				t.Errorf("tap line %q: want %s, a time and one 8-byte frame", l, dir)
			}
		}
		skipped += tl.Skipped
	}
	if msgs == 0 || skipped == 0 || msgs+skipped > n {
		t.Errorf("tap saw %d messages and skipped %d of %d: want some of each", msgs, skipped, n)
	}
	t.Logf("tap: %d messages shown, %d skipped, of %d", msgs, skipped, n)
}

// tapExit is a command's exit status from its error (0 for nil).
func tapExit(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestApplyHTTPTapNeedsHTTP: -http-tap alone is a usage error.
func TestApplyHTTPTapNeedsHTTP(t *testing.T) {
	p := writeHCL(t, `node "x" {
  type = "hello-client"
}
`)
	code, _, stderr := applyRun(t, nil, "-no-color", "-http-tap", p)
	if code != 1 || !strings.Contains(stderr, "-http-tap needs -http") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
