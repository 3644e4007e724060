package topology

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/topo-zmq/topo/internal/endpoint"
)

// Limits that keep a mistaken or hostile file from exhausting memory.
const (
	// MaxCount is the largest count a node may have.
	MaxCount = 10000
	// MaxInstances is the most replicas a whole topology may expand to.
	MaxInstances = 20000
	// MaxEdges is the most socket pairs a topology may wire.
	MaxEdges = 100000
)

var fileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "node", LabelNames: []string{"name"}},
		{Type: "plugin", LabelNames: []string{"name"}},
	},
}

var nodeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "count"}, {Name: "restart"},
		{Name: "isolation"}, {Name: "host"}, {Name: "depends_on"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "socket", LabelNames: []string{"name"}}},
}

var socketSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "bind"}, {Name: "connect"},
		{Name: "subscribe"}, {Name: "hwm"}, {Name: "identity"},
	},
}

var pluginSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "command"}, {Name: "source"}, {Name: "sha256"}, {Name: "env"}},
}

// evaluator holds the state of one Decode: what has been declared and
// evaluated so far. It lives for one call.
type evaluator struct {
	file  *File
	opts  Options
	funcs map[string]function.Function

	content *hcl.BodyContent

	vars     map[string]*Variable
	varOrder []*Variable

	localAttrs map[string]*hcl.Attribute
	localOrder []string
	locals     map[string]cty.Value

	plugins     map[string]*Plugin
	pluginOrder []*Plugin

	nodes      []*nodeDecl
	nodeByName map[string]*nodeDecl
	instances  int // replicas expanded so far
	// connects counts connect endpoints evaluated, against MaxEdges.
	connects       int
	connectsCapped bool
	// failed holds sockets whose endpoints had errors, to skip follow-on
	// warnings.
	failed map[*Socket]bool

	base *hcl.EvalContext
}

type nodeDecl struct {
	n            *Node
	block        *hcl.Block
	meta         hcl.Attributes
	kindAttrs    hcl.Attributes
	sockets      []*socketDecl
	socketByName map[string]*socketDecl
	schema       *KindSchema // nil: unknown kind, attributes and sockets unchecked
	counted      bool
	instances    []*Instance
	dependsOn    []*nodeDecl
}

type socketDecl struct {
	name      string
	block     *hcl.Block
	attrs     hcl.Attributes
	malformed bool // the block had unknown arguments (reported)
}

func newEvaluator(f *File, opts Options) *evaluator {
	return &evaluator{
		file:       f,
		opts:       opts,
		funcs:      functions(),
		vars:       map[string]*Variable{},
		localAttrs: map[string]*hcl.Attribute{},
		locals:     map[string]cty.Value{},
		plugins:    map[string]*Plugin{},
		nodeByName: map[string]*nodeDecl{},
		failed:     map[*Socket]bool{},
	}
}

// prelude decodes everything that does not depend on kinds: the file's
// top-level structure, variables, locals and plugins.
func (e *evaluator) prelude() hcl.Diagnostics {
	content, diags := e.file.body.Content(fileSchema)
	e.content = content
	var varBlocks, localBlocks, pluginBlocks hcl.Blocks
	for _, b := range content.Blocks {
		switch b.Type {
		case "variable":
			varBlocks = append(varBlocks, b)
		case "locals":
			localBlocks = append(localBlocks, b)
		case "plugin":
			pluginBlocks = append(pluginBlocks, b)
		}
	}
	diags = append(diags, e.decodeVariables(varBlocks)...)
	diags = append(diags, e.decodeLocals(localBlocks)...)
	e.base = &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": e.varObject(), "local": e.localObject()},
		Functions: e.funcs,
	}
	diags = append(diags, e.decodePlugins(pluginBlocks)...)
	return diags
}

// Plugins evaluates the file's plugin blocks (and the variables and locals
// they may use) without knowing any kinds, so a caller can start the
// plugins and learn their kinds before calling Decode.
func (f *File) Plugins(opts Options) ([]*Plugin, hcl.Diagnostics) {
	e := newEvaluator(f, opts)
	diags := e.prelude()
	return e.pluginOrder, dedupe(diags)
}

// Decode evaluates and validates a parsed file. It returns a Topology
// whenever the file's structure could be read, even with error
// diagnostics (for best-effort display); callers must not run a topology
// whose diagnostics have errors. Warnings are returned too. Diagnostics
// are sorted by source position.
func Decode(f *File, opts Options) (*Topology, hcl.Diagnostics) {
	e := newEvaluator(f, opts)
	diags := e.prelude()
	diags = append(diags, e.decodeNodes()...)
	t := &Topology{Plugins: e.pluginOrder, Variables: e.varOrder}
	for _, nd := range e.nodes {
		t.Nodes = append(t.Nodes, nd.n)
		t.Instances = append(t.Instances, nd.instances...)
	}
	if len(e.nodes) == 0 && !diags.HasErrors() {
		r := hcl.Range{Filename: f.Filename, Start: hcl.InitialPos, End: hcl.InitialPos}
		diags = append(diags, errorAt(r, "Empty topology",
			"The file declares no node blocks. A topology needs at least one: node \"NAME\" { type = \"KIND\" ... }."))
	}
	diags = append(diags, e.validate(t)...)
	diags = dedupe(diags)
	sortDiags(diags)
	return t, diags
}

