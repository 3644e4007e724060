package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freeEndpoint is a tcp endpoint on a port the kernel just handed out
// (and that is free again): for topologies whose ports an outside peer
// must know before they bind.
func freeEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "tcp://" + l.Addr().String()
}

// outside starts secure/testdata/outside.py (pyzmq) with args; stop closes
// its stdin, waits for it and returns its stdout. It is killed if the test
// ends first. With waitReady it returns once the script printed "ready".
func outside(t *testing.T, waitReady bool, args ...string) (stop func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", append([]string{filepath.Join("secure", "testdata", "outside.py")}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stderr = &errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	if waitReady {
		if line, err := r.ReadString('\n'); err != nil || line != "ready\n" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			cancel()
			t.Fatalf("outside.py %s: %q, %v\n%s", strings.Join(args, " "), line, err, errb.String())
		}
	}
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&out, r); close(copied) }()
	done := false
	t.Cleanup(func() {
		if !done {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		cancel()
	})
	return func() string {
		t.Helper()
		_ = stdin.Close()
		<-copied
		err := cmd.Wait()
		done = true
		if err != nil {
			t.Fatalf("outside.py %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return strings.TrimSpace(out.String())
	}
}

// TestSecurePipeline runs examples/secure/pipeline.hcl (curve {} on the
// serving sockets, nothing else) with one topo apply, while libzmq peers
// outside the run try its ports: a plaintext PULL and a wrong-key PULL on
// the tasks, a plaintext PUSH and a wrong-key PUSH on the results. The
// topology completes with every task where it belongs, the outsiders get
// nothing through, and topo logged their failed handshakes on both ports.
// The process variant runs every worker in a process of its own.
func TestSecurePipeline(t *testing.T) {
	for _, iso := range []string{"goroutine", "process"} {
		t.Run(iso, func(t *testing.T) {
			tasks, results := freeEndpoint(t), freeEndpoint(t)
			stop := outside(t, true, "hostile", tasks, results)
			_, stderr, _ := run(t, 2*time.Minute, bin.topo, "apply", "-no-color", "-log-level", "debug",
				"-var", "tasks="+tasks, "-var", "results="+results, "-var", "isolation="+iso,
				filepath.Join("secure", "pipeline.hcl"))
			if got := stop(); got != "pulled 0 pushed 0" {
				t.Errorf("outside peers got through: %s", got)
			}
			s := summary(t, stderr)
			if s["sink"][1] != 101 || s["ventilator"][2] != 101 {
				t.Errorf("sink took %d messages, ventilator sent %d; want 101 each (summary %v)", s["sink"][1], s["ventilator"][2], s)
			}
			total := 0
			for i := range 4 {
				total += s[fmt.Sprintf("worker[%d]", i)][1]
			}
			if total != 100 {
				t.Errorf("workers took %d tasks, want 100 (summary %v)", total, s)
			}
			// The sink's port is bound for the whole run; the ventilator's
			// until its tasks are out, which with goroutine workers can
			// be quicker than the outsiders' first retry, but with worker
			// processes spans their start-up.
			probed := []string{results}
			if iso == "process" {
				probed = append(probed, tasks)
			}
			for _, ep := range probed {
				n := countLines(stderr, `msg="handshake failed"`, "endpoint="+ep)
				if n == 0 {
					t.Errorf("no failed handshake logged on %s: the outside peers never reached it\n%s", ep, tail(stderr, 40))
				}
				t.Logf("%s: %d outside handshakes refused", ep, n)
			}
		})
	}
}

// TestSecureWeatherSeed runs examples/secure/weather.hcl with a fresh seed:
// two plans (separate loads) print the same publisher key, and a libzmq
// SUB outside the run that uses it is served, while one with another key
// receives nothing.
func TestSecureWeatherSeed(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("secure", "weather.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "weather.hcl")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, 30*time.Second, bin.topo, "keygen", "-seed", filepath.Join(dir, "keys", "topology.seed"))
	feed := freeEndpoint(t)
	key := func() string {
		out, _, _ := run(t, 30*time.Second, bin.topo, "plan", "-json", "-var", "feed="+feed, "-var", "seed=keys/topology.seed", file)
		var plan struct {
			Instances []struct {
				Name    string `json:"name"`
				Sockets []struct {
					PublicKey string `json:"public_key"`
				} `json:"sockets"`
			} `json:"instances"`
		}
		if err := json.Unmarshal([]byte(out), &plan); err != nil {
			t.Fatal(err)
		}
		if plan.Instances[0].Name != "weather-publisher" || len(plan.Instances[0].Sockets[0].PublicKey) != 40 {
			t.Fatalf("plan -json: no public key for the publisher:\n%s", out)
		}
		return plan.Instances[0].Sockets[0].PublicKey
	}
	pub := key()
	if again := key(); again != pub {
		t.Fatalf("two loads derive different keys: %s, %s", pub, again)
	}
	wrong := "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
	served := outside(t, false, "sub", feed, pub, "3")
	refused := outside(t, false, "sub", feed, wrong, "1")
	run(t, 2*time.Minute, bin.topo, "apply", "-no-color", "-var", "feed="+feed, "-var", "updates=20", "-var", "seed=keys/topology.seed", file)
	if got := served(); got != "received 3" {
		t.Errorf("outside SUB with the planned key: %s, want received 3", got)
	}
	if got := refused(); got != "received 0" {
		t.Errorf("outside SUB with another key: %s, want received 0", got)
	}
}

func countLines(text string, subs ...string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(l, s)
		}
		if all {
			n++
		}
	}
	return n
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
