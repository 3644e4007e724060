package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/pluginhost"
	"github.com/topo-zmq/topo/topology"
)

// version is topo's version; release builds set it with
// -ldflags "-X main.version=v1.2.3".
var version = "v0.1.0"

// newFlagSet makes a command's flag set whose -help prints help (a
// description, then the options) to stdout.
func newFlagSet(c *cli, name, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprint(c.stderr, help)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; done reports that the command should return
// code right away (-help, or a flag error already reported).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := parseInterspersed(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 1, true
	}
	return 0, false
}

// loadResult is a topology file read, evaluated and validated for one
// command, with everything needed to render its diagnostics.
type loadResult struct {
	topo    *topology.Topology
	files   map[string]*hcl.File
	diags   hcl.Diagnostics
	schemas topology.Schemas
}

// loadTopology loads path ("-" reads stdin) against the built-in kinds
// and, with withPlugins, the kinds of the plugins the file declares (which
// starts them, building from source if needed). Without, nodes of plugin
// kinds validate with a warning that they were not checked.
func loadTopology(ctx context.Context, c *cli, path string, vars []topology.VarArg, withPlugins bool) (loadResult, error) {
	reg, err := builtinRegistry()
	if err != nil {
		return loadResult{}, fmt.Errorf("built-in kinds: %w", err)
	}
	var environ []string
	if c.environ != nil {
		environ = c.environ()
	}
	opts := topology.Options{Args: vars, Environ: environ}
	var f *topology.File
	var diags hcl.Diagnostics
	if path == "-" {
		src, err := io.ReadAll(io.LimitReader(c.stdin, topology.MaxFileSize+1))
		if err != nil {
			return loadResult{}, fmt.Errorf("reading stdin: %w", err)
		}
		f, diags = topology.Parse("<stdin>", src)
	} else {
		f, diags = topology.ParseFile(path)
	}
	res := loadResult{files: f.Sources(), diags: diags, schemas: runtime.Schemas(reg, nil)}
	if diags.HasErrors() {
		return res, nil
	}
	var pluginKinds map[string][]*plugins.Kind
	// One host for learning the kinds and checking the nodes: it builds
	// (or hashes) a source plugin once. It starts nothing by itself.
	host := pluginhost.New(pluginhost.Options{})
	defer host.Close()
	if withPlugins {
		var more hcl.Diagnostics
		pluginKinds, more, err = startPluginKinds(ctx, c, f, opts, host)
		if err != nil {
			return res, err
		}
		for _, d := range more {
			d.Detail += " (validate with -plugins=false to skip checking plugin kinds)"
		}
		diags = append(diags, more...)
	}
	opts.Schemas = runtime.Schemas(reg, pluginKinds)
	res.schemas = opts.Schemas
	t, more := topology.Decode(f, opts)
	sorted := len(diags) == 0 // Decode sorts its own
	diags = append(diags, more...)
	if withPlugins && !diags.HasErrors() {
		// The plugins' own checks of their nodes' attribute values.
		checked := runtime.CheckPluginNodes(ctx, t, pluginKinds, host, f.Dir)
		sorted = sorted && len(checked) == 0
		diags = append(diags, checked...)
	}
	if !sorted {
		sortDiagnostics(diags)
	}
	res.topo, res.diags, res.files = t, diags, f.Sources()
	return res, nil
}

// sortDiagnostics orders diagnostics by file and position.
func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		if a == nil || b == nil {
			return a != nil && b == nil
		}
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
}

// wantOneFile checks a command got exactly one FILE argument.
func wantOneFile(c *cli, fs *flag.FlagSet, name string) (string, bool) {
	if fs.NArg() != 1 {
		fmt.Fprintf(c.stderr, "topo %s: want exactly one FILE (or - for stdin), got %d arguments\n\n", name, fs.NArg())
		fs.Usage()
		return "", false
	}
	return fs.Arg(0), true
}

func diagWidth(c *cli) uint {
	if c.isTTY {
		return 100
	}
	return 0
}