func (e *evaluator) decodeLocals(blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range blocks {
		attrs, d := b.Body.JustAttributes()
		diags = append(diags, d...)
		ordered := make([]*hcl.Attribute, 0, len(attrs))
		for _, a := range attrs {
			ordered = append(ordered, a)
		}
		sort.Slice(ordered, func(i, j int) bool { return ordered[i].Range.Start.Byte < ordered[j].Range.Start.Byte })
		for _, a := range ordered {
			if prev, dup := e.localAttrs[a.Name]; dup {
				diags = append(diags, errorAt(a.NameRange, "Duplicate local value",
					fmt.Sprintf("A local value named %q was already defined at %s.", a.Name, prev.NameRange)))
				continue
			}
			e.localAttrs[a.Name] = a
			e.localOrder = append(e.localOrder, a.Name)
		}
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(name string)
	visit = func(name string) {
		switch state[name] {
		case done:
			return
		case visiting:
			i := len(stack) - 1
			for i > 0 && stack[i] != name {
				i--
			}
			cycle := append(append([]string(nil), stack[i:]...), name)
			for j := range cycle {
				cycle[j] = "local." + cycle[j]
			}
			a := e.localAttrs[stack[len(stack)-1]]
			diags = append(diags, errorAt(a.Expr.Range(), "Cycle in local values",
				fmt.Sprintf("These local values refer to each other in a loop: %s. Break the cycle.", strings.Join(cycle, " → "))))
			return
		}
		state[name] = visiting
		stack = append(stack, name)
		a := e.localAttrs[name]
		for _, t := range a.Expr.Variables() {
			if t.RootName() != "local" {
				continue
			}
			if dep, ok := attrStep(t, 1); ok {
				if _, declared := e.localAttrs[dep]; declared {
					visit(dep)
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
		d := e.checkRefs(a.Expr, scope{what: "A local value"})
		diags = append(diags, d...)
		if d.HasErrors() {
			e.locals[name] = cty.DynamicVal
			return
		}
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": e.varObject(), "local": e.localObject()},
			Functions: e.funcs,
		}
		v, d := a.Expr.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			v = cty.DynamicVal
		}
		e.locals[name] = v
	}
	for _, n := range e.localOrder {
		visit(n)
	}
	return diags
}

// localObject is the value of the "local" root; locals not evaluated (yet,
// or because of an error) are unknown, which silences follow-on errors.
func (e *evaluator) localObject() cty.Value {
	m := make(map[string]cty.Value, len(e.localAttrs))
	for n := range e.localAttrs {
		if v, ok := e.locals[n]; ok {
			m[n] = v
		} else {
			m[n] = cty.DynamicVal
		}
	}
	return cty.ObjectVal(m)
}

func (e *evaluator) localNames() []string { return e.localOrder }

func (e *evaluator) nodeNames() []string {
	names := make([]string, 0, len(e.nodes))
	for _, nd := range e.nodes {
		names = append(names, nd.n.Name)
	}
	return names
}

func (e *evaluator) decodePlugins(blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range blocks {
		name := b.Labels[0]
		if d := checkName("plugin", name, b.LabelRanges[0], ""); d != nil {
			diags = append(diags, d)
			continue
		}
		if prev, dup := e.plugins[name]; dup {
			diags = append(diags, errorAt(b.DefRange, "Duplicate plugin",
				fmt.Sprintf("A plugin named %q was already declared at %s.", name, prev.DeclRange)))
			continue
		}
		content, d := b.Body.Content(pluginSchema)
		diags = append(diags, d...)
		p := &Plugin{Name: name, DeclRange: b.DefRange}
		sc := scope{what: "A plugin attribute"}
		for attrName, dst := range map[string]*string{"command": &p.Command, "source": &p.Source, "sha256": &p.SHA256} {
			if a, ok := content.Attributes[attrName]; ok {
				s, _, d := e.evalString(a.Expr, sc, e.base)
				diags = append(diags, d...)
				*dst = s
			}
		}
		switch {
		case content.Attributes["command"] != nil && content.Attributes["source"] != nil:
			diags = append(diags, errorAt(b.DefRange, "Conflicting plugin location",
				fmt.Sprintf("Plugin %q sets both command and source; set exactly one: command (an executable) or source (a Go package to build).", name)))
		case content.Attributes["command"] == nil && content.Attributes["source"] == nil:
			diags = append(diags, errorAt(b.DefRange, "Missing plugin location",
				fmt.Sprintf("Plugin %q needs command = \"./path/to/executable\" or source = \"./path/to/go/package\".", name)))
		}
		if a := content.Attributes["sha256"]; a != nil && p.SHA256 != "" && !isHex64(p.SHA256) {
			diags = append(diags, errorAt(a.Expr.Range(), "Invalid sha256",
				"sha256 must be the 64 hexadecimal digits of the executable's SHA-256 (sha256sum prints it)."))
		}
		if a := content.Attributes["env"]; a != nil {
			var d hcl.Diagnostics
			p.Env, d = e.evalEnv(a.Expr, name)
			diags = append(diags, d...)
		}
		e.plugins[name] = p
		e.pluginOrder = append(e.pluginOrder, p)
	}
	return diags
}

// evalEnv evaluates a plugin's env: an object of variable names to string
// values (numbers and bools are converted).
func (e *evaluator) evalEnv(expr hcl.Expression, plugin string) (map[string]string, hcl.Diagnostics) {
	v, diags := e.eval(expr, scope{what: "A plugin attribute"}, e.base)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return nil, diags
	}
	v, _ = v.UnmarkDeep()
	bad := func(detail string) (map[string]string, hcl.Diagnostics) {
		return nil, append(diags, errorAt(expr.Range(), "Invalid plugin env", detail))
	}
	if v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return bad(fmt.Sprintf("env of plugin %q must be an object of environment variables, like env = { GOMAXPROCS = \"1\" }.", plugin))
	}
	env := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		name := k.AsString()
		if !validEnvName(name) {
			return bad(fmt.Sprintf("%q is not a valid environment variable name (letters, digits and underscores, not starting with a digit).", name))
		}
		sv, err := convert.Convert(ev, cty.String)
		if err != nil || sv.IsNull() {
			return bad(fmt.Sprintf("env.%s of plugin %q must be a string, number or bool.", name, plugin))
		}
		env[name] = sv.AsString()
	}
	return env, diags
}

