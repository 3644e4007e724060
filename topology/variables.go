package topology

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "description"},
	},
}

// envPrefix is the prefix of environment variables that set variables.
const envPrefix = "TOPO_VAR_"

// decodeVariables reads the variable blocks and computes each variable's
// final value from its default, the environment and the -var/-var-file
// flags, in Terraform's precedence.
func (e *evaluator) decodeVariables(blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for nb := range openBlocks(blocks, "variable", " Variable names must be unique.", variableSchema, &diags) {
		name, b, content := nb.name, nb.block, nb.content
		v := &Variable{Name: name, Type: cty.DynamicPseudoType, DeclRange: b.DefRange}
		if attr, ok := content.Attributes["type"]; ok {
			ty, d := typeexpr.TypeConstraint(attr.Expr)
			diags = append(diags, d...)
			if !d.HasErrors() {
				v.Type = ty
			}
		}
		if attr, ok := content.Attributes["description"]; ok {
			val, d := attr.Expr.Value(nil)
			diags = append(diags, d...)
			if !d.HasErrors() {
				if s, err := convert.Convert(val, cty.String); err != nil || s.IsNull() || !s.IsKnown() {
					diags = append(diags, errorAt(attr.Expr.Range(), "Invalid description", "A variable's description must be a string."))
				} else {
					v.Description = s.AsString()
				}
			}
		}
		if attr, ok := content.Attributes["default"]; ok {
			val, d := attr.Expr.Value(nil)
			diags = append(diags, d...)
			if !d.HasErrors() {
				cv, err := convert.Convert(val, v.Type)
				if err != nil {
					diags = append(diags, errorAt(attr.Expr.Range(), "Invalid default value for variable",
						fmt.Sprintf("This default cannot be used for variable %q: %s.", name, err)))
				} else {
					v.Value = cv
					v.Source = "default"
				}
			}
		}
		e.vars[name] = v
		e.varOrder = append(e.varOrder, v)
	}

	diags = append(diags, e.applyEnv()...)
	diags = append(diags, e.applyValues()...)
	for _, a := range e.opts.Args {
		switch a.Flag {
		case "var":
			diags = append(diags, e.applyVarFlag(a.Value)...)
		case "var-file":
			diags = append(diags, e.applyVarFile(a.Value)...)
		default:
			diags = append(diags, errorNoSource("Invalid variable option",
				fmt.Sprintf("Unknown variable option -%s; use -var or -var-file.", a.Flag)))
		}
	}
	for _, v := range e.varOrder {
		if v.Value == cty.NilVal {
			diags = append(diags, errorAt(v.DeclRange, "No value for required variable",
				fmt.Sprintf("Variable %q has no default, so it must be set: -var %s=VALUE, a -var-file, or the environment variable %s%s.",
					v.Name, v.Name, envPrefix, v.Name)))
			v.Value = cty.NullVal(v.Type)
		}
	}
	return diags
}

// errorNoSource is a diagnostic about something that has no source range:
// a command-line option, an environment variable, a file that cannot be
// read. It renders as its summary and detail alone, with no snippet.
func errorNoSource(summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail}
}

func (e *evaluator) applyEnv() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, kv := range e.opts.Environ {
		rest, ok := strings.CutPrefix(kv, envPrefix)
		if !ok {
			continue
		}
		name, raw, ok := strings.Cut(rest, "=")
		if !ok {
			continue
		}
		v, declared := e.vars[name]
		if !declared {
			continue // like Terraform: the environment may hold variables for other files
		}
		val, d := parseRawValue(v, raw, "the environment variable "+envPrefix+name)
		diags = append(diags, d...)
		if !d.HasErrors() {
			v.Value, v.Source = val, "env"
		}
	}
	return diags
}

// applyValues sets the variables an embedding program gave as values
// (Options.Values), in name order.
func (e *evaluator) applyValues() hcl.Diagnostics {
	var diags hcl.Diagnostics
	names := make([]string, 0, len(e.opts.Values))
	for n := range e.opts.Values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		v, declared := e.vars[name]
		if !declared {
			diags = append(diags, errorNoSource("Value for undeclared variable",
				fmt.Sprintf("A variable named %q was given a value but is not declared in the topology.%s Declare it with a variable %q {} block.",
					name, didYouMean(name, e.varNames()), name)))
			continue
		}
		val := e.opts.Values[name]
		if val == cty.NilVal {
			val = cty.NullVal(cty.DynamicPseudoType)
		}
		cv, err := convert.Convert(val, v.Type)
		if err != nil {
			diags = append(diags, errorNoSource("Invalid value for variable",
				fmt.Sprintf("The value given for variable %q is not a valid %s: %s.", name, v.Type.FriendlyName(), err)))
			continue
		}
		v.Value, v.Source = cv, "program"
	}
	return diags
}

