package plugins

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins/pluginproto"
	"github.com/topo-zmq/topo/runtime/socket"
)

func serveTestKind(name string) *Kind {
	return &Kind{
		Name: name, Doc: "doc of " + name, Life: Task,
		Attrs: []Attr{
			{Name: "prefix", Type: cty.String, Default: cty.StringVal("p"), Doc: "a prefix"},
			{Name: "n", Type: cty.Number, Doc: "required"},
			{Name: "tags", Type: cty.List(cty.String), Default: cty.ListValEmpty(cty.String)},
		},
		Sockets: []SocketDecl{{Name: "in", Types: []socket.Type{socket.PULL, socket.SUB}, Optional: true, Doc: "input"}},
		New: func(Config) (Node, error) {
			return NodeFunc(func(context.Context, Env) error { return nil }), nil
		},
	}
}

// TestDescribe: what a plugin says about its kinds, on the wire.
func TestDescribe(t *testing.T) {
	var reg Registry
	reg.MustRegister(serveTestKind("b"), serveTestKind("a"))
	d, err := describe(&reg)
	if err != nil {
		t.Fatal(err)
	}
	if d.Protocol != pluginproto.ProtocolVersion || d.Revision != pluginproto.ProtocolRevision || len(d.Kinds) != 2 || d.Kinds[0].Name != "a" {
		t.Fatalf("description = %+v", d)
	}
	if d.Kinds[0].Check {
		t.Errorf("kind without Check described as checked: %+v", d.Kinds[0])
	}
	k := d.Kinds[0]
	if k.Life != "task" || k.Doc != "doc of a" || len(k.Attrs) != 3 || len(k.Sockets) != 1 {
		t.Fatalf("kind = %+v", k)
	}
	if k.Attrs[1].Default != nil {
		t.Errorf("required attribute has a default: %+v", k.Attrs[1])
	}
	ty, err := pluginproto.DecodeType(k.Attrs[2].Type)
	if err != nil || !ty.Equals(cty.List(cty.String)) {
		t.Errorf("tags type = %#v, %v", ty, err)
	}
	def, err := pluginproto.DecodeValue(*k.Attrs[0].Default)
	if err != nil || !def.RawEquals(cty.StringVal("p")) {
		t.Errorf("prefix default = %#v, %v", def, err)
	}
	s := k.Sockets[0]
	if strings.Join(s.Types, ",") != "PULL,SUB" || !s.Optional || s.Doc != "input" {
		t.Errorf("socket = %+v", s)
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatal(err)
	}
}

// TestServeRefuses: invalid kinds, and a process not started by topo.
func TestServeRefuses(t *testing.T) {
	noNew := serveTestKind("x")
	noNew.New = nil
	for _, tc := range []struct {
		kinds []*Kind
		want  string
	}{
		{[]*Kind{serveTestKind("a"), serveTestKind("a")}, `"a": a kind with that name is already registered`},
		{[]*Kind{noNew}, `kind "x" has no New`},
		{[]*Kind{serveTestKind("a")}, "this program is a topo plugin (serving a)"},
	} {
		err := serve(tc.kinds, pluginproto.ProtocolVersion)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve = %v, want %q", err, tc.want)
		}
	}
}

// TestSpecFromWire keeps every field, and nil vs empty subscriptions.
func TestSpecFromWire(t *testing.T) {
	attrs, _ := pluginproto.EncodeValue(cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(2)}))
	w := &pluginproto.Spec{Name: "w[2]", Run: "0123abcd", Index: 2, Kind: "a", Attrs: attrs, Sockets: []pluginproto.SocketSpec{
		{Name: "in", Type: "sub", Bind: []string{"tcp://127.0.0.1:0"}, Subscribe: []string{}, HWM: 10, Identity: "id", Expect: 3},
	}}
	s, err := specFromWire(w)
	if err != nil {
		t.Fatal(err)
	}
	ss := s.Sockets[0]
	if s.Name != "w[2]" || s.Run != "0123abcd" || s.Index != 2 || s.Kind != "a" || !s.Attrs.GetAttr("n").RawEquals(cty.NumberIntVal(2)) ||
		ss.Type != socket.SUB || ss.Bind[0] != "tcp://127.0.0.1:0" || ss.Subscribe == nil || ss.HWM != 10 || ss.Identity != "id" || ss.Expect != 3 {
		t.Errorf("spec = %+v", s)
	}
	w.Sockets[0].Type = "NOPE"
	if _, err := specFromWire(w); err == nil || !strings.Contains(err.Error(), `w[2]: socket "in"`) {
		t.Errorf("bad type error = %v", err)
	}
}