func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// eval checks an expression's references against the scope and evaluates
// it. On error the value is cty.DynamicVal, which later steps skip quietly.
func (e *evaluator) eval(expr hcl.Expression, sc scope, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	diags := e.checkRefs(expr, sc)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	v, d := expr.Value(ctx)
	diags = append(diags, d...)
	if d.HasErrors() {
		return cty.DynamicVal, diags
	}
	return v, diags
}

// evalString evaluates a string-valued attribute; ok is false (with or
// without a diagnostic) when no usable string came out.
func (e *evaluator) evalString(expr hcl.Expression, sc scope, ctx *hcl.EvalContext) (string, bool, hcl.Diagnostics) {
	v, diags := e.eval(expr, sc, ctx)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return "", false, diags
	}
	v, _ = v.UnmarkDeep()
	s, err := convert.Convert(v, cty.String)
	if err != nil || s.IsNull() {
		return "", false, append(diags, errorAt(expr.Range(), "Incorrect value type",
			fmt.Sprintf("%s must be a string.", sc.what)))
	}
	return s.AsString(), true, diags
}

// evalInt evaluates a whole-number attribute within [lo, hi].
func (e *evaluator) evalInt(expr hcl.Expression, sc scope, ctx *hcl.EvalContext, lo, hi int64) (int, bool, hcl.Diagnostics) {
	v, diags := e.eval(expr, sc, ctx)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return 0, false, diags
	}
	v, _ = v.UnmarkDeep()
	n, err := convert.Convert(v, cty.Number)
	bad := func() (int, bool, hcl.Diagnostics) {
		return 0, false, append(diags, errorAt(expr.Range(), "Invalid number",
			fmt.Sprintf("%s must be a whole number from %d to %d.", sc.what, lo, hi)))
	}
	if err != nil || n.IsNull() {
		return bad()
	}
	bf := n.AsBigFloat()
	if !bf.IsInt() {
		return bad()
	}
	i, acc := bf.Int64()
	if acc != big.Exact || i < lo || i > hi {
		return bad()
	}
	return int(i), true, diags
}

// decodeNodes reads every node block: structure first (names, sockets),
// then meta-arguments, bind endpoints, and finally connects and kind
// attributes, which may refer to other nodes' bind endpoints.
func (e *evaluator) decodeNodes() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range e.content.Blocks {
		if b.Type != "node" {
			continue
		}
		diags = append(diags, e.declareNode(b)...)
	}
	for _, nd := range e.nodes {
		diags = append(diags, e.decodeMeta(nd)...)
	}
	diags = append(diags, e.checkDependsOnCycles()...)
	for _, nd := range e.nodes {
		diags = append(diags, e.decodeBinds(nd)...)
	}
	nodeCtx := e.base.NewChild()
	nodeCtx.Variables = map[string]cty.Value{"node": e.nodeObject()}
	for _, nd := range e.nodes {
		diags = append(diags, e.decodeConnectsAndAttrs(nd, nodeCtx)...)
	}
	return diags
}

