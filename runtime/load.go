package runtime

import (
	"bytes"
	"context"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/pluginhost"
	"github.com/topo-zmq/topo/topology"
)

// LoadOptions steer Load and LoadFile. The zero value knows no kinds.
type LoadOptions struct {
	// Registry holds the kinds nodes may use; nil means none.
	Registry *plugins.Registry
	// Vars are -var / -var-file settings in command-line order
	// ({Flag: "var", Value: "workers=8"}); later ones win.
	Vars []topology.VarArg
	// Environ is os.Environ()-style; TOPO_VAR_name entries set variables.
	// Nil means the environment is not consulted.
	Environ []string
	// Launcher is asked for the kinds of every plugin block, so
	// "<plugin>.<kind>" node types validate. Nil means a temporary
	// pluginhost.New(pluginhost.Options{}), closed before Load returns.
	Launcher Launcher
	// BaseDir is where plugin paths are relative to. LoadFile defaults it
	// to the file's directory, Load to the working directory.
	BaseDir string
	// Context bounds starting plugins to learn their kinds; nil means
	// context.Background().
	Context context.Context
	// OnWarnings, if set, receives the warnings of a file that loaded.
	OnWarnings func(*DiagnosticsError)
}

// DiagnosticsError is an invalid topology: HCL diagnostics with the source
// they point into. Error renders them as text with source snippets.
type DiagnosticsError struct {
	Diagnostics hcl.Diagnostics
	Files       map[string]*hcl.File
}

// Error renders every diagnostic with its file:line:col and snippet.
func (e *DiagnosticsError) Error() string {
	var buf bytes.Buffer
	w := hcl.NewDiagnosticTextWriter(&buf, e.Files, 0, false)
	_ = w.WriteDiagnostics(e.Diagnostics)
	return string(bytes.TrimRight(buf.Bytes(), "\n"))
}

// LoadFile reads, evaluates and validates the topology file at path (.hcl,
// or .hcl.json for the JSON form). An invalid file returns a
// *DiagnosticsError.
func LoadFile(path string, o LoadOptions) (*topology.Topology, error) {
	if o.BaseDir == "" {
		o.BaseDir = filepath.Dir(path)
	}
	f, diags := topology.ParseFile(path)
	return decode(f, diags, o)
}

// Load is LoadFile for a topology held in memory; filename names it in
// diagnostics and selects the syntax (".hcl.json" is JSON).
func Load(filename string, src []byte, o LoadOptions) (*topology.Topology, error) {
	f, diags := topology.Parse(filename, src)
	return decode(f, diags, o)
}

func decode(f *topology.File, diags hcl.Diagnostics, o LoadOptions) (*topology.Topology, error) {
	files := func() map[string]*hcl.File {
		if f == nil {
			return nil
		}
		return f.Sources()
	}
	if diags.HasErrors() {
		return nil, &DiagnosticsError{Diagnostics: diags, Files: files()}
	}
	all := diags
	opts := topology.Options{Args: o.Vars, Environ: o.Environ}
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	l := o.Launcher
	if l == nil { // one temporary host for the kinds and the checks
		h := pluginhost.New(pluginhost.Options{})
		defer h.Close()
		l = h
	}
	pluginKinds, d := PluginKinds(ctx, f, opts, l, o.BaseDir)
	all = append(all, d...)
	if all.HasErrors() {
		return nil, &DiagnosticsError{Diagnostics: all, Files: files()}
	}
	opts.Schemas = Schemas(o.Registry, pluginKinds)
	t, d := topology.Decode(f, opts)
	all = append(all, d...)
	if !all.HasErrors() {
		all = append(all, CheckPluginNodes(ctx, t, pluginKinds, l, o.BaseDir)...)
	}
	if all.HasErrors() {
		return nil, &DiagnosticsError{Diagnostics: all, Files: files()}
	}
	if len(all) > 0 && o.OnWarnings != nil {
		o.OnWarnings(&DiagnosticsError{Diagnostics: all, Files: files()})
	}
	return t, nil
}
