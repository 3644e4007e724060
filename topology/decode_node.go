package topology

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

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
	for _, nd := range e.nodes {
		diags = append(diags, e.decodeConnectsAndAttrs(nd)...)
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
		if nd.dependsOnRange == nil {
			nd.dependsOnRange = map[*nodeDecl]hcl.Range{}
		}
		nd.dependsOnRange[dep] = x.Range()
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
