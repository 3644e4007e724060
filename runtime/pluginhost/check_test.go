package pluginhost

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/topology"
)

// TestCheckKinds: a plugin process (this test binary serving text's kinds
// with plugins.Serve) runs its kinds' checks on every spec, answering in
// order: the problems of collect's expect = 0, nothing for valid values or
// a kind without a check, a problem for a kind it does not serve.
func TestCheckKinds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := newHost(t, Options{})
	p := &topology.Plugin{Name: "text", Command: selfExe(t)}
	expect := func(n int64) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"expect": cty.NumberIntVal(n)})
	}
	errs, err := h.CheckKinds(ctx, p, "", []plugins.Spec{
		{Name: "c[0]", Kind: "collect", Attrs: expect(0)},
		{Name: "c[1]", Index: 1, Kind: "collect", Attrs: expect(3)},
		{Name: "u", Kind: "upper", Attrs: cty.ObjectVal(map[string]cty.Value{"prefix": cty.StringVal("x")})},
		{Name: "n", Kind: "nope", Attrs: cty.EmptyObjectVal},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 4 {
		t.Fatalf("%d answers for 4 specs: %v", len(errs), errs)
	}
	var ae *plugins.AttrError
	if !errors.As(errs[0], &ae) || ae.Attr != "expect" || ae.Msg != "must be at least 1, got 0" {
		t.Errorf("collect expect = 0: %#v", errs[0])
	}
	if errs[1] != nil || errs[2] != nil {
		t.Errorf("valid values: %v, %v", errs[1], errs[2])
	}
	if errs[3] == nil || !strings.Contains(errs[3].Error(), `does not serve kind "nope"`) {
		t.Errorf("unknown kind: %v", errs[3])
	}
	noProcsLeft(t, h)
}

// TestCheckKindsOfOlderPlugin: a plugin process built before Check
// existed answers Unimplemented; CheckKinds says so with
// ErrCheckUnsupported, and the process is stopped all the same.
func TestCheckKindsOfOlderPlugin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := newHost(t, Options{})
	p := &topology.Plugin{Name: "old", Command: selfExe(t), Env: map[string]string{envMode: "old"}}
	specs := []plugins.Spec{{Name: "c", Kind: "collect", Attrs: cty.ObjectVal(map[string]cty.Value{"expect": cty.NumberIntVal(0)})}}
	// Not described yet: the process is started and tells its revision.
	errs, err := h.CheckKinds(ctx, p, "", specs)
	if !errors.Is(err, ErrCheckUnsupported) || errs != nil {
		t.Errorf("CheckKinds = %v, %v; want ErrCheckUnsupported", errs, err)
	}
	if err != nil && !strings.Contains(err.Error(), `plugin "old"`) {
		t.Errorf("error does not name the plugin: %v", err)
	}
	// Described: the host knows without asking.
	kinds, err := h.Kinds(ctx, p, "")
	if err != nil || len(kinds) != 1 || kinds[0].Name != "collect" {
		t.Fatalf("Kinds = %v, %v", kinds, err)
	}
	if _, err := h.CheckKinds(ctx, p, "", specs); !errors.Is(err, ErrCheckUnsupported) {
		t.Errorf("CheckKinds after Kinds = %v; want ErrCheckUnsupported", err)
	}
	noProcsLeft(t, h)
}

// TestCheckKindsWithoutChecks: once Kinds described the plugin, checking
// only kinds without a check starts no process (the plugin here would
// stall if started, and ctx is short).
func TestCheckKindsWithoutChecks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := newHost(t, Options{})
	p := &topology.Plugin{Name: "text", Command: selfExe(t)}
	if _, err := h.Kinds(ctx, p, ""); err != nil {
		t.Fatal(err)
	}
	stalling := &topology.Plugin{Name: "text", Command: selfExe(t), Env: map[string]string{envMode: "stall"}}
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	upper := plugins.Spec{Name: "u", Kind: "upper", Attrs: cty.ObjectVal(map[string]cty.Value{"prefix": cty.StringVal("")})}
	errs, err := h.CheckKinds(short, stalling, "", []plugins.Spec{upper, upper})
	if err != nil || len(errs) != 2 || errs[0] != nil || errs[1] != nil {
		t.Errorf("CheckKinds of kinds without a check = %v, %v; want two nils, no process", errs, err)
	}
	// A kind with a check is asked: the stalling process runs out of time.
	collect := plugins.Spec{Name: "c", Kind: "collect", Attrs: cty.ObjectVal(map[string]cty.Value{"expect": cty.NumberIntVal(1)})}
	if _, err := h.CheckKinds(short, stalling, "", []plugins.Spec{upper, collect}); err == nil {
		t.Error("CheckKinds of collect did not start the (stalling) plugin")
	}
}

// noProcsLeft fails t if h still runs a plugin process.
func noProcsLeft(t *testing.T, h *Host) {
	t.Helper()
	h.mu.Lock()
	n := len(h.procs)
	h.mu.Unlock()
	if n != 0 {
		t.Errorf("%d plugin processes left running", n)
	}
}
