package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/topology"
)

// twoHosts is a generate on host a feeding a count on host b over tcp.
func twoHosts(port int, messages int) string {
	return fmt.Sprintf(`
host "a" {
  address = "127.0.0.1"
}
host "b" {
  address = "127.0.0.1"
}
node "gen" {
  type     = "generate"
  host     = "a"
  messages = %[2]d
  socket "out" {
    type = "PUSH"
    bind = ["tcp://*:%[1]d"]
  }
}
node "count" {
  type   = "count"
  host   = "b"
  expect = %[2]d
  socket "in" {
    type    = "PULL"
    connect = [node.gen.out]
  }
}
`, port, messages)
}

// freePort returns a tcp port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestHostRunsItsShare: two Runtimes of one file with hosts, Host "a" and
// Host "b", each run only their own instances, find each other at the
// host address, and announce one topology in their run ids.
func TestHostRunsItsShare(t *testing.T) {
	src := []byte(twoHosts(freePort(t), 1000))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	load := func(host string) *Runtime {
		rt, err := Load(ctx, "two.hcl", src, Options{Registry: builtinRegistry(t), Host: host})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	a, b := load("a"), load("b")
	ta, _, _ := strings.Cut(a.RunID(), "/")
	if a.RunID() != ta+"/a" || b.RunID() != ta+"/b" || ta != TopologyID(a.Topology()) {
		t.Fatalf("run ids %q and %q, want TOPOLOGY/a and TOPOLOGY/b with TOPOLOGY = %s", a.RunID(), b.RunID(), TopologyID(a.Topology()))
	}
	errs := make(chan error, 2)
	go func() { errs <- b.Run(ctx) }() // the connecting host first: order does not matter
	time.Sleep(200 * time.Millisecond)
	go func() { errs <- a.Run(ctx) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := a.Status(); len(st) != 1 || st[0].Name != "gen" || st[0].MsgsOut != 1000 {
		t.Errorf("host a ran %+v, want gen alone, 1000 out", st)
	}
	if st := b.Status(); len(st) != 1 || st[0].Name != "count" || st[0].MsgsIn != 1000 {
		t.Errorf("host b ran %+v, want count alone, 1000 in", st)
	}
}

// TestHostRequired: a file with hosts does not run without Host, nor with
// a host it does not declare; a file without hosts refuses a host name.
func TestHostRequired(t *testing.T) {
	ctx := context.Background()
	src := []byte(twoHosts(freePort(t), 1))
	rt, err := Load(ctx, "two.hcl", src, Options{Registry: builtinRegistry(t)})
	if err != nil {
		t.Fatalf("Load without Host (validate, plan): %v", err)
	}
	var he *HostError
	if err := rt.Run(ctx); !errors.As(err, &he) || strings.Join(he.Hosts, ",") != "a,b" || !strings.Contains(err.Error(), "(a, b)") {
		t.Fatalf("Run without Host = %v, want a HostError listing a, b", err)
	}
	if _, err := Load(ctx, "two.hcl", src, Options{Registry: builtinRegistry(t), Host: "c"}); !errors.As(err, &he) || he.Host != "c" {
		t.Fatalf("Load with Host c = %v, want a HostError", err)
	}
	plain := []byte(`node "g" {
  type = "generate"
  messages = 1
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:0"]
  }
}
`)
	if _, err := Load(ctx, "plain.hcl", plain, Options{Registry: builtinRegistry(t), Host: "a"}); !errors.As(err, &he) || len(he.Hosts) != 0 {
		t.Fatalf("Load of a file without hosts with Host a = %v, want a HostError", err)
	}
	if _, err := Load(ctx, "plain.hcl", plain, Options{Registry: builtinRegistry(t), Host: "all"}); err != nil {
		t.Fatalf("Host all on a file without hosts: %v", err)
	}
}

// TestTopologyIDIsTheContent: the same file and values give the same id
// whatever the host addresses; another value, another id.
func TestTopologyIDIsTheContent(t *testing.T) {
	ctx := context.Background()
	src := []byte(twoHosts(7001, 5))
	id := func(o Options) string {
		o.Registry = builtinRegistry(t)
		rt, err := Load(ctx, "two.hcl", src, o)
		if err != nil {
			t.Fatal(err)
		}
		return TopologyID(rt.Topology())
	}
	base := id(Options{})
	if got := id(Options{HostAddresses: map[string]string{"a": "10.0.0.9"}}); got != base {
		t.Errorf("another host address changed the id: %s, %s", base, got)
	}
	if other := TopologyID(mustLoad(t, twoHosts(7001, 6))); other == base {
		t.Errorf("another messages value kept the id %s", base)
	}
	if other := TopologyID(mustLoad(t, twoHosts(7002, 5))); other == base {
		t.Errorf("another port kept the id %s", base)
	}
}

// TestTopologyIDSameForHostAll: a -host all load (each host binding its
// own loopback address) and -host NAME loads of the same file have one
// TopologyID, so their run ids count each other as one topology.
func TestTopologyIDSameForHostAll(t *testing.T) {
	ctx := context.Background()
	src := []byte(twoHosts(7001, 5))
	load := func(host string) *Runtime {
		o := Options{Registry: builtinRegistry(t), Host: host}
		if host != topology.AllHosts {
			o.HostAddresses = map[string]string{"a": "10.0.0.9"} // another machine's view
		}
		rt, err := Load(ctx, "two.hcl", src, o)
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	all, a, b := load(topology.AllHosts), load("a"), load("b")
	if got := all.Topology().InstancesOn("a")[0].Sockets[0].Bind[0].URL; !strings.HasPrefix(got, "tcp://127.0.0.") {
		t.Fatalf("-host all binds gen.out on %s, want its loopback address", got)
	}
	if ta, tb := TopologyID(all.Topology()), TopologyID(a.Topology()); ta != tb || ta != TopologyID(b.Topology()) {
		t.Errorf("TopologyID: -host all %s, -host a %s, -host b %s; want one id", ta, tb, TopologyID(b.Topology()))
	}
	for _, o := range []*Runtime{a, b} {
		if !plugins.SameTopology(all.RunID(), o.RunID()) {
			t.Errorf("run ids %q and %q are not of one topology", all.RunID(), o.RunID())
		}
	}
}

func mustLoad(t *testing.T, src string) *topology.Topology {
	t.Helper()
	rt, err := Load(context.Background(), "x.hcl", []byte(src), Options{Registry: builtinRegistry(t)})
	if err != nil {
		t.Fatal(err)
	}
	return rt.Topology()
}

// TestWaitingForPeersOnOtherHosts: with hosts the wait has no bound by
// default, and every ReadyReport a line names the socket still short and
// the host its missing peer comes from; the body starts when the peer's
// host comes up, however late.
func TestWaitingForPeersOnOtherHosts(t *testing.T) {
	src := []byte(twoHosts(freePort(t), 10))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs lockedbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	b, err := Load(ctx, "two.hcl", src, Options{Registry: builtinRegistry(t), Host: "b", Logger: logger, ReadyReport: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `waiting="in: 0/1 peers, missing gen.out (host a)"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no waiting line naming gen.out on host a:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b.opts.ReadyTimeout != 0 {
		t.Errorf("ReadyTimeout with hosts resolved to %s, want 0 (no bound)", b.opts.ReadyTimeout)
	}
	if d := readyTimeout(nil, 0); d != 10*time.Second {
		t.Errorf("ReadyTimeout without hosts resolved to %s, want 10s", d)
	}
	a, err := Load(ctx, "two.hcl", src, Options{Registry: builtinRegistry(t), Host: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "starting before every expected peer") {
		t.Errorf("the body started before its peer:\n%s", logs.String())
	}
	if !bytes.Contains([]byte(logs.String()), []byte(`msg="peer connected"`)) {
		t.Errorf("the peer's arrival was not logged:\n%s", logs.String())
	}
}

// TestStaleVersionIsNotAPeer: a host of another version of the file (here
// another messages value, so another TopologyID) connects, but counts for
// nothing: neither body starts, and each host's waiting line still names
// the peer it needs.
func TestStaleVersionIsNotAPeer(t *testing.T) {
	port := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var logs lockedbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	load := func(src, host string) *Runtime {
		rt, err := Load(ctx, "two.hcl", []byte(src), Options{Registry: builtinRegistry(t), Host: host, Logger: logger, ReadyReport: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	a, b := load(twoHosts(port, 10), "a"), load(twoHosts(port, 11), "b")
	runCtx, stop := context.WithCancel(ctx)
	errs := make(chan error, 2)
	go func() { errs <- a.Run(runCtx) }()
	go func() { errs <- b.Run(runCtx) }()
	// Both connected (the tcp connection is up) yet both wait.
	deadline := time.Now().Add(10 * time.Second)
	for {
		socks := b.Sockets()["count"]
		if len(socks) == 1 && socks[0].Stats.Peers == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("count never connected to the stale generate: %+v", socks)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	for _, rt := range []*Runtime{a, b} {
		if st := rt.Status()[0]; st.State == StateRunning || st.MsgsIn+st.MsgsOut > 0 {
			t.Errorf("%s started with a peer of another version: %+v", st.Name, st)
		}
	}
	for _, w := range []string{`missing gen.out (host a)`, `missing count.in (host b)`} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("no waiting line with %q:\n%s", w, logs.String())
		}
	}
	stop()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
