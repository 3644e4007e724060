package runtime

import (
	"context"
	"fmt"
	"sort"

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
			})
			continue
		}
		kinds[p.Name] = ks
	}
	return kinds, diags
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
