package topology

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

func loadOK(t *testing.T, name, src string, opts Options) *Topology {
	t.Helper()
	if opts.Schemas == nil {
		opts.Schemas = testSchemas()
	}
	tp, _, diags := Load(name, []byte(src), opts)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", name, diags)
	}
	return tp
}

func connectURLs(t *testing.T, tp *Topology, inst, sock string) []string {
	t.Helper()
	var in *Instance
	for _, i := range tp.Instances {
		if i.Name == inst {
			in = i
		}
	}
	if in == nil || in.Socket(sock) == nil {
		t.Fatalf("no %s.%s", inst, sock)
	}
	var out []string
	for _, c := range in.Socket(sock).Connect {
		out = append(out, c.URL)
	}
	return out
}

// TestHostsDecode: host blocks, per-instance placement with count.index,
// cross-host references and the edges' hosts, from a real file.
func TestHostsDecode(t *testing.T) {
	path := "testdata/valid/multihost.hcl"
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tp := loadOK(t, path, string(src), Options{})

	var hosts []string
	for _, h := range tp.Hosts {
		hosts = append(hosts, h.Name+"="+h.Address+"("+h.AddressSource+")")
	}
	if want := []string{"edge=10.0.0.1(file)", "w0=w0.example.internal(file)", "w1=w1.example.internal(file)", "sink=fd00::3(file)"}; !reflect.DeepEqual(hosts, want) {
		t.Errorf("hosts %v, want %v", hosts, want)
	}
	if h := tp.Host("sink"); h == nil || h.Address != "fd00::3" || h.DeclRange.Start.Line != 12 {
		t.Errorf("Host(sink) = %+v", h)
	}
	if tp.Host("nope") != nil {
		t.Error("Host(nope) is not nil")
	}

	place := map[string]string{}
	for _, in := range tp.Instances {
		place[in.Name] = in.Host
	}
	want := map[string]string{"ventilator": "edge", "worker[0]": "w0", "worker[1]": "w1", "worker[2]": "w0", "worker[3]": "w1", "sink": "sink"}
	if !reflect.DeepEqual(place, want) {
		t.Errorf("placement %v, want %v", place, want)
	}
	for _, n := range tp.Nodes {
		wantHost := map[string]string{"ventilator": "edge", "worker": "", "sink": "sink"}[n.Name]
		if n.Host != wantHost {
			t.Errorf("Node %s .Host = %q, want %q", n.Name, n.Host, wantHost)
		}
	}
	var on []string
	for _, in := range tp.InstancesOn("w1") {
		on = append(on, in.Name)
	}
	if !reflect.DeepEqual(on, []string{"worker[1]", "worker[3]"}) {
		t.Errorf("InstancesOn(w1) = %v", on)
	}

	// The sink's ipc bind is left out across hosts; its tcp bind is on the
	// sink's (bracketed IPv6) address.
	if got := connectURLs(t, tp, "worker[2]", "out"); !reflect.DeepEqual(got, []string{"tcp://[fd00::3]:5558"}) {
		t.Errorf("worker[2].out connects %v", got)
	}
	if got := connectURLs(t, tp, "worker[1]", "in"); !reflect.DeepEqual(got, []string{"tcp://10.0.0.1:5557"}) {
		t.Errorf("worker[1].in connects %v", got)
	}
	for _, in := range tp.Instances {
		for _, s := range in.Sockets {
			for _, c := range s.Connect {
				if c.Ref == nil {
					t.Errorf("%s.%s: %s lost its Ref", in.Name, s.Name, c.URL)
				}
			}
		}
	}

	if len(tp.Edges) != 9 {
		t.Fatalf("%d edges, want 9", len(tp.Edges))
	}
	if got := len(tp.CrossHostEdges()); got != 9 {
		t.Errorf("%d cross-host edges, want 9", got)
	}
	for _, e := range tp.Edges {
		if !e.CrossHost || e.ConnectHost == "" || e.BindHost == "" || e.ConnectHost == e.BindHost {
			t.Errorf("edge %s→%s: hosts %q %q cross %v", e.Connect, e.Bind, e.ConnectHost, e.BindHost, e.CrossHost)
		}
	}
	exp := tp.ExpectedPeers()
	if got := exp[SocketRef{"sink", "in"}]; got != 5 {
		t.Errorf("sink.in expects %d, want 5 (ventilator + 4 workers)", got)
	}
	if got := exp[SocketRef{"ventilator", "out"}]; got != 4 {
		t.Errorf("ventilator.out expects %d, want 4", got)
	}
	refs := tp.ExpectedPeerRefs()[SocketRef{"ventilator", "out"}]
	if len(refs) != 4 || refs[0] != (SocketRef{"worker[0]", "in"}) {
		t.Errorf("ventilator.out expects %v", refs)
	}
}