func (e *evaluator) applyVarFlag(arg string) hcl.Diagnostics {
	name, raw, ok := strings.Cut(arg, "=")
	if !ok || name == "" {
		return hcl.Diagnostics{errorNoSource("Invalid -var option",
			fmt.Sprintf("The -var option %q is not of the form name=value, like -var workers=4.", arg))}
	}
	v, declared := e.vars[name]
	if !declared {
		return hcl.Diagnostics{errorNoSource("Value for undeclared variable",
			fmt.Sprintf("A variable named %q was set with -var but is not declared in the topology.%s Declare it with a variable %q {} block.",
				name, didYouMean(name, e.varNames()), name))}
	}
	val, d := parseRawValue(v, raw, "-var "+arg)
	if !d.HasErrors() {
		v.Value, v.Source = val, "-var"
	}
	return d
}

func (e *evaluator) applyVarFile(path string) hcl.Diagnostics {
	src, err := readLimited(path)
	if err != nil {
		return hcl.Diagnostics{errorNoSource("Cannot read variables file "+path+": "+readErrText(err), "")}
	}
	hf, diags := parseSource(path, src)
	if hf != nil {
		e.file.sources[path] = hf
	}
	if diags.HasErrors() || hf == nil || hf.Body == nil {
		return diags
	}
	attrs, d := hf.Body.JustAttributes()
	diags = append(diags, d...)
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		attr := attrs[n]
		v, declared := e.vars[n]
		if !declared {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("The variables file sets %q, which the topology does not declare; it is ignored.%s", n, didYouMean(n, e.varNames())),
				Subject:  attr.NameRange.Ptr(),
			})
			continue
		}
		val, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		cv, err := convert.Convert(val, v.Type)
		if err != nil {
			diags = append(diags, errorAt(attr.Expr.Range(), "Invalid value for variable",
				fmt.Sprintf("The value for variable %q is not suitable: %s.", n, err)))
			continue
		}
		v.Value, v.Source = cv, "-var-file"
	}
	return diags
}

// parseRawValue turns a command-line or environment string (given, as
// the user wrote it: "-var workers=4") into a value of v's type: strings
// (and untyped variables) take it verbatim, numbers and bools parse it as
// such, other types parse it as an HCL expression, as Terraform does.
func parseRawValue(v *Variable, raw, given string) (cty.Value, hcl.Diagnostics) {
	ty := v.Type
	if ty == cty.String || ty == cty.DynamicPseudoType {
		return cty.StringVal(raw), nil
	}
	invalid := func(why string) hcl.Diagnostics {
		return hcl.Diagnostics{errorNoSource("Invalid value for variable",
			fmt.Sprintf("Variable %q is of type %s, and the value %s given with %s %s.", v.Name, typeexpr.TypeString(ty), shorten(raw), given, why))}
	}
	if ty.IsPrimitiveType() {
		cv, err := convert.Convert(cty.StringVal(strings.TrimSpace(raw)), ty)
		if err != nil {
			switch ty {
			case cty.Number:
				return cty.NilVal, invalid("is not a number")
			case cty.Bool:
				return cty.NilVal, invalid("is not true or false")
			}
			return cty.NilVal, invalid("does not convert: " + err.Error())
		}
		return cv, nil
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), given, hcl.InitialPos)
	if diags.HasErrors() {
		return cty.NilVal, invalid("is not an HCL value: " + diags[0].Summary)
	}
	val, diags := expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, invalid("is not a constant HCL value (quote strings inside lists and objects)")
	}
	cv, err := convert.Convert(val, ty)
	if err != nil {
		return cty.NilVal, invalid("does not fit: " + err.Error())
	}
	return cv, nil
}

func (e *evaluator) varNames() []string {
	names := make([]string, 0, len(e.varOrder))
	for _, v := range e.varOrder {
		names = append(names, v.Name)
	}
	return names
}

// varObject is the value of the "var" root in expressions.
func (e *evaluator) varObject() cty.Value {
	m := make(map[string]cty.Value, len(e.vars))
	for n, v := range e.vars {
		m[n] = v.Value
	}
	return cty.ObjectVal(m)
}

// decodeLocals evaluates the locals blocks into e.locals, each local after
// the locals it refers to; one in a cycle or with an error stays unknown.
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