func (e *evaluator) declareNode(b *hcl.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	name := b.Labels[0]
	if d := checkName("node", name, b.LabelRanges[0], ", so that node.NAME.SOCKET can refer to it"); d != nil {
		return append(diags, d)
	}
	if prev, dup := e.nodeByName[name]; dup {
		return append(diags, errorAt(b.LabelRanges[0], "Duplicate node",
			fmt.Sprintf("A node named %q was already declared at %s. Node names must be unique; use count for replicas.", name, prev.block.DefRange)))
	}
	content, rest, d := b.Body.PartialContent(nodeSchema)
	diags = append(diags, d...)
	nd := &nodeDecl{
		n:            &Node{Name: name, Count: -1, DeclRange: b.DefRange, TypeRange: b.DefRange},
		block:        b,
		meta:         content.Attributes,
		socketByName: map[string]*socketDecl{},
	}
	_, nd.counted = content.Attributes["count"]
	for _, sb := range content.Blocks {
		sname := sb.Labels[0]
		if d := checkName("socket", sname, sb.LabelRanges[0], ""); d != nil {
			diags = append(diags, d)
			continue
		}
		if prev, dup := nd.socketByName[sname]; dup {
			diags = append(diags, errorAt(sb.LabelRanges[0], "Duplicate socket",
				fmt.Sprintf("Node %q already has a socket named %q at %s.", name, sname, prev.block.DefRange)))
			continue
		}
		sc, d := sb.Body.Content(socketSchema)
		diags = append(diags, d...)
		sd := &socketDecl{name: sname, block: sb, attrs: sc.Attributes, malformed: d.HasErrors()}
		nd.sockets = append(nd.sockets, sd)
		nd.socketByName[sname] = sd
	}
	attrs, d := kindAttributes(b.Body, rest)
	diags = append(diags, d...)
	nd.kindAttrs = attrs
	nd.n.AttrRanges = make(map[string]hcl.Range, len(attrs))
	for name, a := range attrs {
		nd.n.AttrRanges[name] = a.Expr.Range()
	}
	e.nodes = append(e.nodes, nd)
	e.nodeByName[name] = nd
	return diags
}

func (e *evaluator) decodeMeta(nd *nodeDecl) hcl.Diagnostics {
	var diags hcl.Diagnostics
	n := nd.n
	meta := nd.meta
	sc := func(what string) scope { return scope{what: what} }

	typeAttr, ok := meta["type"]
	if !ok {
		diags = append(diags, errorAt(nd.block.DefRange, "Missing node type",
			fmt.Sprintf("Node %q has no type. Add type = \"KIND\"; known kinds: %s.", n.Name, listOrNone(e.kinds()))))
	} else {
		n.TypeRange = typeAttr.Expr.Range()
		kind, ok, d := e.evalString(typeAttr.Expr, sc("The node type"), e.base)
		diags = append(diags, d...)
		if ok {
			n.Kind = kind
			diags = append(diags, e.resolveKind(nd, typeAttr.Expr.Range())...)
		}
	}

	if a, ok := meta["count"]; ok {
		c, ok, d := e.evalInt(a.Expr, sc("count"), e.base, 0, MaxCount)
		diags = append(diags, d...)
		if ok {
			n.Count = c
		} else {
			n.Count = 1 // keep checking the block as if it had one replica
		}
	}

	n.Restart = "on-failure"
	if a, ok := meta["restart"]; ok {
		s, ok, d := e.evalString(a.Expr, sc("restart"), e.base)
		diags = append(diags, d...)
		if ok {
			diags = append(diags, oneOf(s, a.Expr.Range(), "restart", []string{"never", "on-failure", "always"})...)
			n.Restart = s
		}
	}

	plugin := strings.Contains(n.Kind, ".")
	n.Isolation = "goroutine"
	if plugin {
		n.Isolation = "process"
	}
	if a, ok := meta["isolation"]; ok {
		s, ok, d := e.evalString(a.Expr, sc("isolation"), e.base)
		diags = append(diags, d...)
		if ok {
			d := oneOf(s, a.Expr.Range(), "isolation", []string{"goroutine", "process"})
			diags = append(diags, d...)
			if !d.HasErrors() && plugin && s == "goroutine" {
				diags = append(diags, errorAt(a.Expr.Range(), "Plugin kinds run in a process",
					fmt.Sprintf("Kind %q comes from plugin %q, which always runs in its own process. Remove isolation or set it to \"process\".", n.Kind, strings.SplitN(n.Kind, ".", 2)[0])))
			} else {
				n.Isolation = s
			}
		}
	}

	if a, ok := meta["host"]; ok {
		s, _, d := e.evalString(a.Expr, sc("host"), e.base)
		diags = append(diags, d...)
		n.Host = s
	}

	if a, ok := meta["depends_on"]; ok {
		diags = append(diags, e.decodeDependsOn(nd, a)...)
	}
	return diags
}

func oneOf(s string, r hcl.Range, what string, allowed []string) hcl.Diagnostics {
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	return hcl.Diagnostics{errorAt(r, "Invalid "+what,
		fmt.Sprintf("%s must be one of %s, not %q.%s", what, strings.Join(quoted, ", "), s, didYouMean(s, allowed)))}
}

func (e *evaluator) kinds() []string {
	if e.opts.Schemas == nil {
		return nil
	}
	return e.opts.Schemas.Kinds()
}