// TestCrossHostResolution: what node.sink.in resolves to for a connecting
// instance on another host, or the same one, for each kind of bind.
func TestCrossHostResolution(t *testing.T) {
	cases := []struct {
		name      string
		bind      string // the sink's bind list, HCL
		addr      string // the sink host's address
		sameHost  bool
		want      []string
		wantEdges int
	}{
		{"wildcard to IPv4", `["tcp://*:5558"]`, "10.0.0.3", false, []string{"tcp://10.0.0.3:5558"}, 1},
		{"wildcard to DNS", `["tcp://*:5558"]`, "sink.example.internal", false, []string{"tcp://sink.example.internal:5558"}, 1},
		{"wildcard to IPv6", `["tcp://*:5558"]`, "fd00::3", false, []string{"tcp://[fd00::3]:5558"}, 1},
		{"0.0.0.0", `["tcp://0.0.0.0:5558"]`, "10.0.0.3", false, []string{"tcp://10.0.0.3:5558"}, 1},
		{"IPv6 wildcard", `["tcp://[::]:5558"]`, "10.0.0.3", false, []string{"tcp://10.0.0.3:5558"}, 1},
		{"explicit address", `["tcp://10.0.0.3:5558"]`, "10.0.0.3", false, []string{"tcp://10.0.0.3:5558"}, 1},
		{"ipc and inproc left out", `["ipc:///tmp/topo-x", "tcp://*:5558", "inproc://x"]`, "10.0.0.3", false, []string{"tcp://10.0.0.3:5558"}, 1},
		{"only ipc", `["ipc:///tmp/topo-x"]`, "10.0.0.3", false, nil, 0},
		{"two tcp binds", `["tcp://*:5558", "tcp://*:5559"]`, "10.0.0.3", false, []string{"tcp://10.0.0.3:5558", "tcp://10.0.0.3:5559"}, 2},
		{"same host", `["tcp://*:5558"]`, "10.0.0.3", true, []string{"tcp://127.0.0.1:5558"}, 1},
		{"same host keeps ipc", `["ipc:///tmp/topo-x", "tcp://*:5558"]`, "10.0.0.3", true, []string{"ipc:///tmp/topo-x", "tcp://127.0.0.1:5558"}, 2},
		{"same host ephemeral", `["tcp://127.0.0.1:0"]`, "10.0.0.3", true, []string{"tcp://127.0.0.1:0"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srcHost := "src"
			if c.sameHost {
				srcHost = "dst"
			}
			src := fmt.Sprintf(`
host "src" { address = "10.0.0.1" }
host "dst" { address = %q }
node "gen" {
  type = "generate"
  host = %q
  socket "out" {
    type    = "PUSH"
    connect = [node.sink.in]
  }
}
node "sink" {
  type = "count"
  host = "dst"
  socket "in" {
    type = "PULL"
    bind = %s
  }
}
`, c.addr, srcHost, c.bind)
			tp, _, diags := Load("t.hcl", []byte(src), Options{Schemas: testSchemas()})
			if diags.HasErrors() && c.wantEdges > 0 {
				t.Fatal(diags)
			}
			if got := connectURLs(t, tp, "gen", "out"); !reflect.DeepEqual(got, c.want) {
				t.Errorf("gen.out connects %v, want %v", got, c.want)
			}
			if len(tp.Edges) != c.wantEdges {
				t.Fatalf("%d edges, want %d", len(tp.Edges), c.wantEdges)
			}
			for i, e := range tp.Edges {
				if e.CrossHost == c.sameHost || e.Endpoint != c.want[i] || e.ConnectHost != srcHost || e.BindHost != "dst" {
					t.Errorf("edge %+v", e)
				}
			}
			for _, ep := range tp.Instances[0].Sockets[0].Connect {
				if ep.Ref == nil || *ep.Ref != (SocketRef{"sink", "in"}) {
					t.Errorf("%s: Ref %v", ep.URL, ep.Ref)
				}
			}
		})
	}
}

