package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/topology"
)

// DiagnosticsError is an invalid topology: HCL diagnostics with the source
// they point into. Error renders them as text with source snippets.
type DiagnosticsError struct {
	Diagnostics hcl.Diagnostics
	Files       map[string]*hcl.File
}

// Error renders every diagnostic with its file:line:col and snippet (none
// for a curve block's, whose source may hold a secret).
func (e *DiagnosticsError) Error() string {
	var buf bytes.Buffer
	_ = topology.WriteDiagnostics(&buf, e.Files, e.Diagnostics, 0, false)
	return string(bytes.TrimRight(buf.Bytes(), "\n"))
}

// LoadFile reads, evaluates and validates the topology file at path (.hcl,
// or .hcl.json for the JSON form) against o.Registry and the plugins the
// file declares, and returns a Runtime ready to Run it with o: the
// registry, launcher and options are given once, here. ctx bounds starting
// plugins to learn their kinds (not the run: Run takes its own). An
// invalid file returns a *DiagnosticsError. o.BaseDir defaults to the
// file's directory.
//
// Of o, loading uses Registry, Launcher, BaseDir, Vars, VarArgs, Environ,
// SkipPlugins, OnWarnings, HostAddresses and Host (a *HostError when it
// names no host of the file; "all" gives every host a loopback address;
// "" loads a file with hosts, for validate, plan or graph, and Run then
// refuses to run it); the rest is for Run. The Launcher (o's, or the default
// one) that learned the plugins' kinds runs them; it is closed by Run, or
// by LoadFile when it fails.
func LoadFile(ctx context.Context, path string, o Options) (*Runtime, error) {
	if o.BaseDir == "" {
		o.BaseDir = filepath.Dir(path)
	}
	f, diags := topology.ParseFile(path)
	return load(ctx, f, diags, o)
}

// Load is LoadFile for a topology held in memory; filename names it in
// diagnostics and selects the syntax (".hcl.json" is JSON). o.BaseDir
// defaults to the working directory.
func Load(ctx context.Context, filename string, src []byte, o Options) (*Runtime, error) {
	f, diags := topology.Parse(filename, src)
	return load(ctx, f, diags, o)
}

func load(ctx context.Context, f *topology.File, diags hcl.Diagnostics, o Options) (*Runtime, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	own := o.Launcher == nil
	o = o.withDefaults()
	t, s, err := decode(ctx, f, diags, o)
	if err != nil {
		if own { // a Launcher the caller gave stays the caller's until Run
			_ = o.Launcher.Close()
		}
		return nil, err
	}
	r := newRuntime(t, o)
	r.schemas = s
	return r, nil
}

// Schemas returns what validation knew of the kinds: for a Runtime from
// Load or LoadFile, the registry's kinds and those of the plugins it
// started; for one from New, the registry's kinds only.
func (r *Runtime) Schemas() topology.Schemas {
	if r.schemas == nil {
		return Schemas(r.opts.Registry, nil)
	}
	return r.schemas
}

// decode evaluates and validates f: the plugins' kinds (unless
// o.SkipPlugins), topology.Decode against them, then the plugins' own
// checks of their nodes. It returns the topology and the schemas it was
// validated against. All diagnostics are kept, in file order: a plugin
// that cannot start is reported with what Decode then finds.
func decode(ctx context.Context, f *topology.File, diags hcl.Diagnostics, o Options) (*topology.Topology, topology.Schemas, error) {
	files := func() map[string]*hcl.File {
		if f == nil {
			return nil
		}
		return f.Sources()
	}
	if diags.HasErrors() {
		return nil, nil, &DiagnosticsError{Diagnostics: diags, Files: files()}
	}
	values, err := varValues(o.Vars)
	if err != nil {
		return nil, nil, err
	}
	all := diags
	l := o.Launcher // Options.withDefaults: one host for the kinds and the checks
	opts := topology.Options{Args: o.VarArgs, Environ: o.Environ, Values: values,
		HostAddresses: o.HostAddresses, LoopbackHosts: o.Host == topology.AllHosts}
	var pluginKinds map[string][]*plugins.Kind
	if !o.SkipPlugins {
		var d hcl.Diagnostics
		pluginKinds, d = PluginKinds(ctx, f, opts, l, o.BaseDir)
		all = append(all, d...)
	}
	schemas := Schemas(o.Registry, pluginKinds)
	opts.Schemas = schemas
	t, d := topology.Decode(f, opts)
	sorted := len(all) == 0 // Decode sorts its own
	all = append(all, d...)
	if !all.HasErrors() {
		checked := CheckPluginNodes(ctx, t, pluginKinds, l, o.BaseDir)
		sorted = sorted && len(checked) == 0
		all = append(all, checked...)
	}
	if !sorted {
		topology.SortDiagnostics(all)
	}
	if all.HasErrors() {
		return nil, nil, &DiagnosticsError{Diagnostics: all, Files: files()}
	}
	if len(all) > 0 && o.OnWarnings != nil {
		o.OnWarnings(&DiagnosticsError{Diagnostics: all, Files: files()})
	}
	if o.Host != "" { // "" may still validate, plan or graph a file with hosts; Run refuses it
		if err := checkHost(t, o.Host); err != nil {
			return nil, nil, err
		}
	}
	return t, schemas, nil
}

// varValues turns Options.Vars into cty values: a cty.Value is taken as
// is; any other Go value (string, bool, int, float64, []any,
// map[string]any, structs with json tags, ...) goes through its JSON form,
// so 8 is a number, []any{"a", 1} a tuple and map[string]any an object,
// each then converted to the variable's declared type.
func varValues(vars map[string]any) (map[string]cty.Value, error) {
	if len(vars) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string]cty.Value, len(vars))
	for _, n := range names {
		v, err := toCty(vars[n])
		if err != nil {
			return nil, fmt.Errorf("runtime: Options.Vars[%q]: %w", n, err)
		}
		out[n] = v
	}
	return out, nil
}

func toCty(v any) (cty.Value, error) {
	switch v := v.(type) {
	case cty.Value:
		return v, nil
	case nil:
		return cty.NullVal(cty.DynamicPseudoType), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return cty.NilVal, fmt.Errorf("cannot use a %T as a variable value: %w", v, err)
	}
	ty, err := ctyjson.ImpliedType(b)
	if err != nil {
		return cty.NilVal, fmt.Errorf("cannot use a %T as a variable value: %w", v, err)
	}
	val, err := ctyjson.Unmarshal(b, ty)
	if err != nil {
		return cty.NilVal, fmt.Errorf("cannot use a %T as a variable value: %w", v, err)
	}
	return val, nil
}