// resolveKind finds the node's kind schema, or explains why there is none.
func (e *evaluator) resolveKind(nd *nodeDecl, r hcl.Range) hcl.Diagnostics {
	kind := nd.n.Kind
	if e.opts.Schemas != nil {
		if ks, ok := e.opts.Schemas.Schema(kind); ok && ks != nil {
			nd.schema = ks
			return nil
		}
	}
	if prefix, _, isPlugin := strings.Cut(kind, "."); isPlugin {
		if _, declared := e.plugins[prefix]; !declared {
			pluginNames := make([]string, 0, len(e.pluginOrder))
			for _, p := range e.pluginOrder {
				pluginNames = append(pluginNames, p.Name)
			}
			return hcl.Diagnostics{errorAt(r, "Undeclared plugin",
				fmt.Sprintf("Kind %q names plugin %q, which has no plugin block.%s Declare it: plugin %q { command = \"./path/to/executable\" }.",
					kind, prefix, didYouMean(prefix, pluginNames), prefix))}
		}
		var fromPlugin []string
		for _, k := range e.kinds() {
			if strings.HasPrefix(k, prefix+".") {
				fromPlugin = append(fromPlugin, k)
			}
		}
		if len(fromPlugin) == 0 {
			return hcl.Diagnostics{warnAt(r, "Plugin kind not checked",
				fmt.Sprintf("The kinds of plugin %q are not known to validation (the plugin was not loaded), so the attributes and sockets of node %q are not checked.", prefix, nd.n.Name))}
		}
		return hcl.Diagnostics{errorAt(r, "Unknown node kind",
			fmt.Sprintf("Plugin %q has no kind %q; it provides: %s.%s", prefix, kind, strings.Join(fromPlugin, ", "), didYouMean(kind, fromPlugin)))}
	}
	known := e.kinds()
	detail := fmt.Sprintf("There is no kind named %q.", kind)
	if len(known) == 0 {
		detail += " No kinds are known to this validation."
	} else {
		detail += didYouMean(kind, known) + " Run `topo nodes` to list every kind."
	}
	return hcl.Diagnostics{errorAt(r, "Unknown node kind", detail)}
}

func (e *evaluator) decodeDependsOn(nd *nodeDecl, a *hcl.Attribute) hcl.Diagnostics {
	var diags hcl.Diagnostics
	exprs, d := hcl.ExprList(a.Expr)
	if d.HasErrors() {
		return append(diags, errorAt(a.Expr.Range(), "Invalid depends_on",
			"depends_on must be a list of nodes: depends_on = [node.sink] or [\"sink\"]."))
	}
	for _, x := range exprs {
		var name string
		if t, d := hcl.AbsTraversalForExpr(x); !d.HasErrors() && len(t) > 0 {
			if t.RootName() == "node" {
				n, ok := attrStep(t, 1)
				if !ok || len(t) > 2 {
					diags = append(diags, errorAt(x.Range(), "Invalid depends_on",
						"depends_on names whole nodes: node.NAME, not a socket or replica."))
					continue
				}
				name = n
			} else if len(t) == 1 {
				name = t.RootName()
			}
		}
		if name == "" {
			s, ok, d := e.evalString(x, scope{what: "A depends_on entry"}, e.base)
			diags = append(diags, d...)
			if !ok {
				continue
			}
			name = strings.TrimPrefix(s, "node.")
		}
		dep, ok := e.nodeByName[name]
		if !ok {
			diags = append(diags, errorAt(x.Range(), "Reference to undeclared node",
				fmt.Sprintf("depends_on names %q, but there is no node with that name.%s", name, didYouMean(name, e.nodeNames()))))
			continue
		}
		if dep == nd {
			diags = append(diags, errorAt(x.Range(), "Node depends on itself",
				fmt.Sprintf("Node %q lists itself in depends_on; remove it.", name)))
			continue
		}
		nd.dependsOn = append(nd.dependsOn, dep)
		nd.n.DependsOn = append(nd.n.DependsOn, name)
	}
	return diags
}

// checkDependsOnCycles reports a loop in depends_on and breaks it, so the
// start order can still be computed.
func (e *evaluator) checkDependsOnCycles() hcl.Diagnostics {
	var diags hcl.Diagnostics
	state := map[*nodeDecl]int{}
	var stack []*nodeDecl
	var visit func(nd *nodeDecl)
	visit = func(nd *nodeDecl) {
		state[nd] = 1
		stack = append(stack, nd)
		kept := nd.dependsOn[:0]
		for _, dep := range nd.dependsOn {
			switch state[dep] {
			case 1:
				i := len(stack) - 1
				for stack[i] != dep {
					i--
				}
				var names []string
				for _, s := range stack[i:] {
					names = append(names, s.n.Name)
				}
				names = append(names, dep.n.Name)
				diags = append(diags, errorAt(nd.meta["depends_on"].Expr.Range(), "Cycle in depends_on",
					fmt.Sprintf("Nodes wait for each other in a loop: %s. Remove one of these depends_on entries.", strings.Join(names, " → "))))
				continue // drop the edge that closes the loop
			case 0:
				visit(dep)
			}
			kept = append(kept, dep)
		}
		nd.dependsOn = kept
		stack = stack[:len(stack)-1]
		state[nd] = 2
	}
	for _, nd := range e.nodes {
		if state[nd] == 0 {
			visit(nd)
		}
	}
	return diags
}

