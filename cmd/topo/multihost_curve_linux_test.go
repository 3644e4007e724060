package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helloClient is a libzmq (pyzmq) REQ outside the topology: a CURVE
// client with the server key argv[2] and a fresh key pair of its own,
// connecting to argv[1]. It sends "Hello" and prints "reply R" when the
// reply R comes within argv[3] ms, else "nothing".
const helloClient = `
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.REQ)
s.linger = 0
s.reconnect_ivl = 50
pub, sec = zmq.curve_keypair()
s.curve_serverkey = sys.argv[2].encode()
s.curve_publickey, s.curve_secretkey = pub, sec
s.connect(sys.argv[1])
s.send(b"Hello")
if s.poll(int(sys.argv[3])):
    print("reply " + s.recv().decode(), flush=True)
else:
    print("nothing", flush=True)
ctx.destroy(linger=0)
`

// securePlan is what the test reads from topo plan -json of
// examples/multihost/secure-pipeline.hcl.
type securePlan struct {
	Instances []struct {
		Name    string `json:"name"`
		Sockets []struct {
			Name      string `json:"name"`
			PublicKey string `json:"public_key"`
		} `json:"sockets"`
	} `json:"instances"`
	Edges []struct {
		From     string `json:"from"`
		To       string `json:"to"`
		Security string `json:"security"`
	} `json:"edges"`
}

// TestMultiHostSecurePipeline runs examples/multihost/secure-pipeline.hcl
// (a top-level curve seed, curve {} on every serving socket; a copy with
// its seed ports moved to 15557-15559, its keys beside it) on three
// network namespaces from 10.77.3.0/24, one topo apply -host each: every
// edge is CURVE (plan says so), each host derives the same keys from the
// seed, and the pipeline completes with a fair split over the 4 workers,
// in each of the 6 start orders. In the order with the workers' host
// first, from a fourth namespace, a libzmq REQ outside the topology that
// uses the public key topo plan printed for hello.in is answered, and one
// with another server key gets nothing, its handshakes refused and logged
// by the workers' host.
func TestMultiHostSecurePipeline(t *testing.T) {
	bin := buildTopo(t)
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Fatalf("needs /usr/bin/python3 with pyzmq: %v", err)
	}
	l := newLabOn(t, 4, "10.77.3.")
	file, ports := withoutSeedPorts(t, "../../examples/multihost/secure-pipeline.hcl", nonSeedPort)
	hosts := []string{"edge", "workers", "sink"}
	nsOf, vars := l.place(hosts)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The file's own addresses: the keys derive from the seed and the
	// socket names only, so the hosts that run with -host-address agree.
	out, err := exec.CommandContext(ctx, bin, "plan", "-json", file).Output()
	if err != nil {
		t.Fatalf("topo plan -json: %v", err)
	}
	var plan securePlan
	if err := json.Unmarshal(out, &plan); err != nil {
		t.Fatalf("plan -json: %v\n%s", err, out)
	}
	if len(plan.Edges) != 9 {
		t.Errorf("plan has %d edges, want 9", len(plan.Edges))
	}
	for _, e := range plan.Edges {
		if e.Security != "curve" {
			t.Errorf("edge %s → %s is %s, want curve", e.From, e.To, e.Security)
		}
	}
	helloKey := ""
	for _, in := range plan.Instances {
		if in.Name == "hello" && len(in.Sockets) == 1 {
			helloKey = in.Sockets[0].PublicKey
		}
	}
	if len(helloKey) != 40 {
		t.Fatalf("plan -json prints no public key for hello.in:\n%s", out)
	}

	// Every start order; in the one with the workers' host first, clients
	// from outside the topology too. Debug logs show refused handshakes.
	for _, order := range permutations(hosts) {
		t.Run(strings.Join(order, ","), func(t *testing.T) {
			procs := l.startHosts(t, bin, file, order, nsOf, vars, "-no-color", "-log-level", "debug")
			for _, h := range []string{"edge", "sink"} {
				if code := procs[h].wait(t, 60*time.Second); code != 0 {
					t.Fatalf("host %s exited %d\nstderr:\n%s", h, code, procs[h].stderr.String())
				}
			}
			refused := 0
			outside := order[0] == "workers"
			if outside {
				refused = checkOutsideClients(t, l, ports, helloKey)
			}
			procs["workers"].signal(syscall.SIGTERM) // a host of services runs until stopped
			if code := procs["workers"].wait(t, 20*time.Second); code != 0 {
				t.Fatalf("host workers exited %d\nstderr:\n%s", code, procs["workers"].stderr.String())
			}
			if outside {
				checkRefusedLogged(t, l, ports, procs["workers"].stderr.String(), refused)
			}
			counts := checkPipelineRun(t, procs)
			t.Logf("start order %v, CURVE on every edge across 3 namespaces: tasks per worker %s", order, counts)
		})
	}
}

// checkOutsideClients runs, from the lab's fourth namespace, a libzmq REQ
// with the key topo plan printed for hello.in (served) and one with
// another server key (not served). It returns how many clients it ran
// that the server must have refused.
func checkOutsideClients(t *testing.T, l *lab, ports map[int]int, helloKey string) int {
	t.Helper()
	hello := "tcp://" + l.addrs[1] + ":" + strconv.Itoa(ports[5559]) // the file's tcp://*:5559, rewritten
	client := func(key string, waitMs string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := l.runCmd(ctx, l.ns[3], "/usr/bin/python3", "-c", helloClient, hello, key, waitMs)
		if err != nil {
			t.Fatalf("outside client: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	if got := client(helloKey, "15000"); got != "reply World" {
		t.Errorf("outside REQ with the key topo plan printed: %q, want reply World", got)
	}
	const wrong = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
	if got := client(wrong, "3000"); got != "nothing" {
		t.Errorf("outside REQ with another server key: %q, want nothing", got)
	}
	return 1
}

// checkRefusedLogged checks the workers' host's log: handshakes from the
// outside namespace on hello.in refused and logged, and hello answered
// the one client with the right key only.
func checkRefusedLogged(t *testing.T, l *lab, ports map[int]int, workersLog string, clients int) {
	t.Helper()
	helloPort := ":" + strconv.Itoa(ports[5559])
	refused := 0
	for _, line := range strings.Split(workersLog, "\n") {
		if strings.Contains(line, `msg="handshake failed"`) && strings.Contains(line, helloPort) && strings.Contains(line, l.addrs[3]+":") {
			refused++
		}
	}
	if refused < clients {
		t.Errorf("the workers' host logged no refused handshake from %s on hello.in:\n%s", l.addrs[3], workersLog)
	}
	if hello := parseSummary(workersLog)["hello"]; hello.in != 1 || hello.out != 1 {
		t.Errorf("hello %+v, want 1 request in and 1 reply out (the wrong-key client's got nowhere)", hello)
	}
	t.Logf("outside client with the planned key served, %d handshakes with a wrong key refused", refused)
}
