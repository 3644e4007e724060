package runtime

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/pluginhost"
	"github.com/topo-zmq/topo/topology"
)

// Schemas adapts a registry, plus the kinds of plugins by plugin name, to
// what the topology package validates against: registered kinds by their
// name, plugin kinds as "<plugin>.<kind>". reg may be nil. This is the one
// place where plugins.Kind becomes topology.KindSchema; the CLI uses it too.
func Schemas(reg *plugins.Registry, pluginKinds map[string][]*plugins.Kind) topology.Schemas {
	s := schemas{}
	if reg != nil {
		for _, k := range reg.Kinds() {
			s[k.Name] = kindSchema(k.Name, k)
		}
	}
	for p, ks := range pluginKinds {
		for _, k := range ks {
			name := p + "." + k.Name
			s[name] = kindSchema(name, k)
		}
	}
	return s
}

// PluginKinds starts every plugin the file declares (building it from
// source if needed) to learn its kinds, by plugin name. A plugin that cannot
// start is an error diagnostic at its block. Invalid plugin blocks are left
// for topology.Decode to report, so nothing is reported twice. A nil
// launcher means a temporary pluginhost, started only if the file declares
// plugins and closed before PluginKinds returns.
func PluginKinds(ctx context.Context, f *topology.File, opts topology.Options, l Launcher, baseDir string) (map[string][]*plugins.Kind, hcl.Diagnostics) {
	plugs, d := f.Plugins(opts)
	if d.HasErrors() || len(plugs) == 0 {
		return nil, nil
	}
	if l == nil {
		h := pluginhost.New(pluginhost.Options{})
		defer h.Close()
		l = h
	}
	var diags hcl.Diagnostics
	kinds := map[string][]*plugins.Kind{}
	for _, p := range plugs {
		ks, err := l.Kinds(ctx, p, baseDir)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Cannot start plugin %q", p.Name),
				Detail:   err.Error(),
				Subject:  p.DeclRange.Ptr(),
				Extra:    PluginStartFailure{Plugin: p.Name},
			})
			continue
		}
		kinds[p.Name] = ks
	}
	return kinds, diags
}

// PluginStartFailure is the Extra of the error diagnostic PluginKinds (and
// so Load) reports for a plugin that could not start, so that a caller can
// tell it from the others (`topo validate` adds how to skip plugins).
type PluginStartFailure struct {
	Plugin string // the plugin block's name
}

type schemas map[string]*topology.KindSchema

func (s schemas) Schema(kind string) (*topology.KindSchema, bool) {
	k, ok := s[kind]
	return k, ok
}

