package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/pluginhost"
	"github.com/topo-zmq/topo/topology"
)

// loadResult is a topology file read, evaluated and validated for one
// command, with everything needed to render its diagnostics.
type loadResult struct {
	topo    *topology.Topology // nil when the file is invalid
	files   map[string]*hcl.File
	diags   hcl.Diagnostics
	schemas topology.Schemas // what validation knew of the kinds (plan's life)
}

// loadTopology loads path ("-" reads stdin) with the runtime's loader
// (runtime.Load, runtime.LoadFile) with lf's variables, against the
// built-in kinds and, with -plugins (the default), the kinds of the plugins the file declares (which starts
// them, building from source if needed). Without, nodes of plugin kinds
// validate with a warning that they were not checked. An invalid file is
// no error: its diagnostics are in the result. Signals while it loads are
// handled as startPlugins says.
func loadTopology(ctx context.Context, c *cli, path string, lf loadFlags) (loadResult, error) {
	reg, err := builtinRegistry()
	if err != nil {
		return loadResult{}, fmt.Errorf("built-in kinds: %w", err)
	}
	var environ []string
	if c.environ != nil {
		environ = c.environ()
	}
	var src []byte
	if path == "-" {
		src, err = io.ReadAll(io.LimitReader(c.stdin, topology.MaxFileSize+1))
		if err != nil {
			return loadResult{}, fmt.Errorf("reading stdin: %w", err)
		}
	}
	var res loadResult
	// One host for learning the kinds and checking the nodes: it builds
	// (or hashes) a source plugin once. It starts nothing by itself, and
	// stays ours: the Runtime is never run.
	host := pluginhost.New(pluginhost.Options{})
	defer host.Close()
	opts := runtime.Options{
		Registry: reg, Launcher: host, VarArgs: *lf.vars, Environ: environ,
		SkipPlugins: !*lf.plugins,
		OnWarnings: func(d *runtime.DiagnosticsError) {
			res.files, res.diags = d.Files, d.Diagnostics
		},
	}
	var rt *runtime.Runtime
	err = startPlugins(ctx, c, host, func(ctx context.Context) (err error) {
		if path == "-" {
			opts.BaseDir = "." // plugin commands relative to the working directory
			rt, err = runtime.Load(ctx, "<stdin>", src, opts)
		} else {
			rt, err = runtime.LoadFile(ctx, path, opts)
		}
		return err
	})
	var invalid *runtime.DiagnosticsError
	switch {
	case errors.As(err, &invalid):
		for _, d := range invalid.Diagnostics {
			if _, ok := d.Extra.(runtime.PluginStartFailure); ok {
				d.Detail += " (validate with -plugins=false to skip checking plugin kinds)"
			}
		}
		res.files, res.diags = invalid.Files, invalid.Diagnostics
		return res, nil
	case err != nil:
		return res, err
	}
	res.topo, res.schemas = rt.Topology(), rt.Schemas()
	return res, nil
}

// loadForOutput loads a file for plan and graph: diagnostics go to
// stderr; code is the exit status when there were errors (1, or 130 after
// a forced exit), 0 otherwise.
func loadForOutput(ctx context.Context, c *cli, cmd, path string, lf loadFlags) (loadResult, int) {
	res, err := loadTopology(ctx, c, path, lf)
	if err != nil {
		fmt.Fprintf(c.stderr, "topo %s: %v\n", cmd, err)
		return res, exitCode(err)
	}
	renderDiags(c.stderr, res.files, res.diags, c.isTTY && !*lf.noColor, diagWidth(c))
	if res.diags.HasErrors() || res.topo == nil {
		return res, 1
	}
	return res, 0
}

// runJSON is -json for validate and plan: one JSON value on stdout
// whatever happens. For a valid file it is valid(cmd, res); for an invalid one,
// or one that could not be loaded (reading stdin, an interrupt), the
// diagnostics in validate -json's shape, and the exit status is 1. After a
// forced exit (a second Ctrl-C) it is nothing: exit 130 at once.
func runJSON(ctx context.Context, c *cli, cmd fileCommand, valid func(fileCommand, loadResult) any) int {
	res, err := loadTopology(ctx, c, cmd.path, cmd.loadFlags)
	if err != nil && exitCode(err) == 130 {
		return 130
	}
	if err != nil {
		res.diags = append(res.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read the topology", Detail: err.Error()})
	}
	if res.diags.HasErrors() || res.topo == nil {
		_ = writeJSON(c.stdout, validateJSON(res.diags))
		return 1
	}
	out := valid(cmd, res)
	if err := writeJSON(c.stdout, out); err != nil {
		return 1 // stdout is gone; nothing else to say it on
	}
	if v, ok := out.(validateOutput); ok && !v.Valid {
		return 1 // the command found the file fine but its own flags wrong (plan -host NOPE)
	}
	return 0
}
