package topology

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

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
