package topology

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/internal/endpoint"
)

func mustLoad(t *testing.T, src string) *Topology {
	t.Helper()
	tp, _, diags := Load("t.hcl", []byte(src), Options{Schemas: testSchemas()})
	if diags.HasErrors() {
		t.Fatalf("errors: %v", diags)
	}
	return tp
}

func instance(tp *Topology, name string) *Instance {
	for _, i := range tp.Instances {
		if i.Name == name {
			return i
		}
	}
	return nil
}

// TestReferencesThroughFunctions: a connect keeps pointing at the right
// bound socket through functions and ephemeral ports, per replica.
func TestReferencesThroughFunctions(t *testing.T) {
	tp := mustLoad(t, `
node "srv" {
  type  = "hello-server"
  count = 3
  socket "in" {
    type = "ROUTER"
    bind = ["tcp://127.0.0.1:0"]
  }
}
node "one" {
  type  = "hello-client"
  count = 3
  socket "out" {
    type    = "REQ"
    connect = [element(node.srv.in, count.index)]
  }
}
node "two" {
  type = "hello-client"
  socket "out" {
    type    = "DEALER"
    connect = concat(node.srv[2].in, node.srv[0].in)
  }
}
node "all" {
  type = "hello-client"
  socket "out" {
    type    = "DEALER"
    connect = node.srv.in
  }
}
`)
	refs := func(inst string) []string {
		var out []string
		for _, c := range instance(tp, inst).Socket("out").Connect {
			if c.Ref == nil {
				out = append(out, "<nil>")
				continue
			}
			out = append(out, c.Ref.String())
		}
		return out
	}
	for i := 0; i < 3; i++ {
		if got, want := refs(fmt.Sprintf("one[%d]", i)), []string{fmt.Sprintf("srv[%d].in", i)}; !slices.Equal(got, want) {
			t.Errorf("one[%d] refs %v, want %v", i, got, want)
		}
	}
	if got, want := refs("two"), []string{"srv[2].in", "srv[0].in"}; !slices.Equal(got, want) {
		t.Errorf("two refs %v, want %v", got, want)
	}
	if got, want := refs("all"), []string{"srv[0].in", "srv[1].in", "srv[2].in"}; !slices.Equal(got, want) {
		t.Errorf("all refs %v, want %v", got, want)
	}
	if n := len(tp.Edges); n != 3+2+3 {
		t.Errorf("%d edges, want 8", n)
	}
	for _, e := range tp.Edges {
		if e.Endpoint != "tcp://127.0.0.1:0" || e.Lossy == "" || e.PeerLoss == "" || e.Range.Start.Line == 0 {
			t.Errorf("edge %+v", e)
		}
	}
}

func TestWildcardRewrite(t *testing.T) {
	tp := mustLoad(t, `
node "pub" {
  type = "weather-publisher"
  socket "out" {
    type = "PUB"
    bind = ["tcp://*:7301", "tcp://0.0.0.0:7302", "tcp://[::]:7303", "tcp://*:*", "ipc:///tmp/x", "inproc://y"]
  }
}
node "sub" {
  type = "weather-client"
  socket "in" {
    type      = "SUB"
    connect   = node.pub.out
    subscribe = [""]
  }
}
`)
	var got []string
	for _, c := range instance(tp, "sub").Socket("in").Connect {
		got = append(got, c.URL)
	}
	want := []string{"tcp://127.0.0.1:7301", "tcp://127.0.0.1:7302", "tcp://[::1]:7303", "tcp://127.0.0.1:0", "ipc:///tmp/x", "inproc://y"}
	if !slices.Equal(got, want) {
		t.Errorf("connects %v\nwant %v", got, want)
	}
}

