package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/runtime/socket"
)

func noop() func(Config) (Node, error) {
	return func(Config) (Node, error) {
		return NodeFunc(func(context.Context, Env) error { return nil }), nil
	}
}

func TestRegistryRejectsDuplicatesAndInvalid(t *testing.T) {
	var r Registry
	if err := r.Register(&Kind{Name: "a", New: noop()}, &Kind{Name: "b", New: noop()}); err != nil {
		t.Fatal(err)
	}
	err := r.Register(&Kind{Name: "a", New: noop()})
	if err == nil || !strings.Contains(err.Error(), `"a"`) || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("duplicate: got %v", err)
	}
	if err := r.Register(&Kind{Name: "", New: noop()}); err == nil {
		t.Fatal("empty name accepted")
	}
	if err := r.Register(&Kind{Name: "c"}); err == nil || !strings.Contains(err.Error(), "no New") {
		t.Fatalf("nil New: got %v", err)
	}
	if got := strings.Join(r.Names(), ","); got != "a,b" {
		t.Fatalf("names = %s", got)
	}
	if k, ok := r.Lookup("b"); !ok || k.Name != "b" {
		t.Fatal("lookup b")
	}
	if _, ok := r.Lookup("zzz"); ok {
		t.Fatal("lookup of missing kind succeeded")
	}
	if n := len(r.Kinds()); n != 2 {
		t.Fatalf("kinds = %d", n)
	}
}

func TestConfigDecode(t *testing.T) {
	var cfg struct {
		Reply    string `cty:"reply"`
		Requests int    `cty:"requests"`
		Absent   string `cty:"absent"`
	}
	c := Config{Name: "n", Attrs: cty.ObjectVal(map[string]cty.Value{
		"reply":    cty.StringVal("World"),
		"requests": cty.NumberIntVal(10),
		"extra":    cty.True,
	})}
	if err := c.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Reply != "World" || cfg.Requests != 10 || cfg.Absent != "" {
		t.Fatalf("decoded %+v", cfg)
	}
	bad := Config{Name: "n[1]", Attrs: cty.ObjectVal(map[string]cty.Value{"requests": cty.StringVal("many")})}
	if err := bad.Decode(&cfg); err == nil || !strings.HasPrefix(err.Error(), `n[1]: attribute "requests": `) {
		t.Fatalf("bad decode: %v", err)
	}
	if err := (Config{}).Decode(&cfg); err != nil {
		t.Fatalf("empty config: %v", err)
	}
}

var testKind = &Kind{
	Name: "k",
	Attrs: []Attr{
		{Name: "n", Type: cty.Number, Default: cty.NumberIntVal(7)},
		{Name: "s", Type: cty.String, Default: cty.StringVal("x")},
		{Name: "must", Type: cty.String},
	},
	New: noop(),
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name  string
		attrs cty.Value
		want  map[string]cty.Value
		err   string
	}{
		{"all defaults", cty.ObjectVal(map[string]cty.Value{"must": cty.StringVal("m")}),
			map[string]cty.Value{"n": cty.NumberIntVal(7), "s": cty.StringVal("x"), "must": cty.StringVal("m")}, ""},
		{"given and converted", cty.ObjectVal(map[string]cty.Value{"must": cty.StringVal("m"), "n": cty.StringVal("3")}),
			map[string]cty.Value{"n": cty.NumberIntVal(3), "s": cty.StringVal("x"), "must": cty.StringVal("m")}, ""},
		{"null takes default", cty.ObjectVal(map[string]cty.Value{"must": cty.StringVal("m"), "s": cty.NullVal(cty.String)}),
			map[string]cty.Value{"n": cty.NumberIntVal(7), "s": cty.StringVal("x"), "must": cty.StringVal("m")}, ""},
		{"map input", cty.MapVal(map[string]cty.Value{"must": cty.StringVal("m")}),
			map[string]cty.Value{"n": cty.NumberIntVal(7), "s": cty.StringVal("x"), "must": cty.StringVal("m")}, ""},
		{"missing required", cty.NilVal, nil, `attribute "must" is required`},
		{"unknown attribute", cty.ObjectVal(map[string]cty.Value{"must": cty.StringVal("m"), "zz": cty.True}), nil, `unsupported attribute "zz"`},
		{"wrong type", cty.ObjectVal(map[string]cty.Value{"must": cty.StringVal("m"), "n": cty.StringVal("lots")}), nil, `attribute "n": want number`},
		{"not an object", cty.StringVal("x"), nil, "must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := testKind.Defaults(tt.attrs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := cty.ObjectVal(tt.want); !got.RawEquals(want) {
				t.Fatalf("got %#v, want %#v", got, want)
			}
		})
	}
	empty := &Kind{Name: "e", New: noop()}
	if v, err := empty.Defaults(cty.NilVal); err != nil || !v.RawEquals(cty.EmptyObjectVal) {
		t.Fatalf("empty kind: %#v %v", v, err)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"100ms", 100 * time.Millisecond, ""},
		{"1.5s", 1500 * time.Millisecond, ""},
		{"0", 0, ""},
		{"0s", 0, ""},
		{"100", 0, `attribute "work": invalid duration "100"`},
		{"soon", 0, `attribute "work": invalid duration "soon"`},
		{"-1s", 0, `attribute "work": duration "-1s" must not be negative`},
	} {
		got, err := ParseDuration("work", tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %v, %v", tt.in, got, err)
		}
	}
}

