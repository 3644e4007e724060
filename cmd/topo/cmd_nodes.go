package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/agext/levenshtein"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/pluginhost"
	"github.com/topo-zmq/topo/topology"
)

// nodesSource is one set of kinds `topo nodes` lists: the built-ins, or the
// kinds one plugin serves. Prefix is what a topology puts before a kind's
// name to use it ("" for built-ins, "text." for plugin "text").
type nodesSource struct {
	Source string // "builtin", or "plugin NAME"
	Prefix string
	Kinds  []*plugins.Kind
}

// nodesSources returns every kind source `topo nodes` knows: the built-ins
// and, with a topology file, the kinds of every plugin it declares (which
// starts them, building from source if needed, as validate does).
func nodesSources(ctx context.Context, c *cli, file string) ([]nodesSource, error) {
	reg, err := builtinRegistry()
	if err != nil {
		return nil, err
	}
	sources := []nodesSource{{Source: "builtin", Kinds: reg.Kinds()}}
	if file == "" {
		return sources, nil
	}
	f, diags := topology.ParseFile(file)
	var environ []string
	if c.environ != nil {
		environ = c.environ()
	}
	opts := topology.Options{Environ: environ}
	if !diags.HasErrors() {
		_, diags = f.Plugins(opts) // PluginKinds leaves invalid plugin blocks to Decode, which nodes does not run
	}
	if !diags.HasErrors() {
		var pluginKinds map[string][]*plugins.Kind
		host := pluginhost.New(pluginhost.Options{})
		defer host.Close()
		err = startPlugins(ctx, c, host, func(ctx context.Context) error {
			pluginKinds, diags = runtime.PluginKinds(ctx, f, opts, host, f.Dir)
			return nil
		})
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(pluginKinds))
		for name := range pluginKinds {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			sources = append(sources, nodesSource{Source: "plugin " + name, Prefix: name + ".", Kinds: pluginKinds[name]})
		}
	}
	if diags.HasErrors() {
		if len(diags) == 1 && diags[0].Subject == nil && diags[0].Detail == "" {
			return nil, errors.New(diags[0].Summary) // "Cannot read FILE: why": one line is enough
		}
		renderDiags(c.stderr, f.Sources(), diags, false, diagWidth(c))
		return nil, fmt.Errorf("cannot list the plugin kinds of %s", file)
	}
	return sources, nil
}

// listedKind is one kind as `topo nodes` lists it: the registry's own
// description and the source it comes from.
type listedKind struct {
	name string // as a topology names it: the source's prefix and the kind's name
	src  nodesSource
	*plugins.Kind
}

// MarshalJSON writes the shape of one kind in `topo nodes -json`.
func (l listedKind) MarshalJSON() ([]byte, error) {
	type attr struct {
		Name     string          `json:"name"`
		Type     string          `json:"type"`
		Required bool            `json:"required"`
		Default  json.RawMessage `json:"default,omitempty"`
		Doc      string          `json:"doc"`
	}
	type sock struct {
		Name     string   `json:"name"`
		Types    []string `json:"types"`
		Optional bool     `json:"optional"`
		Doc      string   `json:"doc"`
	}
	out := struct {
		Name    string `json:"name"`
		Source  string `json:"source"`
		Life    string `json:"life"`
		Doc     string `json:"doc"`
		Attrs   []attr `json:"attributes"`
		Sockets []sock `json:"sockets"`
	}{Name: l.name, Source: l.src.Source, Life: l.Life.String(), Doc: l.Doc, Attrs: []attr{}, Sockets: []sock{}}
	for _, a := range l.Attrs {
		out.Attrs = append(out.Attrs, attr{Name: a.Name, Type: typeName(a.Type), Required: a.Required(), Default: defaultJSON(a), Doc: a.Doc})
	}
	for _, s := range l.Sockets {
		out.Sockets = append(out.Sockets, sock{Name: s.Name, Types: socketTypes(s), Optional: s.Optional, Doc: s.Doc})
	}
	return json.Marshal(out)
}

// defaultJSON is a's default as JSON, or nil for a required attribute.
func defaultJSON(a plugins.Attr) json.RawMessage {
	if a.Required() {
		return nil
	}
	b, err := ctyjson.Marshal(a.Default, a.Default.Type())
	if err != nil {
		return nil
	}
	return b
}