func TestNodeMetaAndAttrs(t *testing.T) {
	tp := mustLoad(t, `
plugin "text" {
  source = "./text"
}
node "a" {
  type       = "keyed"
  key        = "k-${1 + 1}"
  restart    = "never"
  isolation  = "process"
  host       = "h1"
  depends_on = [node.b, "c"]
}
node "b" {
  type = "print"
  socket "in" {
    type    = "PULL"
    bind    = "tcp://127.0.0.1:7310"
    hwm     = 5
  }
}
node "c" {
  type = "text.upper"
  socket "in" {
    type     = "REP"
    bind     = "ipc:///tmp/c"
    identity = "me"
  }
}
`)
	a := tp.Nodes[0]
	if a.Kind != "keyed" || a.Count != -1 || a.Restart != "never" || a.Isolation != "process" || a.Host != "h1" || !slices.Equal(a.DependsOn, []string{"b", "c"}) {
		t.Errorf("node a %+v", a)
	}
	attrs := instance(tp, "a").Attrs
	if attrs.GetAttr("key").AsString() != "k-2" || !attrs.GetAttr("tags").RawEquals(cty.ListValEmpty(cty.String)) {
		t.Errorf("attrs %#v", attrs)
	}
	if tp.Nodes[2].Isolation != "process" {
		t.Errorf("plugin kind isolation %q, want process", tp.Nodes[2].Isolation)
	}
	if s := instance(tp, "b").Socket("in"); s.HWM != 5 || s.Type != "PULL" {
		t.Errorf("socket %+v", s)
	}
	if s := instance(tp, "c").Socket("in"); s.Identity != "me" {
		t.Errorf("socket %+v", s)
	}
	if !slices.Equal(tp.StartOrder, []string{"b", "c", "a"}) {
		t.Errorf("start order %v", tp.StartOrder)
	}
	if len(tp.Plugins) != 1 || tp.Plugins[0].Source != "./text" {
		t.Errorf("plugins %+v", tp.Plugins)
	}
}

func TestPluginsBeforeKinds(t *testing.T) {
	f, diags := Parse("p.hcl", []byte(`
variable "dir" {
  default = "./bin"
}
plugin "text" {
  command = "${var.dir}/topo-text"
  sha256  = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
}
plugin "both" { # needs exactly one of command and source
  command = "a"
  source  = "b"
}
plugin "tuned" {
  command = "t"
  env = {
    GOMAXPROCS = 1
    LOG_FORMAT = "json"
    DEBUG      = true
  }
}
plugin "badenv" {
  command = "b"
  env     = { "1X" = "y" }
}
plugin "listenv" {
  command = "b"
  env     = ["A=1"]
}
plugin "nestedenv" {
  command = "b"
  env     = { A = ["x"] }
}
node "n" {
  type = "text.upper"
}
`))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ps, diags := f.Plugins(Options{Args: []VarArg{{"var", "dir=/opt"}}})
	if len(ps) != 6 || ps[0].Command != "/opt/topo-text" || ps[0].DeclRange.Start.Line != 5 {
		t.Fatalf("plugins %+v", ps)
	}
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "Conflicting plugin location") {
		t.Errorf("diags %v", diags)
	}
	if want := map[string]string{"GOMAXPROCS": "1", "LOG_FORMAT": "json", "DEBUG": "true"}; !maps.Equal(ps[2].Env, want) {
		t.Errorf("env %v, want %v", ps[2].Env, want)
	}
	// Each bad env is reported at its line, naming the problem.
	for _, want := range []struct {
		line int
		text string
	}{
		{23, `"1X" is not a valid environment variable name`},
		{27, "must be an object of environment variables"},
		{31, `env.A of plugin "nestedenv" must be a string`},
	} {
		found := false
		for _, d := range diags {
			if d.Subject != nil && d.Subject.Start.Line == want.line && strings.Contains(d.Detail, want.text) {
				found = true
			}
		}
		if !found {
			t.Errorf("no diagnostic at line %d saying %q in %v", want.line, want.text, diags)
		}
	}
}

