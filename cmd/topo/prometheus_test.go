package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needTool finds a Debian prometheus-package binary: the test skips
// without it, but fails under CI (.ci/run installs it).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found; CI installs Debian's prometheus package (.ci/run)", name)
		}
		t.Skipf("%s not found: apt-get install prometheus to run this test", name)
	}
	return p
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestPrometheusScrapesApply runs `topo apply -http 127.0.0.1:0` with a
// goroutine and a process node, has a real Prometheus scrape it, and
// checks what Prometheus's query API answers against the run's counts;
// promtool check metrics passes on /metrics.
func TestPrometheusScrapesApply(t *testing.T) {
	promBin := needTool(t, "prometheus")
	promtool := needTool(t, "promtool")
	bin := buildTopo(t)
	dir := t.TempDir()
	const n = 300
	hcl := fmt.Sprintf(`node "gen" {
  type     = "generate"
  messages = %d
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
`, n)
	file := filepath.Join(dir, "t.hcl")
	if err := os.WriteFile(file, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, addr := startApplyHTTP(t, bin, file)
	base := "http://" + addr

	// Wait for the sink to have everything (its counts settle).
	deadline := time.Now().Add(30 * time.Second)
	for {
		var sb struct {
			Nodes []struct {
				Name    string `json:"name"`
				State   string `json:"state"`
				MsgsIn  uint64 `json:"msgs_in"`
				Sockets []struct {
					MsgsIn uint64 `json:"msgs_in"`
				} `json:"sockets"`
			} `json:"nodes"`
		}
		if err := getJSON(base+"/v1/status", &sb); err == nil && len(sb.Nodes) == 2 && sb.Nodes[1].MsgsIn == n && sb.Nodes[1].Sockets[0].MsgsIn == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink did not receive %d messages", n)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// promtool check metrics on /metrics.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(string(body))
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	// A real Prometheus scraping it.
	promAddr := freePort(t)
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: topo
    static_configs:
      - targets: ["%s"]
`, addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	prom := exec.CommandContext(ctx, promBin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr)
	var plog strings.Builder
	prom.Stdout, prom.Stderr = &plog, &plog
	prom.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Kill(-prom.Process.Pid, syscall.SIGKILL); _ = prom.Wait() }()
	query := func(q string) (float64, bool) {
		var r struct {
			Status string `json:"status"`
			Data   struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := getJSON("http://"+promAddr+"/api/v1/query?query="+url.QueryEscape(q), &r); err != nil || len(r.Data.Result) != 1 {
			return 0, false
		}
		var v float64
		s, _ := r.Data.Result[0].Value[1].(string)
		_, err := fmt.Sscan(s, &v)
		return v, err == nil
	}
	var recv, up float64
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		var ok1, ok2 bool
		recv, ok1 = query(`topo_socket_messages_received_total{node="sink",socket="in",type="PULL",kind="count"}`)
		up, ok2 = query(`topo_node_up{node="sink"}`)
		if ok1 && ok2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has no scrape of topo after 60s\n%s", plog.String())
		}
	}
	if recv != n || up != 1 {
		t.Errorf("Prometheus: sink received %v (want %d), up %v (want 1)", recv, n, up)
	}
	if v, ok := query(`topo_socket_messages_sent_total{node="gen"}`); !ok || v != n {
		t.Errorf("Prometheus: gen sent %v %v, want %d", v, ok, n)
	}
	if v, ok := query(`topo_node_up{node="gen"}`); !ok || v != 0 {
		t.Errorf("Prometheus: gen (finished) up %v %v, want 0", v, ok)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("topo apply: %v", err)
	}
}

func getJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
