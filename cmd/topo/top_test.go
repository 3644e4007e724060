package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/topo-zmq/topo/runtime/observe"
)

// applyHTTP starts `topo apply -http 127.0.0.1:0` on a topology that runs
// until interrupted (gen sends 200 msgs/s to sink) and returns the address.
func applyHTTP(t *testing.T, bin string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "t.hcl")
	if err := os.WriteFile(file, []byte(`node "gen" {
  type = "generate"
  rate = 200
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
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, addr := startApplyHTTP(t, bin, file)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGINT)
			_ = cmd.Wait()
		}
	})
	return addr
}

// startApplyHTTP starts `topo apply -http 127.0.0.1:0 -log-format json
// [extra...] file` and returns it with the address it logged it listens on.
func startApplyHTTP(t *testing.T, bin, file string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"apply", "-http", "127.0.0.1:0", "-log-format", "json"}, extra...)
	cmd := startTopo(t, bin, nil, pw, append(args, file)...)
	pw.Close()
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		re := regexp.MustCompile(`"msg":"http listening","addr":"([^"]+)"`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrCh <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case addr := <-addrCh:
		return cmd, addr
	case <-time.After(30 * time.Second):
		t.Fatal("no \"http listening\" log line")
	}
	return nil, ""
}

// TestTopJSON: without a terminal, top writes one /v1/status snapshot per
// line and interval.
func TestTopJSON(t *testing.T) {
	bin := buildTopo(t)
	addr := applyHTTP(t, bin)
	out, err := exec.Command(bin, "top", "-addr", addr, "-interval", "200ms", "-n", "3").Output()
	if err != nil {
		t.Fatalf("topo top: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got %q", out)
	}
	for _, l := range lines {
		var st struct {
			Run   string `json:"run"`
			Nodes []struct {
				Name string `json:"name"`
			} `json:"nodes"`
		}
		if err := json.Unmarshal([]byte(l), &st); err != nil || st.Run == "" || len(st.Nodes) != 2 || st.Nodes[1].Name != "sink" {
			t.Errorf("snapshot %q: %v", l, err)
		}
	}
}

// TestTopTmux drives `topo top` on a real terminal (tmux): the table shows
// the nodes running, and q exits.
func TestTopTmux(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux not found")
		}
		t.Skip("tmux not found")
	}
	bin := buildTopo(t)
	addr := applyHTTP(t, bin)
	sock := "topo-top-" + strconv.Itoa(os.Getpid())
	tm := func(args ...string) (string, error) {
		out, err := exec.Command(tmux, append([]string{"-L", sock}, args...)...).CombinedOutput()
		return string(out), err
	}
	done := filepath.Join(t.TempDir(), "exit")
	if out, err := tm("new-session", "-d", "-x", "120", "-y", "20", bin+" top -interval 200ms -addr "+addr+"; echo $? > "+done+"; sleep 30"); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(func() { _, _ = tm("kill-server") })
	var screen string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		screen, _ = tm("capture-pane", "-p")
		if regexp.MustCompile(`(?m)^sink\s+running\s+0\s+[1-9]\d*`).MatchString(screen) && strings.Contains(screen, "NODE") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the table never showed sink running with messages:\n%s", screen)
		}
	}
	if _, err := tm("send-keys", "q"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if b, err := os.ReadFile(done); err == nil {
			if strings.TrimSpace(string(b)) != "0" {
				t.Errorf("topo top exit status %s after q", b)
			}
			break
		}
		if time.Now().After(deadline) {
			s, _ := tm("capture-pane", "-p")
			t.Fatalf("q did not exit topo top:\n%s", s)
		}
	}
}

// TestTopTableBottleneckFirst: the node with messages queued on its
// sockets comes first, then the one blocked longest; the columns show
// queue depth and blocked time, and the edges are listed.
func TestTopTableBottleneckFirst(t *testing.T) {
	st := observe.StatusBody{Run: "r", Nodes: []observe.NodeStatus{
		{Name: "gen", State: "running", MsgsOut: 500, Blocked: 2.5, Sockets: []observe.SocketStatus{
			{Name: "out", Type: "PUSH", Edges: []observe.Edge{{Peer: "slow.in", Sent: 500, QueuedOut: 0}}}}},
		{Name: "idle", State: "running"},
		{Name: "slow", State: "running", MsgsIn: 400, Sockets: []observe.SocketStatus{
			{Name: "in", Type: "PULL", Edges: []observe.Edge{{Peer: "gen.out", Received: 500, QueuedIn: 100}, {External: true, Received: 7}}}}},
	}}
	out := topTable("127.0.0.1:1", st, 200)
	lines := strings.Split(out, "\n")
	var rows []string
	for _, l := range lines[3:] {
		if l == "" {
			break
		}
		rows = append(rows, strings.Fields(l)[0])
	}
	if strings.Join(rows, " ") != "slow gen idle" {
		t.Errorf("row order %v, want slow (queued) gen (blocked) idle\n%s", rows, out)
	}
	for _, want := range []string{"QUEUED   BLOCKED", "gen.out -> slow.in  500 sent, 0 queued", "gen.out -> slow.in  500 received, 100 queued for the node", "external -> slow.in  7 received", "2.5s"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^slow\s+running\s+0\s+400\s+0\s+\S+\s+\S+\s+0\s+100\s+0s\s+0$`).MatchString(out) {
		t.Errorf("slow's row:\n%s", out)
	}
}