func socketTypes(s plugins.SocketDecl) []string {
	types := []string{}
	for _, t := range s.Types {
		types = append(types, string(t))
	}
	return types
}

func runNodes(ctx context.Context, c *cli, args []string) int {
	fs := flag.NewFlagSet("nodes", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	asJSON := fs.Bool("json", false, "print the kinds as JSON")
	fs.Bool("no-color", false, "disable colour (output is never coloured)")
	file := fs.String("file", "", "a topology file whose declared plugins' kinds are listed too")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: topo nodes [-json] [-file FILE] [KIND...]")
		fmt.Fprintln(c.stderr)
		fmt.Fprintln(c.stderr, "Lists every available node kind with its attributes, sockets and docs;")
		fmt.Fprintln(c.stderr, "with KIND arguments, only those kinds. With -file, also the kinds of the")
		fmt.Fprintln(c.stderr, "plugins that topology file declares, as PLUGIN.KIND (this starts them).")
		fmt.Fprintln(c.stderr)
		fs.PrintDefaults()
	}
	if err := parseInterspersed(fs, args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 1
	}
	sources, err := nodesSources(ctx, c, *file)
	if err != nil {
		fmt.Fprintf(c.stderr, "topo: nodes: %v\n", err)
		return exitCode(err)
	}
	var all []listedKind
	for _, src := range sources {
		for _, k := range src.Kinds {
			all = append(all, listedKind{name: src.Prefix + k.Name, src: src, Kind: k})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].name < all[j].name })
	kinds := all
	if fs.NArg() > 0 {
		kinds = nil
		for _, name := range fs.Args() {
			k, ok := findKind(all, name)
			if !ok {
				fmt.Fprintf(c.stderr, "topo: nodes: unknown kind %q%s\n", name, didYouMean(all, name))
				return 1
			}
			kinds = append(kinds, k)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Kinds []listedKind `json:"kinds"`
		}{kinds}); err != nil {
			fmt.Fprintf(c.stderr, "topo: nodes: %v\n", err)
			return 1
		}
		return 0
	}
	writeKinds(c.stdout, kinds)
	return 0
}

func typeName(t cty.Type) string {
	if t == cty.NilType || t == cty.DynamicPseudoType {
		return "any"
	}
	return t.FriendlyNameForConstraint()
}

func findKind(all []listedKind, name string) (listedKind, bool) {
	for _, k := range all {
		if k.name == name {
			return k, true
		}
	}
	return listedKind{}, false
}

// writeKinds renders kinds for a terminal: a header per kind, its doc, then
// aligned tables of attributes and sockets.
func writeKinds(w io.Writer, kinds []listedKind) {
	for i, k := range kinds {
		if i > 0 {
			fmt.Fprintln(w)
		}
		src := ""
		if k.src.Source != "builtin" {
			src = ", " + k.src.Source
		}
		fmt.Fprintf(w, "%s (%s%s)\n", k.name, k.Life, src)
		if k.Doc != "" {
			fmt.Fprintf(w, "  %s\n", k.Doc)
		}
		if len(k.Attrs) > 0 {
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  attributes:")
			for _, a := range k.Attrs {
				def := "required"
				if !a.Required() {
					def = "default " + string(defaultJSON(a))
				}
				fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", a.Name, typeName(a.Type), def, a.Doc)
			}
			tw.Flush()
		}
		if len(k.Sockets) > 0 {
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  sockets:")
			for _, s := range k.Sockets {
				types := strings.Join(socketTypes(s), "|")
				if types == "" {
					types = "any"
				}
				if s.Optional {
					types += " (optional)"
				}
				fmt.Fprintf(tw, "    %s\t%s\t%s\n", s.Name, types, s.Doc)
			}
			tw.Flush()
		}
	}
}

// didYouMean suggests the closest kind name, if one is close.
func didYouMean(all []listedKind, name string) string {
	best, bestD := "", 4
	for _, k := range all {
		if d := levenshtein.Distance(name, k.name, nil); d < bestD {
			best, bestD = k.name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