const validateHelp = `Usage: topo validate [options] FILE

  Checks a topology file (.hcl, or .hcl.json for the JSON form; - reads
  stdin) without running it: syntax, variables, references between nodes,
  kinds and their attributes and sockets, values the kinds themselves
  reject (size = -1 on generate), socket-type compatibility of every edge,
  endpoints bound twice, inproc:// across process boundaries. Problems
  are reported with their file, line and source snippet; warnings point at
  what may be intended (external peers, wildcard binds, SUB without a
  subscription).

  The plugins the file declares are started (and built from source first
  if needed) to learn their kinds and to check their nodes' values, so
  plugin nodes are checked like any other (a plugin built before topo
  could ask it to check values gets a warning instead); -plugins=false
  skips that and only warns that they were not checked. Ctrl-C while they
  start kills them at once (exit 1); a second Ctrl-C exits 130 without
  waiting.

  Exit status: 0 when the file is valid (warnings allowed), 1 otherwise.

Options:
`

// runValidate implements `topo validate`.
func runValidate(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "validate", validateHelp)
	noColor := fs.Bool("no-color", false, "do not colour the output")
	asJSON := fs.Bool("json", false, "print the result as one JSON object on stdout (valid, error_count, warning_count, diagnostics), as terraform validate -json does")
	withPlugins := fs.Bool("plugins", true, "start the declared plugins (building them from source if needed) to check their kinds")
	vars := addVarFlags(fs)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	path, ok := wantOneFile(c, fs, "validate")
	if !ok {
		return 1
	}
	res, err := loadTopology(ctx, c, path, *vars, *withPlugins)
	if err != nil && exitCode(err) == 130 {
		return 130 // a second Ctrl-C: out at once
	}
	if *asJSON {
		if err != nil { // reading stdin: still one JSON object on stdout
			res.diags = append(res.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read the topology", Detail: err.Error()})
		}
		if err := writeJSON(c.stdout, validateJSON(res.diags)); err != nil {
			return 1 // stdout is gone; nothing else to say it on
		}
		if res.diags.HasErrors() {
			return 1
		}
		return 0
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "topo validate: %v\n", err)
		return exitCode(err)
	}
	color := c.isTTY && !*noColor
	renderDiags(c.stderr, res.files, res.diags, color, diagWidth(c))
	if res.diags.HasErrors() {
		return 1
	}
	msg := "The topology is valid."
	if n := len(res.diags); n > 0 {
		msg = fmt.Sprintf("The topology is valid, with %d warning%s.", n, plural(n))
	}
	if color {
		msg = "\x1b[32m" + msg + "\x1b[0m"
	}
	fmt.Fprintln(c.stdout, msg)
	return 0
}

// validateOutput is `validate -json`'s one object, Terraform's shape.
type validateOutput struct {
	FormatVersion string     `json:"format_version"`
	Valid         bool       `json:"valid"`
	ErrorCount    int        `json:"error_count"`
	WarningCount  int        `json:"warning_count"`
	Diagnostics   []jsonDiag `json:"diagnostics"`
}