func TestEndpointParsing(t *testing.T) {
	cases := []struct {
		url        string
		bind, ok   bool
		connectURL string
	}{
		{"tcp://127.0.0.1:7555", true, true, "tcp://127.0.0.1:7555"},
		{"tcp://*:7555", true, true, "tcp://127.0.0.1:7555"},
		{"tcp://*:7555", false, false, ""},
		{"tcp://localhost:1", true, true, "tcp://127.0.0.1:1"},
		{"tcp://[::1]:5", true, true, "tcp://[::1]:5"},
		{"tcp://[zz]:5", true, false, ""},
		{"tcp://host:0", false, false, ""},
		{"tcp://host:70000", true, false, ""},
		{"tcp://host:", true, false, ""},
		{"tcp://:5", true, false, ""},
		{"ipc:///tmp/a", false, true, "ipc:///tmp/a"},
		{"ipc://", true, false, ""},
		{"inproc://x", true, true, "inproc://x"},
		{"udp://x:1", true, false, ""},
		{"127.0.0.1:7555", true, false, ""},
	}
	for _, c := range cases {
		ep, err := endpoint.Parse(c.url, c.bind)
		if (err == nil) != c.ok {
			t.Errorf("parseEndpoint(%q, bind=%v) error %v, want ok=%v", c.url, c.bind, err, c.ok)
			continue
		}
		if err == nil && ep.Connectable().String() != c.connectURL {
			t.Errorf("connectable(%q) = %q, want %q", c.url, ep.Connectable(), c.connectURL)
		}
	}
	conflict := func(a, b string) bool {
		x, _ := endpoint.Parse(a, true)
		y, _ := endpoint.Parse(b, true)
		return x.Conflicts(y)
	}
	if !conflict("tcp://*:1", "tcp://127.0.0.1:1") || conflict("tcp://127.0.0.1:1", "tcp://127.0.0.2:1") ||
		conflict("tcp://127.0.0.1:0", "tcp://127.0.0.1:0") || !conflict("ipc:///a", "ipc:///a") || conflict("ipc:///a", "inproc:///a") {
		t.Error("conflicts")
	}
}

// TestCompatibilityMatrix: exactly ZMTP's valid pairs, symmetric, and the
// lossy ones explained.
func TestCompatibilityMatrix(t *testing.T) {
	valid := map[string]bool{}
	for _, p := range []string{"PAIR-PAIR", "PUB-SUB", "PUB-XSUB", "XPUB-SUB", "XPUB-XSUB", "REQ-REP", "REQ-ROUTER",
		"DEALER-REP", "DEALER-DEALER", "DEALER-ROUTER", "ROUTER-ROUTER", "PUSH-PULL"} {
		a, b, _ := strings.Cut(p, "-")
		valid[a+"-"+b], valid[b+"-"+a] = true, true
	}
	for _, a := range socketTypes() {
		for _, b := range socketTypes() {
			if got := Compatible(a, b); got != valid[a+"-"+b] {
				t.Errorf("Compatible(%s, %s) = %v", a, b, got)
			}
			if !Compatible(a, b) {
				continue
			}
			lossy := lossiness(a, b) != ""
			wantLossy := slices.Contains([]string{a, b}, "PUB") || slices.Contains([]string{a, b}, "XPUB") || slices.Contains([]string{a, b}, "ROUTER")
			if lossy != wantLossy {
				t.Errorf("lossiness(%s, %s) = %q", a, b, lossiness(a, b))
			}
			// No edge is safe from a peer that dies: each says what it loses.
			if pl := peerLoss(a, b); !strings.Contains(pl, "dies") || pl != peerLoss(b, a) {
				t.Errorf("peerLoss(%s, %s) = %q, peerLoss(%s, %s) = %q", a, b, pl, b, a, peerLoss(b, a))
			}
		}
	}
}

func TestGraphDeterministic(t *testing.T) {
	src, err := os.ReadFile("testdata/valid/features.hcl")
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for i := 0; i < 5; i++ {
		tp, _, _ := Load("features.hcl", src, Options{Schemas: testSchemas()})
		var b strings.Builder
		tp.WriteDOT(&b)
		tp.WriteMermaid(&b)
		if i == 0 {
			first = b.String()
		} else if b.String() != first {
			t.Fatal("graph output differs between runs")
		}
	}
	for _, want := range []string{`"client" -> "broker" [label="DEALER→ROUTER"`, `"broker" -> "server[0]" [label="DEALER→REP"`, "style=dashed", "flowchart LR", `"feeder" -> "local_pair" [label="PUSH→PULL"`} {
		if !strings.Contains(first, want) {
			t.Errorf("graph lacks %q:\n%s", want, first)
		}
	}
}