const twoHosts = `
host "a" { address = "10.0.0.1" }
host "b" { address = "10.0.0.2" }
node "gen" {
  type = "generate"
  host = "a"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://*:6000"]
  }
}
node "w" {
  type  = "count"
  count = 2
  host  = count.index == 0 ? "a" : "b"
  socket "in" {
    type    = "PULL"
    connect = [node.gen.out]
  }
}
`

// TestHostAddressOptions: Options.HostAddresses replaces an address at
// decode time; an unknown host name or a bad address is a clear error.
func TestHostAddressOptions(t *testing.T) {
	tp := loadOK(t, "t.hcl", twoHosts, Options{HostAddresses: map[string]string{"a": "gen.ns.svc.cluster.local"}})
	if h := tp.Host("a"); h.Address != "gen.ns.svc.cluster.local" || h.AddressSource != "HostAddresses" {
		t.Errorf("host a: %+v", h)
	}
	if got := connectURLs(t, tp, "w[1]", "in"); !reflect.DeepEqual(got, []string{"tcp://gen.ns.svc.cluster.local:6000"}) {
		t.Errorf("w[1].in connects %v", got)
	}
	if got := connectURLs(t, tp, "w[0]", "in"); !reflect.DeepEqual(got, []string{"tcp://127.0.0.1:6000"}) {
		t.Errorf("w[0].in (same host) connects %v", got)
	}

	for _, c := range []struct {
		addrs map[string]string
		want  []string
	}{
		{map[string]string{"bb": "10.1.1.1"}, []string{"Unknown host", `"bb"`, `Did you mean "b"?`, "hosts: a, b"}},
		{map[string]string{"a": "[::1]"}, []string{"Invalid host address", "without brackets"}},
		{map[string]string{"a": "0.0.0.0"}, []string{"Invalid host address", "wildcard"}},
	} {
		_, _, diags := Load("t.hcl", []byte(twoHosts), Options{Schemas: testSchemas(), HostAddresses: c.addrs})
		if !diags.HasErrors() {
			t.Errorf("%v: no error", c.addrs)
			continue
		}
		errs := diags.Errs()
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		for _, w := range c.want {
			if !strings.Contains(strings.Join(all, "\n"), w) {
				t.Errorf("%v: %q not in %v", c.addrs, w, errs)
			}
		}
	}
	_, _, diags := Load("t.hcl", []byte(`node "g" {
  type = "generate"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:0"]
  }
}`), Options{Schemas: testSchemas(), HostAddresses: map[string]string{"a": "10.0.0.1"}})
	if !strings.Contains(diags.Error(), "declares no host blocks") {
		t.Errorf("HostAddresses on a file without hosts: %v", diags)
	}
}

// TestLoopbackHosts: -host all gives each host 127.0.0.2, 127.0.0.3, ...
// and binds each host's tcp endpoints on its own address, so replicas on
// different hosts share a port without colliding.
func TestLoopbackHosts(t *testing.T) {
	if got := LoopbackAddresses([]*Host{{Name: "x"}, {Name: "y"}, {Name: "z"}}); !reflect.DeepEqual(got, map[string]string{"x": "127.0.0.2", "y": "127.0.0.3", "z": "127.0.0.4"}) {
		t.Errorf("LoopbackAddresses = %v", got)
	}
	if got := loopbackAddress(300); got != "127.0.1.46" {
		t.Errorf("loopbackAddress(300) = %s", got)
	}
	src := twoHosts + `
node "s" {
  type  = "count"
  count = 2
  host  = count.index == 0 ? "a" : "b"
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:6001"]
  }
}
node "g2" {
  type = "generate"
  host = "a"
  socket "out" {
    type    = "PUSH"
    connect = [node.s.in]
  }
}`
	tp := loadOK(t, "t.hcl", src, Options{LoopbackHosts: true, HostAddresses: map[string]string{}})
	if h := tp.Host("b"); h.Address != "127.0.0.3" || h.AddressSource != "loopback" {
		t.Errorf("host b: %+v", h)
	}
	for _, in := range tp.Instances {
		if in.Name == "s[1]" {
			if got := in.Sockets[0].Bind[0].URL; got != "tcp://127.0.0.3:6001" {
				t.Errorf("s[1] binds %s", got)
			}
		}
	}
	if got := connectURLs(t, tp, "g2", "out"); !reflect.DeepEqual(got, []string{"tcp://127.0.0.2:6001", "tcp://127.0.0.3:6001"}) {
		t.Errorf("g2.out connects %v", got)
	}
	if got := connectURLs(t, tp, "w[1]", "in"); !reflect.DeepEqual(got, []string{"tcp://127.0.0.2:6000"}) {
		t.Errorf("w[1].in connects %v", got)
	}
	// HostAddresses still win over the loopback ones.
	tp = loadOK(t, "t.hcl", src, Options{LoopbackHosts: true, HostAddresses: map[string]string{"b": "127.0.0.9"}})
	if h := tp.Host("b"); h.Address != "127.0.0.9" {
		t.Errorf("host b: %+v", h)
	}
}

