package topology

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// scope says which roots an expression may refer to.
type scope struct {
	what  string // "A bind endpoint", for messages
	count bool   // count.index is available
	nodes bool   // node.NAME.SOCKET is available
}

// checkRefs validates every reference in expr before it is evaluated, so
// mistakes get a precise message (undeclared variable, missing node or
// socket, a node reference where endpoints are not known yet) instead of
// hcl's generic "Unsupported attribute".
func (e *evaluator) checkRefs(expr hcl.Expression, sc scope) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, t := range expr.Variables() {
		if len(t) == 0 {
			continue
		}
		r := t.SourceRange()
		root := t.RootName()
		switch root {
		case "var", "local":
			if d := e.checkNamedRef(t); d != nil {
				diags = append(diags, d)
			}
		case "count":
			if !sc.count {
				diags = append(diags, errorAt(r, "Reference to count.index outside a counted node",
					fmt.Sprintf("%s cannot use count.index here: it is only available inside a node block that sets count.", sc.what)))
				continue
			}
			if name, ok := attrStep(t, 1); !ok || name != "index" {
				diags = append(diags, errorAt(r, "Invalid reference", "The only attribute of count is count.index."))
			}
		case "node":
			diags = append(diags, e.checkNodeRef(t, sc)...)
		default:
			diags = append(diags, errorAt(r, "Unknown variable",
				fmt.Sprintf("There is no variable named %q. References start with var., local., node. or count.%s", root,
					didYouMean(root, []string{"var", "local", "node", "count"}))))
		}
	}
	return diags
}

// checkNamedRef checks a var.NAME or local.NAME reference.
func (e *evaluator) checkNamedRef(t hcl.Traversal) *hcl.Diagnostic {
	name, ok := attrStep(t, 1)
	var what, form, summary, declare string
	var known bool
	var names func() []string
	if t.RootName() == "local" {
		what, form, summary = "local value", "A local value reference is local.NAME.", "Reference to undeclared local value"
		_, known = e.localAttrs[name]
		names, declare = e.localNames, "in a locals {} block"
	} else {
		what, form, summary = "variable", "A variable reference is var.NAME.", "Reference to undeclared input variable"
		_, known = e.vars[name]
		names, declare = e.varNames, fmt.Sprintf("with a variable %q {} block", name)
	}
	switch {
	case !ok:
		return errorAt(t.SourceRange(), "Invalid reference", form)
	case known:
		return nil
	}
	return errorAt(t.SourceRange(), summary,
		fmt.Sprintf("There is no %s named %q.%s Declare it %s.", what, name, didYouMean(name, names()), declare))
}

func (e *evaluator) checkNodeRef(t hcl.Traversal, sc scope) hcl.Diagnostics {
	r := t.SourceRange()
	if !sc.nodes {
		return hcl.Diagnostics{errorAt(r, "Node reference not allowed here",
			fmt.Sprintf("%s cannot refer to nodes: it is evaluated before the nodes' endpoints are known. Use a literal, a variable or a local.", sc.what))}
	}
	name, ok := attrStep(t, 1)
	if !ok {
		return hcl.Diagnostics{errorAt(r, "Invalid reference", "A node reference is node.NAME.SOCKET.")}
	}
	nd, ok := e.nodeByName[name]
	if !ok {
		return hcl.Diagnostics{errorAt(r, "Reference to undeclared node",
			fmt.Sprintf("There is no node named %q.%s", name, didYouMean(name, e.nodeNames())))}
	}
	step := 2
	if len(t) > step {
		if _, isIndex := t[step].(hcl.TraverseIndex); isIndex {
			if !nd.counted {
				return hcl.Diagnostics{errorAt(r, "Index on a node without count",
					fmt.Sprintf("Node %q has no count, so it has no replicas to index: write node.%s.SOCKET.", name, name))}
			}
			step++
		}
	}
	sock, ok := attrStep(t, step)
	if !ok {
		if len(t) == step {
			return nil // node.NAME alone: a whole node (depends_on style); the consumer checks the type
		}
		return hcl.Diagnostics{errorAt(r, "Invalid reference", "A node reference is node.NAME.SOCKET.")}
	}
	sd, ok := nd.socketByName[sock]
	if !ok {
		names := make([]string, 0, len(nd.sockets))
		for _, s := range nd.sockets {
			names = append(names, s.name)
		}
		return hcl.Diagnostics{errorAt(r, "Reference to undeclared socket",
			fmt.Sprintf("Node %q has no socket named %q (its sockets: %s).%s", name, sock, listOrNone(names), didYouMean(sock, names)))}
	}
	if _, binds := sd.attrs["bind"]; !binds {
		return hcl.Diagnostics{errorAt(r, "Reference to a socket that binds nothing",
			fmt.Sprintf("node.%s.%s is the list of that socket's bind endpoints, but socket %q of node %q only connects. Bind it (bind = [\"tcp://127.0.0.1:0\"]) or connect the other way round.", name, sock, sock, name))}
	}
	return nil
}

// attrStep returns the attribute name at step i of a traversal.
func attrStep(t hcl.Traversal, i int) (string, bool) {
	if i >= len(t) {
		return "", false
	}
	a, ok := t[i].(hcl.TraverseAttr)
	if !ok {
		return "", false
	}
	return a.Name, true
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// refMark marks an endpoint string value with the bound socket it came
// from, so a connect expression's result can be traced back to edges even
// through functions and ephemeral ports.
type refMark struct {
	instance, socket string
}

// endpointVal is one string produced by a bind or connect expression.
type endpointVal struct {
	url   string
	refs  []refMark
	rng   hcl.Range
	known bool
}

// flattenStrings collects the strings of a string, or a list, tuple or set
// of them (nested one or more levels, as in connect = [node.a.out]),
// together with the reference marks they carry.
func flattenStrings(v cty.Value, rng hcl.Range, inherited []refMark, out *[]endpointVal) error {
	v, marks := v.Unmark()
	refs := inherited
	for m := range marks {
		if rm, ok := m.(refMark); ok {
			refs = append(refs[:len(refs):len(refs)], rm)
		}
	}
	if !v.IsKnown() {
		return nil // an earlier error made it unknown
	}
	if v.IsNull() {
		return fmt.Errorf("a null value is not an endpoint")
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		*out = append(*out, endpointVal{url: v.AsString(), refs: refs, rng: rng, known: true})
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		for it := v.ElementIterator(); it.Next(); {
			_, el := it.Element()
			if err := flattenStrings(el, rng, refs, out); err != nil {
				return err
			}
		}
	case ty == cty.Number || ty == cty.Bool:
		return fmt.Errorf("a %s is not an endpoint; endpoints are strings like \"tcp://127.0.0.1:5555\"", ty.FriendlyName())
	default:
		return fmt.Errorf("%s is not an endpoint; write a string or a list of strings (node.NAME.SOCKET is already a list)", ty.FriendlyName())
	}
	return nil
}
