package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"
)

// TestHostAllAndHostNameAreOneTopology runs one file twice: every host
// in a topo apply -host all process (gen and count, count on host a's
// loopback address 127.0.0.2), and host b alone in a second process
// (another gen, -host-address a=127.0.0.2). count expects both gens'
// messages. Each process counts the other's sockets as peers of its
// topology only if the -host all run's id has the topology id every
// -host NAME run of the file has (not one hashed over its loopback
// binds): then the -host all process logs gen.out connecting twice (its
// own and host b's; it logs only expected peers of its topology), and
// host b's gen starts once count.in is there (otherwise it waits out its
// -ready-timeout). Both finish, count with all 2 × 500 messages.
func TestHostAllAndHostNameAreOneTopology(t *testing.T) {
	bin := buildTopo(t)
	_, port, _ := net.SplitHostPort(freePort(t))
	file := writeTopology(t, "two.hcl", fmt.Sprintf(`
host "a" {
  address = "10.0.0.1"
}
host "b" {
  address = "10.0.0.2"
}
node "count" {
  type   = "count"
  host   = "a"
  expect = 1000
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:%s"]
  }
}
node "gen" {
  type     = "generate"
  host     = "b"
  messages = 500
  socket "out" {
    type    = "PUSH"
    connect = [node.count.in]
  }
}
`, port))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := func(args ...string) (*exec.Cmd, *lockedbuf.Buffer, chan error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		out := &lockedbuf.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		exited := make(chan struct{})
		go func() { done <- cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited // not <-done: the test may have taken Wait's result already
		})
		return cmd, out, done
	}
	_, allOut, allDone := start("apply", "-no-color", "-host", "all", file)
	time.Sleep(500 * time.Millisecond)
	_, bOut, bDone := start("apply", "-no-color", "-host", "b", "-host-address", "a=127.0.0.2", "-ready-timeout", "15s", file)
	if err := <-bDone; err != nil {
		t.Fatalf("topo apply -host b: %v (its gen did not count the -host all run's count.in as a peer of its topology)\n%s", err, bOut.String())
	}
	if err := <-allDone; err != nil {
		t.Fatalf("topo apply -host all: %v\n%s", err, allOut.String())
	}
	if c := parseSummary(allOut.String())["count"]; c.state != "finished" || c.in != 1000 {
		t.Errorf("count %+v, want finished with 1000 messages in\n%s", c, allOut.String())
	}
	if n := strings.Count(allOut.String(), `msg="peer connected" node=count socket=in peer=gen.out`); n != 2 {
		t.Errorf("the -host all process logged gen.out connecting %d times, want 2 (its own gen and host b's)\n%s", n, allOut.String())
	}
}