// TestProcessProcs: the GOMAXPROCS a node's own process gets for Kind.Procs.
func TestProcessProcs(t *testing.T) {
	for _, tc := range []struct{ procs, cpus, want int }{
		{0, 1, 1}, {0, 2, 1}, {0, 3, 1}, {0, 4, 2}, {0, 64, 32},
		{-1, 2, 2}, {-1, 64, 64},
		{3, 2, 3}, {1, 64, 1},
	} {
		if got := processProcs(tc.procs, tc.cpus); got != tc.want {
			t.Errorf("processProcs(%d, %d) = %d, want %d", tc.procs, tc.cpus, got, tc.want)
		}
	}
}

// TestServeCheck: the plugin side of Check runs each configuration's kind
// check, in order, and says so for a kind it does not serve.
func TestServeCheck(t *testing.T) {
	var reg Registry
	k := serveTestKind("a")
	k.Check = func(cfg Config) error {
		var c struct {
			N int `cty:"n"`
		}
		if err := cfg.Decode(&c); err != nil {
			return err
		}
		if c.N < 0 {
			return AttrErrorf("n", "must not be negative, got %d (%s)", c.N, cfg.Name)
		}
		return nil
	}
	reg.MustRegister(k, serveTestKind("b"))
	if d, err := describe(&reg); err != nil || !d.Kinds[0].Check || d.Kinds[1].Check {
		t.Errorf("described: %+v, %v; want a checked, b not", d, err)
	}
	s := &nodeServer{reg: &reg}
	cfg := func(kind, name string, n int64) pluginproto.CheckConfig {
		v, err := pluginproto.EncodeValue(cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(n)}))
		if err != nil {
			t.Fatal(err)
		}
		return pluginproto.CheckConfig{Kind: kind, Name: name, Attrs: v}
	}
	r, err := s.Check(t.Context(), &pluginproto.CheckRequest{Configs: []pluginproto.CheckConfig{
		cfg("a", "a[0]", -1), cfg("a", "a[1]", 1), cfg("b", "b", -1), cfg("c", "c", 0),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 4 {
		t.Fatalf("problems = %+v", r.Problems)
	}
	if p := r.Problems[0]; len(p) != 1 || p[0] != (pluginproto.AttrProblem{Attr: "n", Msg: "must not be negative, got -1 (a[0])"}) {
		t.Errorf("a[0]: %+v", p)
	}
	if len(r.Problems[1]) != 0 || len(r.Problems[2]) != 0 {
		t.Errorf("valid, and no Check: %+v", r.Problems)
	}
	if p := r.Problems[3]; len(p) != 1 || p[0].Attr != "" || !strings.Contains(p[0].Msg, `does not serve kind "c" (it serves a, b)`) {
		t.Errorf("unknown kind: %+v", p)
	}
}

// FuzzServeCheck: whatever a Check request holds, the plugin side answers
// it (once per configuration) or refuses it, without panicking.
func FuzzServeCheck(f *testing.F) {
	f.Add([]byte(`{"configs":[{"kind":"a","name":"a","attrs":{"type":["object",{"n":"number"}],"value":{"n":-1}}}]}`))
	f.Add([]byte(`{"configs":[{"kind":"a","name":"a","attrs":{"type":"string","value":"x"}}]}`))
	f.Add([]byte(`{"configs":[{"kind":"a","attrs":{"type":["object",{"n":"string"}],"value":{"n":"1e400"}}},{"kind":"zz"}]}`))
	f.Add([]byte(`{"configs":[{"kind":"a","attrs":{"type":"dynamic","value":{"value":null,"type":"number"}}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var reg Registry
		k := serveTestKind("a")
		k.Check = func(cfg Config) error {
			var c struct {
				N int `cty:"n"`
			}
			return cfg.Decode(&c)
		}
		reg.MustRegister(k)
		var req pluginproto.CheckRequest
		if json.Unmarshal(b, &req) != nil {
			return
		}
		r, err := (&nodeServer{reg: &reg}).Check(t.Context(), &req)
		if err != nil {
			return
		}
		if len(r.Problems) != len(req.Configs) {
			t.Fatalf("%d answers for %d configurations", len(r.Problems), len(req.Configs))
		}
	})
}
