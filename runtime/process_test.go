package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime/pluginhost"
)

// crashOnceKind exits its process (as a crash would) the first time it runs
// for a given marker file, and finishes cleanly afterwards.
func crashOnceKind() *plugins.Kind {
	return &plugins.Kind{
		Name:  "crash-once",
		Life:  plugins.Task,
		Attrs: []plugins.Attr{{Name: "marker", Type: cty.String, Default: cty.StringVal("")}},
		New: func(cfg plugins.Config) (plugins.Node, error) {
			var c struct {
				Marker string `cty:"marker"`
			}
			if err := cfg.Decode(&c); err != nil {
				return nil, err
			}
			return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
				if _, err := os.Stat(c.Marker); errors.Is(err, os.ErrNotExist) {
					if err := os.WriteFile(c.Marker, nil, 0o644); err != nil {
						return err
					}
					os.Exit(3)
				}
				return nil
			}), nil
		},
	}
}

func processKinds() []*plugins.Kind {
	return append(builtin.Kinds(), crashOnceKind(), hoardKind(), slowKind())
}

func processRegistry(t *testing.T) *plugins.Registry {
	var reg plugins.Registry
	reg.MustRegister(processKinds()...)
	return &reg
}

func selfLauncher() *pluginhost.Host {
	return pluginhost.New(pluginhost.Options{Self: []string{os.Args[0]}})
}

func TestProcessIsolatedWorkers(t *testing.T) {
	topo := pipeline(2, 40, "tcp://127.0.0.1:0", "tcp://127.0.0.1:0")
	for _, n := range topo.Nodes {
		if n.Name == "worker" {
			n.Isolation = "process"
		}
	}
	var out lockedbuf.Buffer
	rt := New(topo, Options{Registry: processRegistry(t), Launcher: selfLauncher(), Stdout: &out})
	if err := rt.Run(testCtx(t, 60*time.Second)); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Total elapsed time") {
		t.Errorf("output:\n%s", out.String())
	}
	for _, st := range rt.Status() {
		if strings.HasPrefix(st.Name, "worker[") && (st.MsgsIn < 15 || st.MsgsIn > 25) {
			t.Errorf("%s (in a subprocess) got %d of 40 tasks, want 20 ± 5", st.Name, st.MsgsIn)
		}
	}
}

func TestProcessCrashIsRestarted(t *testing.T) {
	topo := mkTopo(tnode{name: "fragile", kind: "crash-once"})
	topo.Nodes[0].Isolation = "process"
	topo.Instances[0].Attrs = cty.ObjectVal(map[string]cty.Value{"marker": cty.StringVal(filepath.Join(t.TempDir(), "crashed"))})
	var ev eventLog
	o := fastOpts(processRegistry(t), &ev)
	o.Launcher = selfLauncher()
	rt := New(topo, o)
	if err := rt.Run(testCtx(t, 60*time.Second)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	f := ev.of("fragile", EventFailed)
	if len(f) != 1 || !strings.Contains(f[0].Err.Error(), "fragile") {
		t.Fatalf("failed events = %v, want one naming fragile", f)
	}
	if st := rt.Status()[0]; st.Restarts != 1 || st.State != StateFinished {
		t.Errorf("status = %+v", st)
	}
}
