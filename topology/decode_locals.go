package topology

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

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