// instanceCtx adds count.index for a counted node.
func (e *evaluator) instanceCtx(parent *hcl.EvalContext, nd *nodeDecl, i int) *hcl.EvalContext {
	if !nd.counted {
		return parent
	}
	ctx := parent.NewChild()
	ctx.Variables = map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))})}
	return ctx
}

// decodeBinds expands the node's replicas and evaluates everything of its
// sockets that cannot refer to other nodes: type, bind, subscribe, hwm,
// identity.
func (e *evaluator) decodeBinds(nd *nodeDecl) hcl.Diagnostics {
	var diags hcl.Diagnostics
	n := nd.n
	replicas := 1
	if nd.counted {
		replicas = n.Count
	}
	if e.instances+replicas > MaxInstances {
		r := nd.block.DefRange
		if a := nd.meta["count"]; a != nil {
			r = a.Expr.Range()
		}
		diags = append(diags, errorAt(r, "Too many instances",
			fmt.Sprintf("With node %q the topology expands to more than %d instances. Lower its count.", n.Name, MaxInstances)))
		replicas = max(0, MaxInstances-e.instances)
	}
	e.instances += replicas
	for i := 0; i < replicas; i++ {
		inst := &Instance{Name: n.Name, Node: n, Index: i, DeclRange: n.DeclRange, Attrs: cty.EmptyObjectVal}
		if nd.counted {
			inst.Name = fmt.Sprintf("%s[%d]", n.Name, i)
		}
		ctx := e.instanceCtx(e.base, nd, i)
		for _, sd := range nd.sockets {
			s := &Socket{Name: sd.name, DeclRange: sd.block.DefRange}
			diags = append(diags, e.decodeSocket(nd, sd, s, ctx)...)
			inst.Sockets = append(inst.Sockets, s)
		}
		nd.instances = append(nd.instances, inst)
	}
	return diags
}

func (e *evaluator) decodeSocket(nd *nodeDecl, sd *socketDecl, s *Socket, ctx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	at := func(what string) scope { return scope{what: what, count: nd.counted} }
	if a, ok := sd.attrs["type"]; ok {
		t, ok, d := e.evalString(a.Expr, at("The socket type"), ctx)
		diags = append(diags, d...)
		if ok {
			up := strings.ToUpper(t)
			if d := oneOf(up, a.Expr.Range(), "socket type", socketTypes()); d.HasErrors() {
				diags = append(diags, d...)
			} else {
				s.Type = up
			}
		}
	} else {
		diags = append(diags, errorAt(sd.block.DefRange, "Missing socket type",
			fmt.Sprintf("Socket %q of node %q needs a type: one of %s.", sd.name, nd.n.Name, strings.Join(socketTypes(), ", "))))
	}
	if a, ok := sd.attrs["bind"]; ok {
		eps, d := e.evalEndpoints(a.Expr, at("A bind endpoint"), ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			e.failed[s] = true
		}
		for _, ep := range eps {
			if _, err := endpoint.Parse(ep.url, true); err != nil {
				e.failed[s] = true
				diags = append(diags, errorAt(ep.rng, "Invalid bind endpoint", err.Error()+"."))
				continue
			}
			s.Bind = append(s.Bind, Endpoint{URL: ep.url, Range: ep.rng})
		}
	}
	if a, ok := sd.attrs["subscribe"]; ok {
		v, d := e.eval(a.Expr, at("subscribe"), ctx)
		diags = append(diags, d...)
		var subs []endpointVal
		if !d.HasErrors() {
			if err := flattenStrings(v, a.Expr.Range(), nil, &subs); err != nil {
				diags = append(diags, errorAt(a.Expr.Range(), "Invalid subscribe",
					"subscribe must be a string or a list of string prefixes, like [\"10001 \"] ([\"\"] receives everything)."))
			}
		}
		s.Subscribe = []string{}
		for _, sub := range subs {
			s.Subscribe = append(s.Subscribe, sub.url)
		}
	}
	if a, ok := sd.attrs["hwm"]; ok {
		h, _, d := e.evalInt(a.Expr, at("hwm"), ctx, 0, 1<<31-1)
		diags = append(diags, d...)
		s.HWM = h
	}
	if a, ok := sd.attrs["identity"]; ok {
		id, ok, d := e.evalString(a.Expr, at("identity"), ctx)
		diags = append(diags, d...)
		if ok && (len(id) == 0 || len(id) > 255 || id[0] == 0) {
			diags = append(diags, errorAt(a.Expr.Range(), "Invalid identity",
				"A socket identity is 1 to 255 bytes and must not start with a zero byte."))
		} else {
			s.Identity = id
		}
	}
	return diags
}