func (s schemas) Kinds() []string {
	out := make([]string, 0, len(s))
	for n := range s {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func kindSchema(name string, k *plugins.Kind) *topology.KindSchema {
	ks := &topology.KindSchema{Name: name, Task: k.Life == plugins.Task}
	if k.Check != nil {
		ks.Check = func(inst *topology.Instance) []topology.AttrProblem {
			return attrProblems(plugins.CheckKind(k, plugins.Config{Name: inst.Name, Index: inst.Index, Attrs: inst.Attrs}))
		}
	}
	selfSubs := defaultSubscriptions(k)
	for _, a := range k.Attrs {
		ks.Attrs = append(ks.Attrs, topology.AttrSchema{Name: a.Name, Type: a.Type, Required: a.Required(), Default: a.Default, Doc: a.Doc})
	}
	for _, d := range k.Sockets {
		_, subscribes := selfSubs[d.Name]
		ss := topology.SocketSchema{Name: d.Name, Optional: d.Optional, Doc: d.Doc, Subscribes: subscribes}
		for _, t := range d.Types {
			ss.Types = append(ss.Types, string(t))
		}
		ks.Sockets = append(ks.Sockets, ss)
	}
	return ks
}

// defaultSubscriptions builds a node of the kind from its defaults and
// asks it (plugins.Subscriber) which sockets it subscribes by itself, so
// validation does not warn about a SUB without `subscribe` on them. A kind
// that cannot be built from defaults (required attributes), has no
// constructor (a plugin's kinds, described remotely) or panics reports none.
func defaultSubscriptions(k *plugins.Kind) (subs map[string][]string) {
	if k.New == nil {
		return nil
	}
	defer func() {
		if recover() != nil {
			subs = nil
		}
	}()
	attrs := map[string]cty.Value{}
	for _, a := range k.Attrs {
		if a.Required() {
			return nil
		}
		attrs[a.Name] = a.Default
	}
	n, err := k.New(plugins.Config{Name: k.Name, Attrs: cty.ObjectVal(attrs)})
	if err != nil {
		return nil
	}
	if s, ok := n.(plugins.Subscriber); ok {
		return s.Subscriptions()
	}
	return nil
}

func attrProblems(errs []*plugins.AttrError) []topology.AttrProblem {
	out := make([]topology.AttrProblem, 0, len(errs))
	for _, e := range errs {
		out = append(out, topology.AttrProblem{Attr: e.Attr, Msg: e.Msg})
	}
	return out
}

// KindChecker is implemented by a Launcher that can run a plugin's kind
// checks (plugins.Kind.Check) across the plugin boundary;
// pluginhost.Host does. A Launcher without it leaves plugin nodes
// checked by type only.
type KindChecker interface {
	// CheckKinds starts plugin p once and has it check each spec's
	// attributes (Name, Index, Kind as the bare kind name, Attrs; Sockets
	// are ignored). It returns one error per spec: nil, or the problems
	// found as joined *plugins.AttrError values. A plugin built before
	// the check existed makes it return an error wrapping
	// pluginhost.ErrCheckUnsupported.
	CheckKinds(ctx context.Context, p *topology.Plugin, baseDir string, specs []plugins.Spec) ([]error, error)
}

var _ KindChecker = (*pluginhost.Host)(nil)

// CheckPluginNodes runs the kind checks of t's plugin nodes in their
// plugins and returns what they found as diagnostics at the attributes
// (topology.CheckDiagnostics). Only plugins in pluginKinds (as
// PluginKinds returned it) are asked, each once, for every instance of
// its kinds. A plugin built before the check existed is skipped with a
// warning at its block; one that cannot be asked is an error there. A nil
// launcher means a temporary pluginhost, started only if some node uses a
// plugin kind and closed before CheckPluginNodes returns; a launcher that
// is not a KindChecker checks nothing. t may be nil.
func CheckPluginNodes(ctx context.Context, t *topology.Topology, pluginKinds map[string][]*plugins.Kind, l Launcher, baseDir string) hcl.Diagnostics {
	if t == nil || len(pluginKinds) == 0 {
		return nil
	}
	type batch struct {
		p     *topology.Plugin
		specs []plugins.Spec
		insts []*topology.Instance
		kinds []string
	}
	var batches []*batch
	for _, p := range t.Plugins {
		served := map[string]bool{}
		for _, k := range pluginKinds[p.Name] {
			served[k.Name] = true
		}
		b := &batch{p: p}
		seen := map[string]bool{}
		for _, inst := range t.Instances {
			prefix, kind, ok := strings.Cut(inst.Node.Kind, ".")
			if !ok || prefix != p.Name || !served[kind] || inst.Attrs == cty.NilVal || !inst.Attrs.IsWhollyKnown() {
				continue
			}
			b.specs = append(b.specs, plugins.Spec{Name: inst.Name, Index: inst.Index, Kind: kind, Attrs: inst.Attrs})
			b.insts = append(b.insts, inst)
			if !seen[inst.Node.Kind] {
				seen[inst.Node.Kind] = true
				b.kinds = append(b.kinds, inst.Node.Kind)
			}
		}
		if len(b.specs) > 0 {
			batches = append(batches, b)
		}
	}
	if len(batches) == 0 {
		return nil
	}
	if l == nil {
		h := pluginhost.New(pluginhost.Options{})
		defer h.Close()
		l = h
	}
	kc, ok := l.(KindChecker)
	if !ok {
		return nil
	}
	var diags hcl.Diagnostics
	var problems []topology.InstanceProblem
	for _, b := range batches {
		errs, err := kc.CheckKinds(ctx, b.p, baseDir, b.specs)
		switch {
		case errors.Is(err, pluginhost.ErrCheckUnsupported):
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  fmt.Sprintf("Plugin %q cannot check attribute values", b.p.Name),
				Detail: fmt.Sprintf("Plugin %q was built before topo could ask plugins to check their nodes' attribute values, "+
					"so the values of its nodes (kinds %s) were checked for their types only, and apply may still reject them. "+
					"Rebuild the plugin against this topo to check them here.", b.p.Name, strings.Join(b.kinds, ", ")),
				Subject: b.p.DeclRange.Ptr(),
			})
			continue
		case err != nil:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Cannot check the nodes of plugin %q", b.p.Name),
				Detail:   err.Error(),
				Subject:  b.p.DeclRange.Ptr(),
			})
			continue
		}
		for i, inst := range b.insts {
			if i >= len(errs) {
				break
			}
			for _, p := range attrProblems(plugins.AttrErrors(errs[i])) {
				problems = append(problems, topology.InstanceProblem{Instance: inst, AttrProblem: p})
			}
		}
	}
	return append(diags, topology.CheckDiagnostics(problems)...)
}