func TestNewActorValidates(t *testing.T) {
	k := &Kind{
		Name: "pipe",
		Attrs: []Attr{
			{Name: "tasks", Type: cty.Number, Default: cty.NumberIntVal(1)},
		},
		Sockets: []SocketDecl{
			{Name: "in", Types: []socket.Type{socket.PULL, socket.SUB}},
			{Name: "capture", Types: []socket.Type{socket.PUSH}, Optional: true},
		},
		New: func(cfg Config) (Node, error) {
			var c struct {
				Tasks int `cty:"tasks"`
			}
			if err := cfg.Decode(&c); err != nil {
				return nil, err
			}
			if c.Tasks < 1 {
				return nil, errAttr("tasks", "must be at least 1")
			}
			return NodeFunc(func(context.Context, Env) error { return nil }), nil
		},
	}
	in := SocketSpec{Name: "in", Type: socket.PULL}
	tests := []struct {
		name string
		spec Spec
		err  string
	}{
		{"ok", Spec{Name: "p", Sockets: []SocketSpec{in}}, ""},
		{"ok with optional", Spec{Name: "p", Sockets: []SocketSpec{in, {Name: "capture", Type: socket.PUSH}}}, ""},
		{"missing required", Spec{Name: "p[1]"}, `p[1]: kind "pipe" requires socket "in"`},
		{"undeclared", Spec{Name: "p", Sockets: []SocketSpec{in, {Name: "out", Type: socket.PUSH}}}, `p: kind "pipe" has no socket "out"`},
		{"type not allowed", Spec{Name: "p", Sockets: []SocketSpec{{Name: "in", Type: socket.REP}}}, `p: socket "in": type REP is not allowed by kind "pipe" (want PULL or SUB)`},
		{"twice", Spec{Name: "p", Sockets: []SocketSpec{in, in}}, `socket "in" declared twice`},
		{"subscribe on PULL", Spec{Name: "p", Sockets: []SocketSpec{{Name: "in", Type: socket.PULL, Subscribe: []string{"a"}}}}, `subscribe is only valid on a SUB socket`},
		{"other kind", Spec{Name: "p", Kind: "other", Sockets: []SocketSpec{in}}, `spec is for kind "other"`},
		{"bad attr", Spec{Name: "p", Sockets: []SocketSpec{in}, Attrs: cty.ObjectVal(map[string]cty.Value{"tasks": cty.NumberIntVal(0)})}, `p: attribute "tasks": must be at least 1`},
		{"unknown attr", Spec{Name: "p", Sockets: []SocketSpec{in}, Attrs: cty.ObjectVal(map[string]cty.Value{"task": cty.NumberIntVal(0)})}, `unsupported attribute "task"`},
	}
	var sc socket.Context
	defer sc.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewActor(k, tt.spec, &sc, nil, nil)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				a.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
		})
	}
	if _, err := NewActor(k, Spec{Name: "p", Sockets: []SocketSpec{in}}, nil, nil, nil); err == nil {
		t.Fatal("nil socket context accepted")
	}
}

