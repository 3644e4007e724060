package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/topology"
)

// kindSchemas is a topology.Schemas over a fixed set of kind schemas.
type kindSchemas map[string]*topology.KindSchema

func (s kindSchemas) Schema(kind string) (*topology.KindSchema, bool) {
	k, ok := s[kind]
	return k, ok
}

func (s kindSchemas) Kinds() []string {
	out := make([]string, 0, len(s))
	for n := range s {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// schemasFor adapts a registry's kinds to what topology validates
// against: attributes with their types, defaults and whether required;
// sockets with the types they accept; whether the kind is a task.
func schemasFor(reg *plugins.Registry) topology.Schemas {
	s := kindSchemas{}
	if reg == nil {
		return s
	}
	for _, k := range reg.Kinds() {
		s[k.Name] = kindSchemaOf(k.Name, k)
	}
	return s
}

func kindSchemaOf(name string, k *plugins.Kind) *topology.KindSchema {
	ks := &topology.KindSchema{Name: name, Task: k.Life == plugins.Task}
	selfSubs := defaultSubscriptions(k)
	for _, a := range k.Attrs {
		ks.Attrs = append(ks.Attrs, topology.AttrSchema{
			Name: a.Name, Type: a.Type, Required: a.Required(), Default: a.Default, Doc: a.Doc,
		})
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
// asks it (plugins.Subscriber) which sockets it subscribes by itself. A
// kind that cannot be built from defaults (required attributes), has no
// constructor (a plugin's kinds, described remotely) or panics reports
// none.
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

// builtinSchemas is the schemas of the built-in kinds.
func builtinSchemas() (kindSchemas, error) {
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		return nil, err
	}
	return schemasFor(&reg).(kindSchemas), nil
}

// addPluginKinds starts every plugin the file declares (building it from
// source if needed) to learn its kinds, and adds them to s as
// "<plugin>.<kind>". A plugin that cannot start is an error at its block;
// an invalid plugin block is left for Decode to report.
func addPluginKinds(ctx context.Context, s kindSchemas, f *topology.File, opts topology.Options, l runtime.Launcher) hcl.Diagnostics {
	plugs, diags := f.Plugins(opts)
	if diags.HasErrors() {
		return nil
	}
	var out hcl.Diagnostics
	for _, p := range plugs {
		kinds, err := l.Kinds(ctx, p, f.Dir)
		if err != nil {
			out = append(out, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Cannot start plugin %q", p.Name),
				Detail:   err.Error() + " (validate with -plugins=false to skip checking plugin kinds)",
				Subject:  p.DeclRange.Ptr(),
			})
			continue
		}
		for _, k := range kinds {
			name := p.Name + "." + k.Name
			s[name] = kindSchemaOf(name, k)
		}
	}
	return out
}
