package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

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

// jsonLines parses a stream strictly: every line one JSON object.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil || dec.More() {
			t.Fatalf("line %q is not one JSON object (%v) in:\n%s", line, err, s)
		}
		out = append(out, m)
	}
	return out
}

// TestApplyJSONLogs: with -log-format json, stderr is nothing but JSON
// objects, and the last is the summary, with numbers as numbers.
func TestApplyJSONLogs(t *testing.T) {
	p := writeHCL(t, fmt.Sprintf(helloHCL, "inproc://hello"))
	code, _, stderr := applyRun(t, nil, "-no-color", "-log-format", "json", p)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	recs := jsonLines(t, stderr)
	last := recs[len(recs)-1]
	if last["msg"] != "summary" || last["instances"] != json.Number("2") {
		t.Fatalf("last record is not the summary: %v", last)
	}
	nodes, _ := last["nodes"].([]any)
	if len(nodes) != 2 {
		t.Fatalf("summary nodes %v", last["nodes"])
	}
	client := nodes[1].(map[string]any)
	if client["name"] != "client" || client["state"] != "finished" || client["msgs_out"] != json.Number("3") || client["approx"] != false {
		t.Errorf("client in the summary: %v", client)
	}
}

// TestApplyJSONInvalidFile: diagnostics are JSON records too.
func TestApplyJSONInvalidFile(t *testing.T) {
	p := writeHCL(t, "node \"x\" {\n  type = \"hello-clint\"\n}\n")
	code, stdout, stderr := applyRun(t, nil, "-log-format", "json", p)
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	recs := jsonLines(t, stderr)
	r := recs[0]
	rng, _ := r["range"].(map[string]any)
	start, _ := rng["start"].(map[string]any)
	if r["level"] != "ERROR" || r["msg"] != "Unknown node kind" || r["diagnostic"] != "error" || start["line"] != json.Number("2") {
		t.Errorf("diagnostic record %v", r)
	}
}

// TestSummaryRestartsHeldApprox renders the end-of-run summary of a run
// in which a process worker was killed twice: the restarts, the messages
// it held and the approximate counts show, as text and as JSON.
func TestSummaryRestartsHeldApprox(t *testing.T) {
	st := []runtime.NodeStatus{
		{Name: "source", Kind: "generate", State: runtime.StateFinished, MsgsOut: 160000},
		{Name: "worker[1]", Kind: "text.upper", State: runtime.StateStopped, Restarts: 2, MsgsIn: 159969, MsgsOut: 159904, Held: 65, Approx: true},
		{Name: "sink", Kind: "count", State: runtime.StateFinished, MsgsIn: 159904, Dropped: 3},
	}
	var text strings.Builder
	writeSummary(&text, nil, false, st, false)
	want := `
NODE       STATE       RESTARTS     MSGS IN    MSGS OUT     DROPPED        HELD
source     finished           0           0      160000           0           0
worker[1]  stopped            2     ≥159969     ≥159904           0         ≥65
sink       finished           0      159904           0           3           0

worker[1] restarted 2 times; it held at least 65 messages when it went down (lost unless a peer sends them again).

≥: a lower bound; the node ran in a process that was killed, so its last counts were not read.
`
	if text.String() != want {
		t.Errorf("text summary\n got:%s\nwant:%s", text.String(), want)
	}
	var js strings.Builder
	writeSummary(nil, slog.New(slog.NewJSONHandler(&js, nil)), true, st, false)
	recs := jsonLines(t, js.String())
	if len(recs) != 1 || recs[0]["msg"] != "summary" || recs[0]["held"] != json.Number("65") || recs[0]["restarts"] != json.Number("2") {
		t.Fatalf("JSON summary %v", recs)
	}
	w := recs[0]["nodes"].([]any)[1].(map[string]any)
	if w["restarts"] != json.Number("2") || w["held"] != json.Number("65") || w["approx"] != true || w["msgs_in"] != json.Number("159969") {
		t.Errorf("worker[1] in the JSON summary: %v", w)
	}
}

// TestStatusLineDropsAndBlocked: the totals say how long Send waited at
// a high-water mark, and each busy node its drops and blocked time.
func TestStatusLineDropsAndBlocked(t *testing.T) {
	st := []runtime.NodeStatus{
		{Name: "gen", State: runtime.StateRunning, RateOut: 91000, Blocked: 1200 * time.Millisecond},
		{Name: "pub", State: runtime.StateRunning, RateOut: 50000, Dropped: 7},
		{Name: "sink", State: runtime.StateRunning, RateIn: 40000},
	}
	want := "3/3 up, 0 restarts, in 40k/s, out 141k/s, 7 dropped, blocked 1.2s | gen 91k/s (blocked 1.2s), pub 50k/s (7 dropped), sink 40k/s"
	if got := statusLine(st, 200); got != want {
		t.Errorf("status line\n got %q\nwant %q", got, want)
	}
}