// TestHostsBindTwice: replicas on different hosts may bind one port;
// two instances on one host may not, and the error names the host.
func TestHostsBindTwice(t *testing.T) {
	spread := `
host "a" { address = "10.0.0.1" }
host "b" { address = "10.0.0.2" }
node "s" {
  type  = "count"
  count = 2
  host  = %s
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:6001"]
  }
}
node "g" {
  type = "generate"
  host = "a"
  socket "out" {
    type    = "PUSH"
    connect = [node.s.in]
  }
}`
	loadOK(t, "t.hcl", fmt.Sprintf(spread, `count.index == 0 ? "a" : "b"`), Options{})
	_, _, diags := Load("t.hcl", []byte(fmt.Sprintf(spread, `"b"`)), Options{Schemas: testSchemas()})
	if !strings.Contains(diags.Error(), "Endpoint bound twice") || !strings.Contains(diags.Error(), `on host "b"`) {
		t.Errorf("same host: %v", diags)
	}
}

// TestLiteralConnectAcrossHosts: a literal connect to a host's address
// wires to the instance that binds it there.
func TestLiteralConnectAcrossHosts(t *testing.T) {
	tp := loadOK(t, "t.hcl", `
host "a" { address = "10.0.0.1" }
host "b" { address = "10.0.0.2" }
node "s" {
  type = "count"
  host = "b"
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:6001"]
  }
}
node "g" {
  type = "generate"
  host = "a"
  socket "out" {
    type    = "PUSH"
    connect = ["tcp://10.0.0.2:6001"]
  }
}`, Options{})
	if len(tp.Edges) != 1 || tp.Edges[0].Bind != (SocketRef{"s", "in"}) || !tp.Edges[0].CrossHost {
		t.Errorf("edges %v", tp.Edges)
	}
}

// TestNoHostBlocks: without host blocks host stays a label (now per
// instance, so count.index works) and references resolve as on one
// machine, whatever the labels.
func TestNoHostBlocks(t *testing.T) {
	tp := loadOK(t, "t.hcl", `
node "s" {
  type = "count"
  host = "all"
  socket "in" {
    type = "PULL"
    bind = ["ipc:///tmp/topo-nohosts"]
  }
}
node "g" {
  type  = "generate"
  count = 2
  host  = "rack${count.index}"
  socket "out" {
    type    = "PUSH"
    connect = [node.s.in]
  }
}`, Options{})
	if len(tp.Hosts) != 0 {
		t.Errorf("hosts %v", tp.Hosts)
	}
	if got := connectURLs(t, tp, "g[1]", "out"); !reflect.DeepEqual(got, []string{"ipc:///tmp/topo-nohosts"}) {
		t.Errorf("g[1].out connects %v", got)
	}
	if tp.Instances[2].Host != "rack1" || tp.Nodes[1].Host != "" || tp.Nodes[0].Host != "all" {
		t.Errorf("hosts: %q %q %q", tp.Instances[2].Host, tp.Nodes[1].Host, tp.Nodes[0].Host)
	}
	for _, e := range tp.Edges {
		if e.CrossHost {
			t.Errorf("edge %s→%s is cross-host without host blocks", e.Connect, e.Bind)
		}
	}
}

