package examples_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEmbedIsolatedProcess: issue 11 item 10. examples/embed with the
// reverse node in a subprocess (isolation = "process"): the runtime runs the
// program again, its runtime.ServeIfChild call serves the node, and the
// replies come back through the subprocess.
func TestEmbedIsolatedProcess(t *testing.T) {
	stdout, stderr, _ := run(t, 60*time.Second, bin.embed, "-requests", "3", "-isolation", "process")
	for i := range 3 {
		if want := fmt.Sprintf("client   | Received reply %d [ opot deddebme ,olleH ]\n", i); !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s\nstderr:\n%s", want, stdout, stderr)
		}
	}
	if !strings.Contains(stdout, "client (hello-client): finished, 3 messages in, 3 out") {
		t.Errorf("no summary in:\n%s", stdout)
	}
}

// TestEmbedWithoutServeIfChild: an embedding program that reads its
// topology file from its argument and does not call runtime.ServeIfChild
// fails an isolation = "process" node with an error that says what to add
// (it used to say only "Cannot read file | on plugin-serve line 1").
func TestEmbedWithoutServeIfChild(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "forgetful")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", prog, "./embed/testdata/forgetful").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	file := filepath.Join(dir, "iso.hcl")
	src := `
node "source" {
  type      = "generate"
  messages  = 5
  isolation = "process"
  restart   = "never"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:0"]
  }
}
node "sink" {
  type   = "count"
  expect = 5
  socket "in" {
    type    = "PULL"
    connect = node.source.out
  }
}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer rcancel()
	cmd := exec.CommandContext(rctx, prog, file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("the program succeeded without serving its isolated node\nstderr:\n%s", stderr.String())
	}
	for _, want := range []string{"source", `isolation = "process"`, "runtime.ServeIfChild(&reg)"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the error lacks %q:\n%s", want, stderr.String())
		}
	}
}
