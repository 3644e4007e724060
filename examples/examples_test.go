// Package examples_test runs every example end to end: the topo binary on
// hello.hcl, weather.hcl and pipeline.hcl, and the embed program. The
// examples bind the zguide ports for users; the tests run a copy of each
// with those ports made ephemeral (tcp://127.0.0.1:0), and hold the seed
// ports 5555-5558 themselves while they run, so a test that still used one
// would fail here rather than on a machine where something else does.
package examples_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var bin struct{ topo, embed string }

// exampleDir holds the rewritten copies of the examples.
var exampleDir string

// seedBindRE is a bind to a zguide seed port in an example.
var seedBindRE = regexp.MustCompile(`"tcp://127\.0\.0\.1:555[5-8]"`)

// ephemeral returns a copy of example name whose seed-port binds are
// ephemeral ports; references to them resolve after binding, so the
// topology runs the same.
func ephemeral(t *testing.T, name string) string {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	out := seedBindRE.ReplaceAll(src, []byte(`"tcp://127.0.0.1:0"`))
	if bytes.Equal(out, src) {
		t.Fatalf("%s binds no seed port (5555-5558) to rewrite", name)
	}
	if bytes.Contains(out, []byte(":555")) {
		t.Fatalf("%s still names a seed port after the rewrite:\n%s", name, out)
	}
	path := filepath.Join(exampleDir, name)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "topo-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Hold the seed ports, as another program on the machine might.
	for port := 5555; port <= 5558; port++ {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			defer l.Close()
		}
	}
	exampleDir = dir
	bin.topo = filepath.Join(dir, "topo")
	bin.embed = filepath.Join(dir, "embed")
	for _, b := range []struct{ out, pkg string }{{bin.topo, "../cmd/topo"}, {bin.embed, "./embed"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		out, err := exec.CommandContext(ctx, "go", "build", "-o", b.out, b.pkg).CombinedOutput()
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", b.pkg, err, out)
			return 1
		}
	}
	return m.Run()
}

// run runs a binary with a deadline and returns its stdout, stderr and
// elapsed time; a non-zero exit fails the test.
func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("%s %s: %v (after %s)\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, elapsed, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String(), elapsed
}

// summary parses the per-node summary topo apply prints on stderr:
// node → [restarts, msgs in, msgs out].
func summary(t *testing.T, stderr string) map[string][3]int {
	t.Helper()
	out := map[string][3]int{}
	re := regexp.MustCompile(`(?m)^(\S+)\s+(\w+)\s+(\d+)\s+(\d+)\s+(\d+)$`)
	for _, m := range re.FindAllStringSubmatch(stderr, -1) {
		var v [3]int
		for i := range v {
			v[i], _ = strconv.Atoi(m[3+i])
		}
		out[m[1]] = v
	}
	if len(out) == 0 {
		t.Fatalf("no summary in stderr:\n%s", stderr)
	}
	return out
}

func TestHello(t *testing.T) {
	stdout, stderr, _ := run(t, 30*time.Second, bin.topo, "apply", "-no-color", ephemeral(t, "hello.hcl"))
	for i := range 10 {
		if want := fmt.Sprintf("hello-client | Received reply %d [ World ]\n", i); !strings.Contains(stdout, want) {
			t.Errorf("missing %q", want)
		}
	}
	if n := strings.Count(stdout, "hello-server | Received request: Hello\n"); n != 10 {
		t.Errorf("server printed %d requests, want 10\n%s", n, stdout)
	}
	s := summary(t, stderr)
	if s["hello-client"][1] != 10 || s["hello-server"][1] != 10 {
		t.Errorf("summary = %v", s)
	}
}

func TestWeather(t *testing.T) {
	stdout, _, elapsed := run(t, 60*time.Second, bin.topo, "apply", "-no-color", ephemeral(t, "weather.hcl"))
	if !regexp.MustCompile(`(?m)^weather-client +\| Average temperature for zipcode '10001' was -?\d+F$`).MatchString(stdout) {
		t.Errorf("stdout:\n%s", stdout)
	}
	t.Logf("weather.hcl finished in %s", elapsed)
}

func TestWeatherVars(t *testing.T) {
	stdout, _, _ := run(t, 60*time.Second, bin.topo, "apply", "-no-color", "-var", "zip=1", "-var", "updates=50", ephemeral(t, "weather.hcl"))
	if !strings.Contains(stdout, "Average temperature for zipcode '1' was") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

func TestPipeline(t *testing.T) {
	stdout, stderr, _ := run(t, 60*time.Second, bin.topo, "apply", "-no-color", ephemeral(t, "pipeline.hcl"))
	expected := grabInt(t, stdout, `ventilator +\| Total expected cost: (\d+) msec`)
	elapsed := grabInt(t, stdout, `sink +\| Total elapsed time: (\d+) msec`)
	t.Logf("expected cost %d ms, elapsed %d ms with 4 workers (ideal %d ms)", expected, elapsed, expected/4)
	// Close to a quarter of the expected cost; tolerant of a noisy 2-core machine.
	if float64(elapsed) > 0.5*float64(expected)+300 {
		t.Errorf("elapsed %d ms, want close to %d ms (a quarter of %d)\nstderr:\n%s", elapsed, expected/4, expected, stderr)
	}
	s := summary(t, stderr)
	for i := range 4 {
		name := fmt.Sprintf("worker[%d]", i)
		got := s[name][1]
		if got < 20 || got > 30 { // 25 ± 5 of 100 tasks
			t.Errorf("%s got %d tasks, want 25 ± 5 (summary %v)", name, got, s)
		}
	}
}

func TestPipelineWorkersVar(t *testing.T) {
	_, stderr, _ := run(t, 60*time.Second, bin.topo, "apply", "-no-color", "-var", "workers=2", ephemeral(t, "pipeline.hcl"))
	s := summary(t, stderr)
	if _, ok := s["worker[2]"]; ok {
		t.Errorf("workers=2 ran a third worker: %v", s)
	}
	for i := range 2 {
		if got := s[fmt.Sprintf("worker[%d]", i)][1]; got < 45 || got > 55 {
			t.Errorf("worker[%d] got %d tasks, want 50 ± 5", i, got)
		}
	}
}

func TestEmbed(t *testing.T) {
	stdout, _, _ := run(t, 30*time.Second, bin.embed, "-requests", "4")
	for i := range 4 {
		if want := fmt.Sprintf("client   | Received reply %d [ opot deddebme ,olleH ]\n", i); !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stdout, "client (hello-client): finished, 4 messages in, 4 out") {
		t.Errorf("no summary in:\n%s", stdout)
	}
}

func grabInt(t *testing.T, s, re string) int {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no match for %q in:\n%s", re, s)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