// TestSummaryBlocked: a BLOCKED column (time Send waited at the
// high-water mark) appears when a node has some, and the JSON summary
// has it in seconds.
func TestSummaryBlocked(t *testing.T) {
	st := []runtime.NodeStatus{
		{Name: "gen", Kind: "generate", State: runtime.StateFinished, MsgsOut: 64, Blocked: 1234 * time.Millisecond},
		{Name: "slow", Kind: "count", State: runtime.StateStopped, MsgsIn: 64},
	}
	var text strings.Builder
	writeSummary(&text, nil, false, st, false)
	want := `
NODE  STATE       RESTARTS     MSGS IN    MSGS OUT     BLOCKED
gen   finished           0           0          64        1.2s
slow  stopped            0          64           0          0s
`
	if text.String() != want {
		t.Errorf("text summary\n got:%s\nwant:%s", text.String(), want)
	}
	var js strings.Builder
	writeSummary(nil, slog.New(slog.NewJSONHandler(&js, nil)), true, st, false)
	recs := jsonLines(t, js.String())
	if len(recs) != 1 || recs[0]["blocked_seconds"] != json.Number("1.234") {
		t.Fatalf("JSON summary %v", recs)
	}
	if g := recs[0]["nodes"].([]any)[0].(map[string]any); g["blocked_seconds"] != json.Number("1.234") {
		t.Errorf("gen in the JSON summary: %v", g)
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
	v := &liveView{term: &b, width: 100}
	w := v.lines(&b)
	v.update([]runtime.NodeStatus{
		{Name: "a", State: runtime.StateRunning, RateIn: 12000},
		{Name: "b", State: runtime.StateRestarting, Restarts: 2},
	})
	fmt.Fprint(w, "a | hello\nb | par")
	fmt.Fprint(w, "tial\n")
	v.clear()
	got := b.String()
	status := "1/2 up, 1 down, 2 restarts, in 12k/s, out 0/s, 0 dropped | b restarting, a 12k/s"
	want := "\r\x1b[K" + status +
		"\r\x1b[Ka | hello\n" + status +
		"\r\x1b[Kb | partial\n" + status +
		"\r\x1b[K"
	if got != want {
		t.Errorf("terminal bytes\n got %q\nwant %q", got, want)
	}
}

// TestLiveViewOtherStream: lines for the other stream of the same screen
// clear the status line on its terminal and redraw it after them.
func TestLiveViewOtherStream(t *testing.T) {
	var termb, out lockedbuf.Buffer
	v := &liveView{term: &termb, width: 100}
	w := v.lines(&out)
	fmt.Fprint(w, "before\n") // no status line yet: nothing to clear
	v.update([]runtime.NodeStatus{{Name: "a", State: runtime.StateRunning}})
	fmt.Fprint(w, "x | one\n")
	status := "1/1 up, 0 restarts, in 0/s, out 0/s, 0 dropped"
	if got, want := termb.String(), "\r\x1b[K"+status+"\r\x1b[K"+status; got != want {
		t.Errorf("terminal %q, want %q", got, want)
	}
	if got := out.String(); got != "before\nx | one\n" {
		t.Errorf("stream %q", got)
	}
}

// TestStatusLineSummarisesFirst: 12 busy nodes at 100 columns. The line
// starts with the totals (up, finished, not running, restarts, rates,
// drops), names the nodes not running, leaves a killed worker's rate
// out, lists the busiest nodes as far as they fit and says how many more.
func TestStatusLineSummarisesFirst(t *testing.T) {
	var st []runtime.NodeStatus
	st = append(st, runtime.NodeStatus{Name: "source", State: runtime.StateRunning, RateOut: 91000, Dropped: 7})
	for i := range 10 {
		s := runtime.NodeStatus{Name: fmt.Sprintf("worker[%d]", i), State: runtime.StateRunning, RateIn: 9100, RateOut: 9100}
		if i == 3 {
			s.State, s.Restarts, s.RateIn, s.RateOut = runtime.StateRestarting, 1, 9100, 9100 // a stale rate
		}
		st = append(st, s)
	}
	st = append(st, runtime.NodeStatus{Name: "sink", State: runtime.StateFinished, Dropped: 2})
	line := statusLine(st, 100)
	if n := utf8.RuneCountInString(line); n > 99 {
		t.Errorf("%d columns: %q", n, line)
	}
	for _, want := range []string{"10/12 up, 1 done, 1 down, 1 restart, in 82k/s, out 173k/s, 9 dropped | worker[3] restarting"} {
		if !strings.Contains(line, want) {
			t.Errorf("status line lacks %q:\n%q", want, line)
		}
	}
	if strings.Contains(line, "worker[3] 18k") {
		t.Errorf("a worker that is not running shows a rate: %q", line)
	}
	var more int
	if _, err := fmt.Sscanf(line[strings.LastIndex(line, "+"):], "+%d", &more); err != nil {
		t.Fatalf("no count of the nodes left out: %q", line)
	}
	if listed := strings.Count(line[strings.Index(line, " | "):], ", ") + 1; listed+more != 11 {
		t.Errorf("%d listed + %d more, want 11 (10 running, 1 not): %q", listed, more, line)
	}
}