// TestHostDiagnosticsLocated: every host diagnostic from a file has a
// range (the fixture checks lines; this checks the no-range ones are only
// about Options).
func TestHostDiagnosticsLocated(t *testing.T) {
	src, _ := os.ReadFile("testdata/invalid/hosts.hcl")
	_, _, diags := Load("hosts.hcl", src, Options{Schemas: testSchemas()})
	for _, d := range diags {
		if d.Subject == nil || d.Subject.Filename != "hosts.hcl" {
			t.Errorf("unlocated: %v", d)
		}
	}
}

// TestHostsJSONSyntax: host blocks in the JSON form.
func TestHostsJSONSyntax(t *testing.T) {
	src := `{
  "host": {"a": {"address": "10.0.0.1"}, "b": {"address": "10.0.0.2"}},
  "node": {
    "g": {"type": "generate", "host": "a", "socket": {"out": {"type": "PUSH", "connect": "${node.s.in}"}}},
    "s": {"type": "count", "host": "b", "socket": {"in": {"type": "PULL", "bind": "tcp://*:6000"}}}
  }
}`
	tp := loadOK(t, "t.hcl.json", src, Options{})
	if len(tp.Hosts) != 2 || tp.Hosts[1].Address != "10.0.0.2" {
		t.Fatalf("hosts %+v", tp.Hosts)
	}
	if got := connectURLs(t, tp, "g", "out"); !reflect.DeepEqual(got, []string{"tcp://10.0.0.2:6000"}) {
		t.Errorf("g.out connects %v", got)
	}
	_, _, diags := Load("t.hcl.json", []byte(`{"host": {"a": {"address": "10.0.0.1"}}, "node": {"g": {"type": "generate", "host": "x", "socket": {"out": {"type": "PUSH", "bind": "tcp://*:1"}}}}}`), Options{Schemas: testSchemas()})
	found := false
	for _, d := range diags {
		if d.Summary == "Unknown host" && d.Subject != nil && d.Subject.Start.Line == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no located Unknown host: %v", diags)
	}
}

// TestGraphHostClusters: with hosts, DOT has one cluster per host and
// Mermaid one subgraph, and cross-host edges show their address; without
// hosts neither has any.
func TestGraphHostClusters(t *testing.T) {
	src, err := os.ReadFile("testdata/valid/multihost.hcl")
	if err != nil {
		t.Fatal(err)
	}
	tp := loadOK(t, "m.hcl", string(src), Options{})
	var dot, mmd strings.Builder
	if err := tp.WriteDOT(&dot); err != nil {
		t.Fatal(err)
	}
	if err := tp.WriteMermaid(&mmd); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`subgraph "cluster_w0" {`, `label="sink (fd00::3)";`, `    "worker[2]" [label="worker[2]"];`, `label="PUSH→PULL\ntcp://10.0.0.1:5557"`} {
		if !strings.Contains(dot.String(), want) {
			t.Errorf("DOT lacks %q:\n%s", want, dot.String())
		}
	}
	if n := strings.Count(dot.String(), "subgraph"); n != 4 {
		t.Errorf("%d DOT clusters, want 4", n)
	}
	for _, want := range []string{`subgraph h1["w0 (w0.example.internal)"]`, "    n3[\"worker[2]\"]\n", "<br/>tcp://[fd00::3]:5558"} {
		if !strings.Contains(mmd.String(), want) {
			t.Errorf("Mermaid lacks %q:\n%s", want, mmd.String())
		}
	}
	if n := strings.Count(mmd.String(), "\n  end\n"); n != 4 {
		t.Errorf("%d Mermaid subgraphs, want 4", n)
	}
	plain := loadOK(t, "p.hcl", `node "g" {
  type = "generate"
  host = "label"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:0"]
  }
}`, Options{})
	dot.Reset()
	mmd.Reset()
	_ = plain.WriteDOT(&dot)
	_ = plain.WriteMermaid(&mmd)
	if strings.Contains(dot.String(), "subgraph") || strings.Contains(mmd.String(), "subgraph") {
		t.Errorf("clusters without host blocks:\n%s\n%s", dot.String(), mmd.String())
	}
}