// evalEndpoints evaluates a bind or connect expression: a string, or a
// list whose elements are strings or lists of strings. Each endpoint keeps
// the range of the list element it came from.
func (e *evaluator) evalEndpoints(expr hcl.Expression, sc scope, ctx *hcl.EvalContext) ([]endpointVal, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	exprs := []hcl.Expression{expr}
	if list, d := hcl.ExprList(expr); !d.HasErrors() {
		exprs = list // a list literal (native or JSON): one range per element
	}
	var out []endpointVal
	for _, x := range exprs {
		v, d := e.eval(x, sc, ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if err := flattenStrings(v, x.Range(), nil, &out); err != nil {
			diags = append(diags, errorAt(x.Range(), "Invalid endpoint", sc.what+": "+err.Error()+"."))
		}
	}
	return out, diags
}

// nodeObject builds the value of the "node" root: for each node an object
// of socket name to the list of connectable bind endpoints, each string
// marked with the socket it came from. A counted node's object also holds
// each replica under its index ("0", "1", ...), so node.worker.out is every
// replica's endpoints and node.worker[1].out one replica's.
func (e *evaluator) nodeObject() cty.Value {
	nodes := make(map[string]cty.Value, len(e.nodes))
	for _, nd := range e.nodes {
		all := map[string][]cty.Value{}
		obj := map[string]cty.Value{}
		for _, inst := range nd.instances {
			one := map[string]cty.Value{}
			for _, s := range inst.Sockets {
				var vals []cty.Value
				for _, b := range s.Bind {
					ep, err := endpoint.Parse(b.URL, true)
					if err != nil {
						continue
					}
					vals = append(vals, cty.StringVal(ep.Connectable().String()).Mark(refMark{instance: inst.Name, socket: s.Name}))
				}
				one[s.Name] = listOf(vals)
				all[s.Name] = append(all[s.Name], vals...)
			}
			if nd.counted {
				obj[fmt.Sprint(inst.Index)] = cty.ObjectVal(one)
			}
		}
		for _, sd := range nd.sockets {
			obj[sd.name] = listOf(all[sd.name])
		}
		nodes[nd.n.Name] = cty.ObjectVal(obj)
	}
	return cty.ObjectVal(nodes)
}

func listOf(vals []cty.Value) cty.Value {
	if len(vals) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	return cty.ListVal(vals)
}

// decodeConnectsAndAttrs evaluates what may refer to other nodes: connect
// endpoints and the kind's attributes.
func (e *evaluator) decodeConnectsAndAttrs(nd *nodeDecl, nodeCtx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var problems []InstanceProblem
	for _, inst := range nd.instances {
		ctx := e.instanceCtx(nodeCtx, nd, inst.Index)
		for _, sd := range nd.sockets {
			a, ok := sd.attrs["connect"]
			if !ok {
				continue
			}
			s := inst.Socket(sd.name)
			if e.connects > MaxEdges {
				e.failed[s] = true
				if !e.connectsCapped {
					e.connectsCapped = true
					diags = append(diags, errorAt(a.Expr.Range(), "Too many edges",
						fmt.Sprintf("The topology connects more than %d endpoints (counted nodes connecting to counted nodes multiply). Reduce count or put a proxy node between the groups.", MaxEdges)))
				}
				continue
			}
			eps, d := e.evalEndpoints(a.Expr, scope{what: "A connect endpoint", count: nd.counted, nodes: true}, ctx)
			e.connects += len(eps)
			diags = append(diags, d...)
			if d.HasErrors() {
				e.failed[s] = true
			}
			used := map[refMark]bool{}
			for _, ep := range eps {
				ref := e.pickRef(ep, used)
				if ref == nil {
					if _, err := endpoint.Parse(ep.url, false); err != nil {
						e.failed[s] = true
						diags = append(diags, errorAt(ep.rng, "Invalid connect endpoint", err.Error()+"."))
						continue
					}
				}
				s.Connect = append(s.Connect, Endpoint{URL: ep.url, Ref: ref, Range: ep.rng})
			}
		}
		d := e.decodeKindAttrs(nd, inst, ctx)
		diags = append(diags, d...)
		if ks := nd.schema; ks != nil && ks.Check != nil && !d.HasErrors() && inst.Attrs.IsWhollyKnown() {
			for _, p := range ks.Check(inst) {
				problems = append(problems, InstanceProblem{Instance: inst, AttrProblem: p})
			}
		}
	}
	return append(diags, CheckDiagnostics(problems)...)
}

// pickRef chooses the bound socket a connect endpoint came from. One mark
// is unambiguous; several (after a function merged lists) are narrowed by
// URL, and equal URLs (ephemeral ports) are handed out in order.
func (e *evaluator) pickRef(ep endpointVal, used map[refMark]bool) *SocketRef {
	var cands []refMark
	for _, m := range ep.refs {
		if len(ep.refs) == 1 || e.bindsConnectable(m, ep.url) {
			cands = append(cands, m)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	pick := cands[0]
	for _, c := range cands {
		if !used[c] {
			pick = c
			break
		}
	}
	used[pick] = true
	return &SocketRef{Instance: pick.instance, Socket: pick.socket}
}

func (e *evaluator) bindsConnectable(m refMark, url string) bool {
	name := m.instance
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	nd, ok := e.nodeByName[name]
	if !ok {
		return false
	}
	for _, inst := range nd.instances {
		if inst.Name != m.instance {
			continue
		}
		if s := inst.Socket(m.socket); s != nil {
			for _, b := range s.Bind {
				if ep, err := endpoint.Parse(b.URL, true); err == nil && ep.Connectable().String() == url {
					return true
				}
			}
		}
	}
	return false
}

func (e *evaluator) decodeKindAttrs(nd *nodeDecl, inst *Instance, ctx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	sc := scope{what: "A node attribute", count: nd.counted, nodes: true}
	names := make([]string, 0, len(nd.kindAttrs))
	for n := range nd.kindAttrs {
		names = append(names, n)
	}
	sort.Strings(names)
	obj := map[string]cty.Value{}
	if nd.schema == nil {
		for _, n := range names {
			v, d := e.eval(nd.kindAttrs[n].Expr, sc, ctx)
			diags = append(diags, d...)
			v, _ = v.UnmarkDeep()
			obj[n] = v
		}
		inst.Attrs = cty.ObjectVal(obj)
		return diags
	}
	ks := nd.schema
	byName := map[string]*AttrSchema{}
	attrNames := make([]string, 0, len(ks.Attrs))
	for i := range ks.Attrs {
		byName[ks.Attrs[i].Name] = &ks.Attrs[i]
		attrNames = append(attrNames, ks.Attrs[i].Name)
	}
	for _, n := range names {
		a := nd.kindAttrs[n]
		as, ok := byName[n]
		if !ok {
			detail := fmt.Sprintf("Kind %q has no attribute %q.%s", ks.Name, n, didYouMean(n, append(attrNames, "type", "count", "restart", "isolation", "host", "depends_on")))
			if len(attrNames) == 0 {
				detail += fmt.Sprintf(" Kind %q takes no attributes.", ks.Name)
			} else {
				detail += " Its attributes: " + strings.Join(attrNames, ", ") + "."
			}
			diags = append(diags, errorAt(a.NameRange, "Unsupported argument", detail))
			continue
		}
		v, d := e.eval(a.Expr, sc, ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		v, _ = v.UnmarkDeep()
		cv, err := convert.Convert(v, as.Type)
		if err != nil {
			diags = append(diags, errorAt(a.Expr.Range(), "Incorrect attribute value type",
				fmt.Sprintf("Attribute %q of kind %q must be %s: %s.", n, ks.Name, typeName(as.Type), err)))
			continue
		}
		if cv.IsNull() && as.Required {
			diags = append(diags, errorAt(a.Expr.Range(), "Required attribute is null",
				fmt.Sprintf("Attribute %q of kind %q is required and cannot be null.", n, ks.Name)))
			continue
		}
		obj[n] = cv
	}
	for _, as := range ks.Attrs {
		if _, set := obj[as.Name]; set {
			continue
		}
		if _, written := nd.kindAttrs[as.Name]; written {
			obj[as.Name] = cty.UnknownVal(as.Type) // its error was reported
			continue
		}
		if as.Required {
			diags = append(diags, errorAt(nd.block.DefRange, "Missing required argument",
				fmt.Sprintf("Kind %q requires attribute %q (%s)%s. Add %s = ... to node %q.", ks.Name, as.Name, typeName(as.Type), docSuffix(as.Doc), as.Name, nd.n.Name)))
			obj[as.Name] = cty.NullVal(as.Type)
			continue
		}
		def := as.Default
		if def == cty.NilVal {
			def = cty.NullVal(as.Type)
		} else if cv, err := convert.Convert(def, as.Type); err == nil {
			def = cv
		}
		obj[as.Name] = def
	}
	inst.Attrs = cty.ObjectVal(obj)
	return diags
}

func docSuffix(doc string) string {
	if doc == "" {
		return ""
	}
	return ": " + strings.TrimSuffix(doc, ".")
}

func typeName(t cty.Type) string {
	switch t {
	case cty.String:
		return "a string"
	case cty.Number:
		return "a number"
	case cty.Bool:
		return "a bool"
	case cty.DynamicPseudoType:
		return "any value"
	}
	return t.FriendlyName()
}

// kindAttributes returns the attributes of a node body that are not
// meta-arguments: the kind's, decoded later against its schema. Native
// syntax bodies refuse JustAttributes when they hold blocks (even the
// socket blocks PartialContent consumed), so those are read directly.
func kindAttributes(body, rest hcl.Body) (hcl.Attributes, hcl.Diagnostics) {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return rest.JustAttributes()
	}
	var diags hcl.Diagnostics
	attrs := hcl.Attributes{}
	for name, a := range sb.Attributes {
		if nodeSchemaHas(name) {
			continue
		}
		attrs[name] = a.AsHCLAttribute()
	}
	for _, blk := range sb.Blocks {
		if blk.Type == "socket" {
			continue
		}
		diags = append(diags, errorAt(blk.TypeRange, fmt.Sprintf("Unexpected %q block", blk.Type),
			fmt.Sprintf("A node body holds attributes and socket blocks only.%s", didYouMean(blk.Type, []string{"socket"}))))
	}
	return attrs, diags
}

func nodeSchemaHas(name string) bool {
	for _, a := range nodeSchema.Attributes {
		if a.Name == name {
			return true
		}
	}
	return false
}
