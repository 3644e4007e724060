package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// buildTopo builds this command into a temporary directory: isolation =
// "process" re-executes the real topo binary (`topo plugin-serve`), which a
// test binary cannot stand in for.
// TestApplyAddrInUseMessage: the real CLI says a bind on a port in use
// once, naming node, socket and endpoint, with the hint, for a goroutine
// node and a process node, and a restart = "never" node fails at once.
func TestApplyAddrInUseMessage(t *testing.T) {
	bin := buildTopo(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep := "tcp://" + l.Addr().String()
	want := `Error: server: socket "in": bind ` + ep + `: address already in use (is another program, or another topology, using that port?)`
	for _, isolation := range []string{"goroutine", "process"} {
		t.Run(isolation, func(t *testing.T) {
			p := writeHCL(t, fmt.Sprintf(`
node "server" {
  type      = "hello-server"
  restart   = "never"
  isolation = %q
  socket "in" {
    type = "REP"
    bind = [%q]
  }
}
node "client" {
  type = "hello-client"
  socket "out" {
    type    = "REQ"
    connect = [node.server.in]
  }
}
`, isolation, ep))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "apply", "-no-color", p)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("topo apply: %v, want exit 1\n%s", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if last := lines[len(lines)-1]; last != want {
				t.Errorf("last line of stderr:\n  %s\nwant\n  %s\nstderr:\n%s", last, want, stderr.String())
			}
			if n := strings.Count(stderr.String(), "already in use"); n != 1 { // the error, said once
				t.Errorf("\"already in use\" %d times, want once:\n%s", n, stderr.String())
			}
		})
	}
}
