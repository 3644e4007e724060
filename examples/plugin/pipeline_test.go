package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildTopo builds the topo command into a temporary directory.
func buildTopo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "topo")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/topo-zmq/topo/cmd/topo")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build topo: %v\n%s", err, out)
	}
	return bin
}

// apply runs `topo apply file` from the repository root with a fresh plugin
// cache, as a user with a fresh clone would.
func apply(t *testing.T, topo, file string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, topo, "apply", file)
	cmd.Dir = filepath.Join("..", "..")
	// A fresh plugin cache (XDG_CACHE_HOME) but the usual Go build cache.
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir(), "GOCACHE="+strings.TrimSpace(string(gocache)), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("topo apply %s: %v\nstdout:\n%s\nstderr:\n%s", file, err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

// TestApplyPipeline: `topo apply examples/plugin/pipeline.hcl` builds the
// plugin from source, runs two text.upper workers in their own processes,
// and finishes with every message transformed.
func TestApplyPipeline(t *testing.T) {
	topo := buildTopo(t)
	out, errOut := apply(t, topo, "examples/plugin/pipeline.hcl")
	if !strings.Contains(errOut, "building plugin") {
		t.Errorf("no build logged with a fresh cache; stderr:\n%s", errOut)
	}
	if got := strings.Count(out, ": HEY ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"); got != 10 {
		t.Errorf("%d transformed messages, want 10; stdout:\n%s", got, out)
	}
	if !strings.Contains(out, "collect  | Collected 10 messages") {
		t.Errorf("the sink did not finish; stdout:\n%s", out)
	}
	for _, w := range []string{"shout[0]", "shout[1]"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("summary does not list %s; stderr:\n%s", w, errOut)
		}
	}
}

// TestApplyIsolatedBuiltin: a built-in kind with isolation = "process" runs
// in `topo plugin-serve` and its messages and output reach the topology.
func TestApplyIsolatedBuiltin(t *testing.T) {
	topo := buildTopo(t)
	out, _ := apply(t, topo, "examples/plugin/testdata/isolated.hcl")
	if !strings.Contains(out, "Sent 1000 messages") {
		t.Errorf("the isolated generate's output is missing; stdout:\n%s", out)
	}
	if !strings.Contains(out, "sink   | Received 1000 messages") {
		t.Errorf("the sink did not count 1000; stdout:\n%s", out)
	}
}
