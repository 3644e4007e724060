package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/runtime/pluginhost"
)

// pluginFile declares plugin "b" (command cmd) and a node of its kind
// generate.
func pluginFile(cmd string) []byte {
	return []byte(fmt.Sprintf(`plugin "b" {
  command = %q
}

node "g" {
  type = "b.generate"
  socket "out" {
    type = "PUSH"
    bind = "tcp://127.0.0.1:0"
  }
}
`, cmd))
}

// TestLoadSkipPlugins: with Options.SkipPlugins, Load starts no plugin
// (one that cannot start is no error) and warns that the plugin's nodes
// were not checked; the Runtime's schemas are the registry's.
func TestLoadSkipPlugins(t *testing.T) {
	var warned *DiagnosticsError
	rt, err := Load(context.Background(), "p.hcl", pluginFile("/nonexistent/plugin"), Options{
		Registry: kindsRegistry(t), SkipPlugins: true,
		OnWarnings: func(d *DiagnosticsError) { warned = d },
	})
	if err != nil {
		t.Fatalf("Load with SkipPlugins: %v", err)
	}
	if warned == nil || len(warned.Diagnostics) != 1 || warned.Diagnostics[0].Summary != "Plugin kind not checked" ||
		warned.Files["p.hcl"] == nil {
		t.Fatalf("warnings = %v, want one \"Plugin kind not checked\" with its source", warned)
	}
	s := rt.Schemas()
	if _, ok := s.Schema("b.generate"); ok {
		t.Error("schemas know b.generate though the plugin was skipped")
	}
	if k, ok := s.Schema("task"); !ok || !k.Task {
		t.Errorf("schemas lack the registry's task kind: %v %v", k, ok)
	}
}

// TestLoadPluginStartFailure: a plugin that cannot start is an error at
// its block marked PluginStartFailure, reported with what decoding the
// rest finds (its node unchecked), in file order.
func TestLoadPluginStartFailure(t *testing.T) {
	_, err := Load(context.Background(), "p.hcl", pluginFile("/nonexistent/plugin"), Options{Registry: kindsRegistry(t)})
	var de *DiagnosticsError
	if !errors.As(err, &de) || len(de.Diagnostics) != 2 {
		t.Fatalf("Load = %v, want two diagnostics", err)
	}
	d, w := de.Diagnostics[0], de.Diagnostics[1]
	if d.Severity != hcl.DiagError || d.Summary != `Cannot start plugin "b"` || d.Subject.Start.Line != 1 ||
		d.Extra != (PluginStartFailure{Plugin: "b"}) {
		t.Errorf("first = %s %q at %v, Extra %#v", sevName(d.Severity), d.Summary, d.Subject, d.Extra)
	}
	if w.Severity != hcl.DiagWarning || w.Summary != "Plugin kind not checked" || w.Subject.Start.Line != 6 {
		t.Errorf("second = %s %q at %v", sevName(w.Severity), w.Summary, w.Subject)
	}
}

// TestRuntimeSchemas: a loaded Runtime tells what validation knew of the
// kinds, the plugin's (this test binary, serving the built-in kinds)
// included; one from New knows the registry's.
func TestRuntimeSchemas(t *testing.T) {
	h := pluginhost.New(pluginhost.Options{})
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt, err := Load(ctx, "p.hcl", pluginFile(os.Args[0]), Options{Registry: kindsRegistry(t), Launcher: h})
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := rt.Schemas().Schema("b.generate"); !ok || !k.Task || len(k.Attrs) == 0 {
		t.Errorf("b.generate = %+v, %v; want the plugin's task kind", k, ok)
	}
	if _, ok := rt.Schemas().Schema("task"); !ok {
		t.Error("the registry's kinds are missing")
	}
	if _, ok := New(rt.Topology(), Options{Registry: kindsRegistry(t)}).Schemas().Schema("service"); !ok {
		t.Error("New: the registry's kinds are missing")
	}
}