type attrError struct{ attr, msg string }

func (e attrError) Error() string { return "attribute \"" + e.attr + "\": " + e.msg }

func errAttr(attr, msg string) error { return attrError{attr, msg} }

// TestAttrErrors: the problems in a Check's error, through errors.Join
// and %w wrapping; a branch without an *AttrError is a problem of the node
// quoting that branch.
func TestAttrErrors(t *testing.T) {
	size := AttrErrorf("size", "must not be negative, got %d", -1)
	tests := []struct {
		name string
		err  error
		want []AttrError
	}{
		{"nil", nil, nil},
		{"one", size, []AttrError{{"size", "must not be negative, got -1"}}},
		{"wrapped", fmt.Errorf("gen: %w", size), []AttrError{{"size", "must not be negative, got -1"}}},
		{"joined", errors.Join(size, AttrErrorf("rate", "bad"), errors.New("no socket")),
			[]AttrError{{"size", "must not be negative, got -1"}, {"rate", "bad"}, {"", "no socket"}}},
		{"wrapped join", fmt.Errorf("gen: %w", errors.Join(size, AttrErrorf("rate", "bad"))),
			[]AttrError{{"size", "must not be negative, got -1"}, {"rate", "bad"}}},
		{"plain", fmt.Errorf("gen: %w", errors.New("boom")), []AttrError{{"", "gen: boom"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AttrErrors(tt.err)
			if len(got) != len(tt.want) {
				t.Fatalf("AttrErrors = %v, want %v", got, tt.want)
			}
			for i := range got {
				if *got[i] != tt.want[i] {
					t.Errorf("[%d] = %+v, want %+v", i, *got[i], tt.want[i])
				}
			}
		})
	}
	if got := size.Error(); got != `attribute "size": must not be negative, got -1` {
		t.Errorf("Error() = %q", got)
	}
	// Decode and ParseDuration name the attribute the same way.
	var c struct {
		N int `cty:"n"`
	}
	err := Config{Name: "x", Attrs: cty.ObjectVal(map[string]cty.Value{"n": cty.NumberFloatVal(1.5)})}.Decode(&c)
	if got := AttrErrors(err); len(got) != 1 || got[0].Attr != "n" || !strings.HasPrefix(err.Error(), `x: attribute "n": `) {
		t.Errorf("Decode: %v -> %v", err, got)
	}
	_, err = ParseDuration("work", "soon")
	if got := AttrErrors(err); len(got) != 1 || got[0].Attr != "work" {
		t.Errorf("ParseDuration: %v -> %v", err, got)
	}
}

// TestCheckKind: a kind without Check has no problems; a panicking Check
// is one problem of the node, not a crash.
func TestCheckKind(t *testing.T) {
	k := &Kind{Name: "k", New: noop()}
	if got := CheckKind(k, Config{}); got != nil {
		t.Errorf("no Check: %v", got)
	}
	k.Check = func(Config) error { panic("oops") }
	if got := CheckKind(k, Config{}); len(got) != 1 || got[0].Attr != "" || !strings.Contains(got[0].Msg, "oops") {
		t.Errorf("panicking Check: %v", got)
	}
	k.Check = func(cfg Config) error { return AttrErrorf("a", "bad %s", cfg.Name) }
	if got := CheckKind(k, Config{Name: "n[1]"}); len(got) != 1 || *got[0] != (AttrError{"a", "bad n[1]"}) {
		t.Errorf("Check: %v", got)
	}
}
