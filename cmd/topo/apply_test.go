package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"

	"github.com/topo-zmq/topo/runtime"
)

// applyRun runs `topo apply args...` in-process with a deadline.
func applyRun(t *testing.T, sigs chan os.Signal, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb lockedbuf.Buffer
	c := &cli{stdout: &out, stderr: &errb, stdin: strings.NewReader(""),
		getenv: func(string) string { return "" }, environ: func() []string { return nil }, signals: sigs}
	done := make(chan int, 1)
	go func() { done <- dispatch(context.Background(), c, append([]string{"apply"}, args...)) }()
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("topo apply %v did not finish\nstdout:\n%s\nstderr:\n%s", args, out.String(), errb.String())
	}
	return code, out.String(), errb.String()
}

func writeHCL(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "t.hcl")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const helloHCL = `
node "server" {
  type = "hello-server"
  socket "in" {
    type = "REP"
    bind = ["%s"]
  }
}
node "client" {
  type     = "hello-client"
  requests = var.n
  socket "out" {
    type    = "REQ"
    connect = [node.server.in]
  }
}
variable "n" {
  type    = number
  default = 3
}
`

func TestApplyHello(t *testing.T) {
	p := writeHCL(t, fmt.Sprintf(helloHCL, "tcp://127.0.0.1:0"))
	code, stdout, stderr := applyRun(t, nil, "-no-color", "-var", "n=4", p)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for i := range 4 {
		if want := fmt.Sprintf("client | Received reply %d [ World ]\n", i); !strings.Contains(stdout, want) {
			t.Errorf("missing %q in stdout:\n%s", want, stdout)
		}
	}
	for _, want := range []string{"NODE", "server  stopped", "client  finished"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
}

func TestApplyJSONLogs(t *testing.T) {
	p := writeHCL(t, fmt.Sprintf(helloHCL, "inproc://hello"))
	code, _, stderr := applyRun(t, nil, "-no-color", "-log-format", "json", p)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	logs, _, _ := strings.Cut(stderr, "\nNODE")
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		n++
	}
	if n == 0 {
		t.Errorf("no log lines in:\n%s", stderr)
	}
}

func TestApplyInvalidFile(t *testing.T) {
	p := writeHCL(t, `node "x" {
  type = "hello-clint"
}
`)
	code, _, stderr := applyRun(t, nil, "-no-color", p)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"hello-clint", `"hello-client"`, "line 2"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestApplyPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep := "tcp://" + l.Addr().String()
	p := writeHCL(t, fmt.Sprintf(helloHCL, ep))
	code, _, stderr := applyRun(t, nil, "-no-color", p)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	for _, want := range []string{"server", `socket "in"`, ep, "in use"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestApplySignalStopsCleanly(t *testing.T) {
	p := writeHCL(t, `
node "server" {
  type  = "hello-server"
  count = 2
  socket "in" {
    type = "REP"
    bind = ["tcp://127.0.0.1:0"]
  }
}
node "worker" {
  type = "worker"
  socket "in" {
    type    = "PULL"
    connect = ["inproc://nobody"]
  }
  socket "out" {
    type    = "PUSH"
    connect = ["inproc://nobody-either"]
  }
}
`)
	sigs := make(chan os.Signal, 2)
	go func() {
		time.Sleep(300 * time.Millisecond)
		sigs <- syscall.SIGINT
	}()
	start := time.Now()
	code, _, stderr := applyRun(t, sigs, "-no-color", "-ready-timeout", "100ms", p)
	if code != 0 {
		t.Fatalf("exit %d, want 0 after a clean interrupt\n%s", code, stderr)
	}
	if d := time.Since(start); d > 300*time.Millisecond+time.Second {
		t.Errorf("stopping took %s after the signal, want < 1s", d-300*time.Millisecond)
	}
	if !strings.Contains(stderr, "interrupted") || !strings.Contains(stderr, "server[1]  stopped") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestApplySecondSignalForces: a second Ctrl-C while the nodes are still
// stopping forces the exit with 130. Both signals are queued at once, so
// the second is waiting as soon as the first has cancelled the run, long
// before three nodes can have stopped.
func TestApplySecondSignalForces(t *testing.T) {
	p := writeHCL(t, `
node "server" {
  type  = "hello-server"
  count = 2
  socket "in" {
    type = "REP"
    bind = ["tcp://127.0.0.1:0"]
  }
}
node "client" {
  type     = "hello-client"
  requests = 1000000
  socket "out" {
    type    = "REQ"
    connect = node.server.in
  }
}
`)
	sigs := make(chan os.Signal, 2)
	go func() {
		time.Sleep(500 * time.Millisecond)
		sigs <- syscall.SIGINT
		sigs <- syscall.SIGINT
	}()
	code, _, stderr := applyRun(t, sigs, "-no-color", p)
	if code != 130 {
		t.Fatalf("exit %d, want 130 after a second interrupt\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "forced exit") {
		t.Errorf("stderr does not say the exit was forced:\n%s", stderr)
	}
}

func TestApplyUsage(t *testing.T) {
	if code, _, _ := applyRun(t, nil); code != 1 {
		t.Errorf("no FILE: exit %d, want 1", code)
	}
	if code, _, _ := applyRun(t, nil, "-log-format", "xml", "x.hcl"); code != 1 {
		t.Errorf("bad -log-format: exit %d, want 1", code)
	}
	if code, _, _ := applyRun(t, nil, "-help"); code != 0 {
		t.Errorf("-help: exit %d, want 0", code)
	}
}

func TestLiveViewKeepsStatusBelowLines(t *testing.T) {
	var b lockedbuf.Buffer
	v := &liveView{w: &b, width: 60}
	v.update([]runtime.NodeStatus{
		{Name: "a", State: runtime.StateRunning, RateIn: 12000},
		{Name: "b", State: runtime.StateRestarting, Restarts: 2},
	})
	fmt.Fprint(v, "a | hello\nb | par")
	fmt.Fprint(v, "tial\n")
	v.clear()
	got := b.String()
	want := "\r\x1b[Ktopo: 1/2 up, 2 restarts | a 12k/s" +
		"\r\x1b[Ka | hello\ntopo: 1/2 up, 2 restarts | a 12k/s" +
		"\r\x1b[Kb | partial\ntopo: 1/2 up, 2 restarts | a 12k/s" +
		"\r\x1b[K"
	if got != want {
		t.Errorf("terminal bytes\n got %q\nwant %q", got, want)
	}
}