func validateJSON(diags hcl.Diagnostics) validateOutput {
	out := validateOutput{FormatVersion: "1.0", Diagnostics: toJSONDiags(diags)}
	for _, d := range out.Diagnostics {
		if d.Severity == "error" {
			out.ErrorCount++
		} else {
			out.WarningCount++
		}
	}
	out.Valid = out.ErrorCount == 0
	return out
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

const planHelp = `Usage: topo plan [options] FILE

  Shows what apply would run, without running it: every instance (count
  expanded) with its kind, restart policy and isolation; every socket with
  its resolved bind and connect endpoints; every edge with its socket
  types; the start order (apply binds every instance in that order, then
  connects them in that order) with what each body waits for before it
  starts (the peers expected on each socket, the nodes it depends on);
  and, per edge, what it can lose: what it drops at the high-water mark
  (PUB, XPUB, ROUTER) and what is lost when the node at either end dies or
  restarts (every edge: ZeroMQ does not resend).

  Exit status: 0 on success, 1 when the file is invalid.

Options:
`

// runPlan implements `topo plan`.
func runPlan(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "plan", planHelp)
	noColor := fs.Bool("no-color", false, "do not colour the output")
	asJSON := fs.Bool("json", false, "print the plan as one JSON object on stdout (an invalid file: its diagnostics, as validate -json prints them)")
	withPlugins := fs.Bool("plugins", true, "start the declared plugins (building them from source if needed) to check their kinds")
	vars := addVarFlags(fs)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	path, ok := wantOneFile(c, fs, "plan")
	if !ok {
		return 1
	}
	if *asJSON {
		// One JSON value on stdout either way: the plan, or (invalid file)
		// the diagnostics in validate -json's shape. Warnings of a valid
		// file go to stderr as text.
		res, err := loadTopology(ctx, c, path, *vars, *withPlugins)
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
		renderDiags(c.stderr, res.files, res.diags, c.errTTY && !*noColor, diagWidth(c))
		if err := writeJSON(c.stdout, planJSON(res)); err != nil {
			return 1
		}
		return 0
	}
	res, code := loadForOutput(ctx, c, "plan", path, *vars, *noColor, *withPlugins)
	if code != 0 {
		return code
	}
	if err := writePlan(c.stdout, res); err != nil {
		fmt.Fprintf(c.stderr, "topo plan: %v\n", err)
		return 1
	}
	return 0
}

// loadForOutput loads a file for plan and graph: diagnostics go to
// stderr; code is the exit status when there were errors (1, or 130 after
// a forced exit), 0 otherwise.
func loadForOutput(ctx context.Context, c *cli, cmd, path string, vars []topology.VarArg, noColor, withPlugins bool) (loadResult, int) {
	res, err := loadTopology(ctx, c, path, vars, withPlugins)
	if err != nil {
		fmt.Fprintf(c.stderr, "topo %s: %v\n", cmd, err)
		return res, exitCode(err)
	}
	renderDiags(c.stderr, res.files, res.diags, c.isTTY && !noColor, diagWidth(c))
	if res.diags.HasErrors() || res.topo == nil {
		return res, 1
	}
	return res, 0
}

func life(s topology.Schemas, kind string) string {
	if ks, ok := s.Schema(kind); ok {
		if ks.Task {
			return "task"
		}
		return "service"
	}
	return "unknown life"
}

