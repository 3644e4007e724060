package plugins_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/plugins/pluginproto"
	"github.com/topo-zmq/topo/runtime/socket"
)

// wireRoundTrip sends k through the wire codec as a plugin and its host
// do: KindToWire, JSON, KindFromWire.
func wireRoundTrip(t testing.TB, k *plugins.Kind) *plugins.Kind {
	t.Helper()
	kd, err := plugins.KindToWire(k)
	if err != nil {
		t.Fatalf("KindToWire(%s): %v", k.Name, err)
	}
	b, err := json.Marshal(kd)
	if err != nil {
		t.Fatal(err)
	}
	var back pluginproto.KindDesc
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Check != (k.Check != nil) {
		t.Errorf("%s: wire Check = %v, kind has a check: %v", k.Name, back.Check, k.Check != nil)
	}
	got, err := plugins.KindFromWire(back)
	if err != nil {
		t.Fatalf("KindFromWire(%s): %v", k.Name, err)
	}
	return got
}

// sameKind reports how got differs from want in what the wire carries
// (everything but New, Check and Procs), or "".
func sameKind(want, got *plugins.Kind) string {
	if got.Name != want.Name || got.Doc != want.Doc || got.Life != want.Life {
		return "name, doc or life"
	}
	if got.New != nil || got.Check != nil {
		return "a decoded kind has New or Check"
	}
	if len(got.Attrs) != len(want.Attrs) || len(got.Sockets) != len(want.Sockets) {
		return "attribute or socket count"
	}
	for i, a := range want.Attrs {
		g := got.Attrs[i]
		if g.Name != a.Name || g.Doc != a.Doc || !g.Type.Equals(a.Type) || g.Required() != a.Required() {
			return "attribute " + a.Name
		}
		if !a.Required() && !g.Default.RawEquals(a.Default) {
			return "default of " + a.Name
		}
	}
	for i, s := range want.Sockets {
		g := got.Sockets[i]
		if g.Name != s.Name || g.Doc != s.Doc || g.Optional != s.Optional || len(g.Types) != len(s.Types) {
			return "socket " + s.Name
		}
		for j := range s.Types {
			if g.Types[j] != s.Types[j] {
				return "types of socket " + s.Name
			}
		}
	}
	return ""
}

// TestKindWireRoundTrip: every built-in kind, and one with every shape of
// attribute, comes back from the wire as it went in.
func TestKindWireRoundTrip(t *testing.T) {
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		t.Fatal(err)
	}
	kinds := append(reg.Kinds(), &plugins.Kind{
		Name: "shapes", Doc: "every attribute shape", Life: plugins.Task,
		Attrs: []plugins.Attr{
			{Name: "req", Type: cty.String, Doc: "required"},
			{Name: "n", Type: cty.Number, Default: cty.NumberIntVal(7)},
			{Name: "tags", Type: cty.List(cty.String), Default: cty.ListVal([]cty.Value{cty.StringVal("a")})},
			{Name: "obj", Type: cty.Object(map[string]cty.Type{"x": cty.Bool}), Default: cty.ObjectVal(map[string]cty.Value{"x": cty.True})},
			{Name: "anything", Type: cty.DynamicPseudoType, Default: cty.NullVal(cty.DynamicPseudoType)},
		},
		Sockets: []plugins.SocketDecl{{Name: "in", Types: []socket.Type{socket.PULL, socket.SUB}, Optional: true, Doc: "input"}, {Name: "any"}},
		Check:   func(plugins.Config) error { return nil },
	})
	if len(kinds) < 2 {
		t.Fatalf("only %d kinds", len(kinds))
	}
	for _, k := range kinds {
		if d := sameKind(k, wireRoundTrip(t, k)); d != "" {
			t.Errorf("kind %s: %s differs after the round trip", k.Name, d)
		}
	}
}

// TestKindFromWireRejects: a description the host cannot use is an error
// naming the kind and what is wrong, not a panic or a half kind.
func TestKindFromWireRejects(t *testing.T) {
	for _, tc := range []struct {
		kd   pluginproto.KindDesc
		want string
	}{
		{pluginproto.KindDesc{Name: "k", Life: "forever"}, `kind "k": unknown life "forever"`},
		{pluginproto.KindDesc{Name: "k", Attrs: []pluginproto.AttrDesc{{Name: "a", Type: json.RawMessage(`"nope"`)}}}, `kind "k": attribute "a"`},
		{pluginproto.KindDesc{Name: "k", Sockets: []pluginproto.SocketDesc{{Name: "s", Types: []string{"PULLEY"}}}}, `kind "k": socket "s"`},
	} {
		if k, err := plugins.KindFromWire(tc.kd); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("KindFromWire(%+v) = %v, %v; want an error with %q", tc.kd, k, err, tc.want)
		}
	}
}

// FuzzKindFromWire: whatever a plugin sends as a kind, the host decodes
// it or says why; what it decodes goes back over the wire unchanged.
func FuzzKindFromWire(f *testing.F) {
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		f.Fatal(err)
	}
	for _, k := range reg.Kinds() {
		kd, err := plugins.KindToWire(k)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := json.Marshal(kd)
		f.Add(b)
	}
	f.Add([]byte(`{"name":"k","life":"task","attrs":[{"name":"a","type":"number","default":{"type":"number","value":1}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var kd pluginproto.KindDesc
		if json.Unmarshal(b, &kd) != nil {
			return
		}
		k, err := plugins.KindFromWire(kd)
		if err != nil {
			return
		}
		if _, err := plugins.KindToWire(k); err != nil {
			return // a default that does not re-encode (cty edge cases) is refused on the way out
		}
		if d := sameKind(k, wireRoundTrip(t, k)); d != "" {
			t.Errorf("%s: %s differs after a second round trip", b, d)
		}
	})
}

// TestCurveWire: a socket's CURVE mechanism crosses the plugin protocol
// whole (keys as Z85), nil stays nil, and a bad key is an error that does
// not contain it.
func TestCurveWire(t *testing.T) {
	kp, err := socket.NewCurveKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := socket.NewCurveKeyPair(nil)
	in := &socket.Curve{Key: kp, ServerKey: srv.Public, ServerKeys: map[string]socket.CurveKey{"tcp://127.0.0.1:1": srv.Public}, Allow: []socket.CurveKey{kp.Public}}
	w := plugins.CurveToWire(in)
	if w.Secret != kp.Secret.Z85() || len(w.Allow) != 1 {
		t.Fatalf("wire %+v", w)
	}
	out, err := plugins.CurveFromWire(w)
	if err != nil {
		t.Fatal(err)
	}
	if out.Key != in.Key || out.ServerKey != in.ServerKey || out.ServerKeys["tcp://127.0.0.1:1"] != srv.Public || len(out.Allow) != 1 || out.Allow[0] != kp.Public {
		t.Fatalf("round trip: %+v", out)
	}
	if c, err := plugins.CurveFromWire(nil); c != nil || err != nil || plugins.CurveToWire(nil) != nil {
		t.Fatal("nil does not stay nil")
	}
	w.Public = srv.Public.Z85()
	if _, err := plugins.CurveFromWire(w); err == nil {
		t.Fatal("a public key that is not the secret's is accepted")
	}
	w.Secret = "x" + kp.Secret.Z85()[1:]
	w.Secret = w.Secret[:39]
	if _, err := plugins.CurveFromWire(w); err == nil || strings.Contains(err.Error(), w.Secret) {
		t.Fatalf("bad secret: %v", err)
	}
}
