package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime/pluginhost"
	"github.com/topo-zmq/topo/topology"
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

// TestLoadRunsKindChecks: Load (and so `topo apply`) rejects, at the
// attribute's line, what the built-in kinds' New would reject at run time:
// the promises of issue 11 item 5. Valid values still load.
func TestLoadRunsKindChecks(t *testing.T) {
	reg := builtinRegistry(t)
	for _, tc := range []struct {
		kind, attr, value string
		want              string
	}{
		{"generate", "size", "1e12", `Kind "generate" rejects size of node "n": must be at most 64 MiB (67108864), got 1000000000000.`},
		{"generate", "size", "-1", `Kind "generate" rejects size of node "n": must not be negative, got -1.`},
		{"generate", "rate", "-5", `Kind "generate" rejects rate of node "n": must not be negative, got -5.`},
		{"ventilator", "max_work", `"soon"`, `Kind "ventilator" rejects max_work of node "n": invalid duration "soon"`},
		{"generate", "size", "1e30", `Kind "generate" rejects size of node "n": value must be a whole number`},
	} {
		t.Run(tc.kind+"/"+tc.value, func(t *testing.T) {
			src := "node \"n\" {\n  type = \"" + tc.kind + "\"\n  " + tc.attr + " = " + tc.value + "\n" +
				"  socket \"out\" {\n    type = \"PUSH\"\n    bind = \"tcp://127.0.0.1:0\"\n  }\n" +
				"  socket \"sink\" {\n    type = \"PUSH\"\n    bind = \"tcp://127.0.0.1:0\"\n  }\n}\n"
			if tc.kind == "generate" {
				src = strings.Replace(src, "  socket \"sink\" {\n    type = \"PUSH\"\n    bind = \"tcp://127.0.0.1:0\"\n  }\n", "", 1)
			}
			_, err := Load(context.Background(), "t.hcl", []byte(src), Options{Registry: reg})
			var de *DiagnosticsError
			if !errors.As(err, &de) {
				t.Fatalf("Load = %v, want diagnostics", err)
			}
			if len(de.Diagnostics) != 1 {
				t.Fatalf("want one diagnostic, got %v", de)
			}
			d := de.Diagnostics[0]
			if d.Summary != `Invalid value for "`+tc.attr+`"` || !strings.HasPrefix(d.Detail, tc.want) ||
				d.Subject == nil || d.Subject.Filename != "t.hcl" || d.Subject.Start.Line != 3 {
				t.Errorf("got %s: %q at %v", d.Summary, d.Detail, d.Subject)
			}
			if !strings.Contains(err.Error(), "t.hcl line 3") {
				t.Errorf("rendered without file and line:\n%v", err)
			}
		})
	}
	ok := "node \"n\" {\n  type = \"generate\"\n  size = 64 * 1024 * 1024\n  rate = 5\n  socket \"out\" {\n    type = \"PUSH\"\n    bind = \"tcp://127.0.0.1:0\"\n  }\n}\n"
	if _, err := Load(context.Background(), "ok.hcl", []byte(ok), Options{Registry: reg}); err != nil {
		t.Errorf("valid values: %v", err)
	}
}

// TestLoadRunsPluginKindChecks: Load asks a plugin (this test binary,
// serving the built-in kinds from a process of its own) to check its
// nodes, and reports what it finds at the attribute's line. A plugin too
// old to be asked is a warning at its block, naming the kinds unchecked.
func TestLoadRunsPluginKindChecks(t *testing.T) {
	src := fmt.Sprintf(`plugin "b" {
  command = %q
}

node "g" {
  type  = "b.generate"
  count = 2
  size  = -1
  socket "out" {
    type = "PUSH"
    bind = "tcp://127.0.0.1:0"
  }
}
`, os.Args[0])
	h := pluginhost.New(pluginhost.Options{})
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := Load(ctx, "p.hcl", []byte(src), Options{Launcher: h})
	var de *DiagnosticsError
	if !errors.As(err, &de) || len(de.Diagnostics) != 1 {
		t.Fatalf("Load = %v, want one diagnostic", err)
	}
	d := de.Diagnostics[0]
	if d.Severity != hcl.DiagError || d.Summary != `Invalid value for "size"` || d.Subject.Start.Line != 8 ||
		d.Detail != `Kind "b.generate" rejects size of node "g": must not be negative, got -1.` {
		t.Errorf("got %s %q: %q at %v", sevName(d.Severity), d.Summary, d.Detail, d.Subject)
	}

	var warned *DiagnosticsError
	_, err = Load(ctx, "p.hcl", []byte(src), Options{Launcher: olderPlugins{h},
		OnWarnings: func(d *DiagnosticsError) { warned = d }})
	if err != nil {
		t.Fatalf("older plugin: %v", err)
	}
	if warned == nil || len(warned.Diagnostics) != 1 {
		t.Fatalf("older plugin: warnings %v", warned)
	}
	w := warned.Diagnostics[0]
	if w.Severity != hcl.DiagWarning || w.Summary != `Plugin "b" cannot check attribute values` || w.Subject.Start.Line != 1 ||
		!strings.Contains(w.Detail, "kinds b.generate") {
		t.Errorf("older plugin: got %s %q: %q at %v", sevName(w.Severity), w.Summary, w.Detail, w.Subject)
	}
}

// olderPlugins is a launcher whose plugins all predate the Check call.
type olderPlugins struct{ *pluginhost.Host }

func (olderPlugins) CheckKinds(context.Context, *topology.Plugin, string, []plugins.Spec) ([]error, error) {
	return nil, fmt.Errorf("plugin: %w", pluginhost.ErrCheckUnsupported)
}

func sevName(s hcl.DiagnosticSeverity) string {
	if s == hcl.DiagWarning {
		return "warning"
	}
	return "error"
}