// writePlan renders the plan as text.
func writePlan(w io.Writer, res loadResult) error {
	t := res.topo
	var b strings.Builder
	fmt.Fprintf(&b, "Plan: %d instance%s of %d node%s, %d edge%s.\n",
		len(t.Instances), plural(len(t.Instances)), len(t.Nodes), plural(len(t.Nodes)), len(t.Edges), plural(len(t.Edges)))

	if len(t.Variables) > 0 {
		b.WriteString("\nVariables:\n")
		for _, v := range t.Variables {
			fmt.Fprintf(&b, "  %s = %s  (%s)\n", v.Name, valueString(v.Value), v.Source)
		}
	}
	if len(t.Plugins) > 0 {
		b.WriteString("\nPlugins:\n")
		for _, p := range t.Plugins {
			where := "command " + p.Command
			if p.Source != "" {
				where = "source " + p.Source
			}
			fmt.Fprintf(&b, "  %s: %s\n", p.Name, where)
		}
	}

	b.WriteString("\nInstances:\n")
	for _, inst := range t.Instances {
		n := inst.Node
		fmt.Fprintf(&b, "  %s: %s (%s), restart %s, isolation %s", inst.Name, n.Kind, life(res.schemas, n.Kind), n.Restart, n.Isolation)
		if n.Host != "" {
			fmt.Fprintf(&b, ", host %s", n.Host)
		}
		if len(n.DependsOn) > 0 {
			fmt.Fprintf(&b, ", after %s", strings.Join(n.DependsOn, ", "))
		}
		b.WriteString("\n")
		if inst.Attrs.Type().IsObjectType() {
			names := make([]string, 0)
			for name := range inst.Attrs.Type().AttributeTypes() {
				names = append(names, name)
			}
			sort.Strings(names)
			width := 0
			for _, name := range names {
				width = max(width, len(name))
			}
			for _, name := range names {
				fmt.Fprintf(&b, "    %-*s = %s\n", width, name, valueString(inst.Attrs.GetAttr(name)))
			}
		}
		for _, s := range inst.Sockets {
			fmt.Fprintf(&b, "    socket %s %s", s.Name, s.Type)
			if s.HWM != 0 {
				fmt.Fprintf(&b, " hwm=%d", s.HWM)
			}
			if s.Identity != "" {
				fmt.Fprintf(&b, " identity=%q", s.Identity)
			}
			if s.Subscribe != nil {
				q := make([]string, len(s.Subscribe))
				for i, p := range s.Subscribe {
					q[i] = fmt.Sprintf("%q", p)
				}
				fmt.Fprintf(&b, " subscribe=[%s]", strings.Join(q, ", "))
			}
			b.WriteString("\n")
			for _, e := range s.Bind {
				fmt.Fprintf(&b, "      bind    %s\n", e.URL)
			}
			for _, e := range s.Connect {
				if e.Ref != nil {
					fmt.Fprintf(&b, "      connect %s  (%s)\n", e.URL, e.Ref)
				} else {
					fmt.Fprintf(&b, "      connect %s\n", e.URL)
				}
			}
		}
	}

	b.WriteString("\nEdges (message flow):\n")
	if len(t.Edges) == 0 {
		b.WriteString("  none\n")
	}
	for _, ed := range t.Edges {
		from, to, label := ed.Flow()
		mark := ""
		if ed.Lossy != "" {
			mark = "  [may drop]"
		}
		fmt.Fprintf(&b, "  %s → %s  %s  via %s%s\n", from, to, label, ed.Endpoint, mark)
	}

	b.WriteString("\nStart order (apply binds, then connects, in this order; a body starts when what it waits for is there):\n")
	exp := t.ExpectedPeers()
	order := t.InStartOrder()
	width := 0
	for _, inst := range order {
		width = max(width, len(inst.Name))
	}
	for i, inst := range order {
		fmt.Fprintf(&b, "  %d. %-*s  %s\n", i+1, width, inst.Name, bodyWaits(inst, exp))
	}

	// Every edge can lose messages when a node at one end dies or
	// restarts; some also drop at the high-water mark. Edges with the same
	// socket types share one explanation.
	b.WriteString("\nLossy edges (ZeroMQ neither acknowledges nor resends):\n")
	if len(t.Edges) == 0 {
		b.WriteString("  none: there are no edges.\n")
	}
	var groups []string
	byLabel := map[string][]*topology.Edge{}
	for _, ed := range t.Edges {
		_, _, label := ed.Flow()
		if byLabel[label] == nil {
			groups = append(groups, label)
		}
		byLabel[label] = append(byLabel[label], ed)
	}
	for _, label := range groups {
		eds := byLabel[label]
		fmt.Fprintf(&b, "  %s:\n", label)
		for _, ed := range eds {
			from, to, _ := ed.Flow()
			fmt.Fprintf(&b, "    %s → %s\n", from, to)
		}
		hwm := "nothing is dropped; the sender blocks"
		if eds[0].Lossy != "" {
			hwm = eds[0].Lossy
		}
		writeWrapped(&b, "    ", "At the high-water mark: "+hwm+".")
		if eds[0].PeerLoss != "" {
			writeWrapped(&b, "    ", "When a node at either end dies or restarts: "+eds[0].PeerLoss+".")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// bodyWaits says what an instance's body waits for before it starts: the
// nodes it depends on, and the peers the runtime expects on each socket
// (topology.ExpectedPeers).
func bodyWaits(inst *topology.Instance, exp map[topology.SocketRef]int) string {
	var parts []string
	if deps := inst.Node.DependsOn; len(deps) > 0 {
		parts = append(parts, strings.Join(deps, ", ")+" running")
	}
	for _, s := range inst.Sockets {
		n := exp[topology.SocketRef{Instance: inst.Name, Socket: s.Name}]
		if n == 0 {
			continue
		}
		what := "peer"
		if s.Type == "PUB" || s.Type == "XPUB" {
			what = "subscriber"
		}
		parts = append(parts, fmt.Sprintf("%d %s%s on %s", n, what, plural(n), s.Name))
	}
	if len(parts) == 0 {
		return "body starts at once"
	}
	return "body waits for " + strings.Join(parts, ", ")
}

// writeWrapped writes text as lines of at most 100 columns, each starting
// with indent, continuation lines indented two more.
func writeWrapped(b *strings.Builder, indent, text string) {
	const width = 100
	line := indent
	for i, word := range strings.Fields(text) {
		if i > 0 && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent + "  " + word
			continue
		}
		if i > 0 {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
}

// valueString renders a value in HCL syntax.
func valueString(v cty.Value) string {
	v, _ = v.UnmarkDeep()
	if v == cty.NilVal || !v.IsWhollyKnown() {
		return "(unknown)"
	}
	return string(hclwrite.TokensForValue(v).Bytes())
}

// ctyJSON renders a value as plain JSON.
func ctyJSON(v cty.Value) json.RawMessage {
	v, _ = v.UnmarkDeep()
	if v == cty.NilVal || !v.IsWhollyKnown() {
		return json.RawMessage("null")
	}
	b, err := ctyjson.SimpleJSONValue{Value: v}.MarshalJSON()
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// planJSON is the -json form of the plan.
func planJSON(res loadResult) any {
	t := res.topo
	type jsonVar struct {
		Name   string          `json:"name"`
		Value  json.RawMessage `json:"value"`
		Source string          `json:"source"`
	}
	type jsonEndpoint struct {
		URL string `json:"url"`
		Ref string `json:"ref,omitempty"`
	}
	type jsonSocket struct {
		Name      string         `json:"name"`
		Type      string         `json:"type"`
		Bind      []string       `json:"bind"`
		Connect   []jsonEndpoint `json:"connect"`
		Subscribe []string       `json:"subscribe,omitempty"`
		HWM       int            `json:"hwm,omitempty"`
		Identity  string         `json:"identity,omitempty"`
		// ExpectPeers is how many in-topology peers the body waits for.
		ExpectPeers int `json:"expect_peers"`
	}
	type jsonInstance struct {
		Name       string          `json:"name"`
		Node       string          `json:"node"`
		Index      int             `json:"index"`
		Kind       string          `json:"kind"`
		Life       string          `json:"life"`
		Restart    string          `json:"restart"`
		Isolation  string          `json:"isolation"`
		Host       string          `json:"host,omitempty"`
		DependsOn  []string        `json:"depends_on,omitempty"`
		Attributes json.RawMessage `json:"attributes"`
		Sockets    []jsonSocket    `json:"sockets"`
	}
	type jsonEdge struct {
		From        string `json:"from"`
		To          string `json:"to"`
		Label       string `json:"label"`
		Connect     string `json:"connect"`
		Bind        string `json:"bind"`
		ConnectType string `json:"connect_type"`
		BindType    string `json:"bind_type"`
		Endpoint    string `json:"endpoint"`
		Lossy       string `json:"lossy,omitempty"`
		PeerLoss    string `json:"peer_loss,omitempty"`
	}
	type jsonPlugin struct {
		Name    string            `json:"name"`
		Command string            `json:"command,omitempty"`
		Source  string            `json:"source,omitempty"`
		SHA256  string            `json:"sha256,omitempty"`
		Env     map[string]string `json:"env,omitempty"`
	}
	out := struct {
		Variables  []jsonVar      `json:"variables"`
		Plugins    []jsonPlugin   `json:"plugins"`
		Instances  []jsonInstance `json:"instances"`
		Edges      []jsonEdge     `json:"edges"`
		StartOrder []string       `json:"start_order"`
	}{Variables: []jsonVar{}, Plugins: []jsonPlugin{}, Instances: []jsonInstance{}, Edges: []jsonEdge{}, StartOrder: []string{}}
	for _, inst := range t.InStartOrder() {
		out.StartOrder = append(out.StartOrder, inst.Name)
	}
	for _, v := range t.Variables {
		out.Variables = append(out.Variables, jsonVar{v.Name, ctyJSON(v.Value), v.Source})
	}
	for _, p := range t.Plugins {
		out.Plugins = append(out.Plugins, jsonPlugin{p.Name, p.Command, p.Source, p.SHA256, p.Env})
	}
	exp := t.ExpectedPeers()
	for _, inst := range t.Instances {
		n := inst.Node
		ji := jsonInstance{
			Name: inst.Name, Node: n.Name, Index: inst.Index, Kind: n.Kind, Life: life(res.schemas, n.Kind),
			Restart: n.Restart, Isolation: n.Isolation, Host: n.Host, DependsOn: n.DependsOn,
			Attributes: ctyJSON(inst.Attrs), Sockets: []jsonSocket{},
		}
		for _, s := range inst.Sockets {
			js := jsonSocket{Name: s.Name, Type: s.Type, Bind: []string{}, Connect: []jsonEndpoint{}, Subscribe: s.Subscribe, HWM: s.HWM, Identity: s.Identity,
				ExpectPeers: exp[topology.SocketRef{Instance: inst.Name, Socket: s.Name}]}
			for _, e := range s.Bind {
				js.Bind = append(js.Bind, e.URL)
			}
			for _, e := range s.Connect {
				je := jsonEndpoint{URL: e.URL}
				if e.Ref != nil {
					je.Ref = e.Ref.String()
				}
				js.Connect = append(js.Connect, je)
			}
			ji.Sockets = append(ji.Sockets, js)
		}
		out.Instances = append(out.Instances, ji)
	}
	for _, ed := range t.Edges {
		from, to, label := ed.Flow()
		out.Edges = append(out.Edges, jsonEdge{
			From: from.String(), To: to.String(), Label: label,
			Connect: ed.Connect.String(), Bind: ed.Bind.String(),
			ConnectType: ed.ConnectType, BindType: ed.BindType,
			Endpoint: ed.Endpoint, Lossy: ed.Lossy, PeerLoss: ed.PeerLoss,
		})
	}
	return out
}

const graphHelp = `Usage: topo graph [options] FILE

  Prints the topology as a graph: one box per instance, one arrow per edge
  in the direction messages flow, labelled with the socket types
  ("PUSH→PULL"); edges that can drop messages are dashed. The output is
  deterministic. Render DOT with Graphviz: topo graph f.hcl | dot -Tsvg.

Options:
`

// runGraph implements `topo graph`.
func runGraph(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "graph", graphHelp)
	format := fs.String("format", "dot", "output format: dot or mermaid")
	noColor := fs.Bool("no-color", false, "do not colour diagnostics")
	withPlugins := fs.Bool("plugins", true, "start the declared plugins (building them from source if needed) to check their kinds")
	vars := addVarFlags(fs)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *format != "dot" && *format != "mermaid" {
		fmt.Fprintf(c.stderr, "topo graph: -format must be dot or mermaid, not %q\n", *format)
		return 1
	}
	path, ok := wantOneFile(c, fs, "graph")
	if !ok {
		return 1
	}
	res, code := loadForOutput(ctx, c, "graph", path, *vars, *noColor, *withPlugins)
	if code != 0 {
		return code
	}
	var err error
	if *format == "mermaid" {
		err = res.topo.WriteMermaid(c.stdout)
	} else {
		err = res.topo.WriteDOT(c.stdout)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "topo graph: %v\n", err)
		return 1
	}
	return 0
}

const fmtHelp = `Usage: topo fmt [options] [FILE|DIR|-]...

  Rewrites topology files (native syntax) in canonical format, in place.
  A directory means every *.hcl file in it (not recursive); no argument
  means the current directory; - formats stdin to stdout. Files with syntax
  errors are reported and left untouched. JSON files are not formatted.

  Exit status: 0 on success; 1 when a file could not be read, parsed or
  written; 3 with -check when some file is not formatted (like terraform
  fmt -check).

Options:
`

// runFmt implements `topo fmt`.
func runFmt(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "fmt", fmtHelp)
	check := fs.Bool("check", false, "only check: exit 3 and list the files that are not formatted")
	diff := fs.Bool("diff", false, "print a unified diff of the changes")
	write := fs.Bool("write", true, "write the result to the file (-write=false leaves files alone)")
	list := fs.Bool("list", true, "print the names of files whose formatting changes")
	noColor := fs.Bool("no-color", false, "do not colour diagnostics")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	color := c.isTTY && !*noColor
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{"."}
	}
	failed, unformatted := false, false
	for _, p := range paths {
		if p == "-" {
			src, err := io.ReadAll(io.LimitReader(c.stdin, topology.MaxFileSize+1))
			if err != nil {
				fmt.Fprintf(c.stderr, "topo fmt: reading stdin: %v\n", err)
				failed = true
				continue
			}
			out, ok := formatSource(c, "<stdin>", src, color)
			if !ok {
				failed = true
				continue
			}
			changed := !bytes.Equal(src, out)
			unformatted = unformatted || changed
			if *diff && changed {
				io.WriteString(c.stdout, unifiedDiff("<stdin>", src, out))
			}
			if !*check && !*diff {
				c.stdout.Write(out)
			}
			continue
		}
		files, err := fmtTargets(p)
		if err != nil {
			fmt.Fprintf(c.stderr, "topo fmt: %v\n", err)
			failed = true
			continue
		}
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				fmt.Fprintf(c.stderr, "topo fmt: %v\n", err)
				failed = true
				continue
			}
			out, ok := formatSource(c, file, src, color)
			if !ok {
				failed = true
				continue
			}
			if bytes.Equal(src, out) {
				continue
			}
			unformatted = true
			if *list {
				fmt.Fprintln(c.stdout, file)
			}
			if *diff {
				io.WriteString(c.stdout, unifiedDiff(file, src, out))
			}
			if *write && !*check {
				if err := writeFileKeepMode(file, out); err != nil {
					fmt.Fprintf(c.stderr, "topo fmt: %v\n", err)
					failed = true
				}
			}
		}
	}
	switch {
	case failed:
		return 1
	case *check && unformatted:
		return 3
	}
	return 0
}

