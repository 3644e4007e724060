package topology

import (
	"fmt"
	"math/big"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
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
		{Type: "host", LabelNames: []string{"name"}},
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

	hosts     map[string]*Host
	hostOrder []*Host
	// hostCtx caches, by the connecting instance's host, the context
	// whose node object resolves references as seen from that host.
	hostCtx map[string]*hcl.EvalContext

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
	// dependsOnRange is where each depends_on entry is written.
	dependsOnRange map[*nodeDecl]hcl.Range
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
		hosts:      map[string]*Host{},
		hostCtx:    map[string]*hcl.EvalContext{},
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
	var hostBlocks hcl.Blocks
	for _, b := range e.content.Blocks {
		if b.Type == "host" {
			hostBlocks = append(hostBlocks, b)
		}
	}
	diags = append(diags, e.decodeHosts(hostBlocks)...)
	diags = append(diags, e.decodeNodes()...)
	t := &Topology{Hosts: e.hostOrder, Plugins: e.pluginOrder, Variables: e.varOrder}
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
