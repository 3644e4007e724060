package runtime

import (
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
)

// TestSchemasForBuiltin: the adapter carries every built-in kind with its
// attributes, defaults, sockets and life.
func TestSchemasForBuiltin(t *testing.T) {
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		t.Fatal(err)
	}
	s := Schemas(&reg, nil)
	if got, want := len(s.Kinds()), len(reg.Names()); got != want || got == 0 {
		t.Fatalf("%d kinds, want %d", got, want)
	}
	for _, k := range reg.Kinds() {
		ks, ok := s.Schema(k.Name)
		if !ok || ks.Name != k.Name || ks.Task != (k.Life == plugins.Task) || len(ks.Attrs) != len(k.Attrs) || len(ks.Sockets) != len(k.Sockets) {
			t.Errorf("%s: schema %+v", k.Name, ks)
			continue
		}
		for i, a := range k.Attrs {
			as := ks.Attrs[i]
			if as.Name != a.Name || !as.Type.Equals(a.Type) || as.Required != a.Required() || (!a.Required() && !as.Default.RawEquals(a.Default)) {
				t.Errorf("%s.%s: %+v", k.Name, a.Name, as)
			}
		}
		for i, d := range k.Sockets {
			ss := ks.Sockets[i]
			if ss.Name != d.Name || ss.Optional != d.Optional || len(ss.Types) != len(d.Types) {
				t.Errorf("%s socket %s: %+v", k.Name, d.Name, ss)
			}
		}
	}
	if ks, _ := s.Schema("weather-client"); !ks.Sockets[0].Subscribes {
		t.Error("weather-client subscribes its zip by itself; Subscribes not set")
	}
	if ks, _ := s.Schema("worker"); ks.Sockets[0].Subscribes {
		t.Error("worker does not subscribe")
	}
}

func TestSchemasForOddKinds(t *testing.T) {
	var reg plugins.Registry
	reg.MustRegister(
		&plugins.Kind{Name: "req", Attrs: []plugins.Attr{{Name: "x", Type: cty.String}},
			Sockets: []plugins.SocketDecl{{Name: "in", Types: nil}},
			New:     func(plugins.Config) (plugins.Node, error) { panic("must not be built: x is required") }},
		&plugins.Kind{Name: "boom", Sockets: []plugins.SocketDecl{{Name: "in"}},
			New: func(plugins.Config) (plugins.Node, error) { panic("boom") }},
	)
	s := Schemas(&reg, nil)
	if ks, _ := s.Schema("req"); !ks.Attrs[0].Required || ks.Sockets[0].Subscribes {
		t.Errorf("req %+v", ks)
	}
	if ks, _ := s.Schema("boom"); ks.Sockets[0].Subscribes {
		t.Errorf("boom %+v", ks)
	}
	if len(Schemas(nil, nil).Kinds()) != 0 {
		t.Error("nil registry has kinds")
	}
}