// fmtTargets expands a fmt argument: a file as is, a directory to its
// *.hcl files.
func fmtTargets(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %w", p, err)
	}
	if !st.IsDir() {
		if strings.HasSuffix(strings.ToLower(p), ".json") {
			return nil, fmt.Errorf("%s: only native syntax is formatted, not JSON", p)
		}
		return []string{p}, nil
	}
	return filepath.Glob(filepath.Join(p, "*.hcl"))
}

// formatSource formats native syntax, refusing (with diagnostics on
// stderr) a file that does not parse.
func formatSource(c *cli, name string, src []byte, color bool) ([]byte, bool) {
	if len(src) > topology.MaxFileSize {
		fmt.Fprintf(c.stderr, "topo fmt: %s is larger than %d bytes; not formatting it\n", name, topology.MaxFileSize)
		return nil, false
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		files := map[string]*hcl.File{name: {Bytes: src}}
		if f != nil {
			files[name] = f
		}
		renderDiags(c.stderr, files, diags, color, diagWidth(c))
		fmt.Fprintf(c.stderr, "topo fmt: %s has syntax errors; it was not formatted\n", name)
		return nil, false
	}
	return hclwrite.Format(src), true
}

func writeFileKeepMode(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".topo-fmt-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

const versionHelp = `Usage: topo version

  Prints topo's version and the Go toolchain it was built with.

Options:
`

// runVersion implements `topo version`.
func runVersion(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "version", versionHelp)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(c.stderr, "topo version: takes no arguments")
		return 1
	}
	fmt.Fprintf(c.stdout, "topo %s\n%s %s/%s\n", version, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
	return 0
}
