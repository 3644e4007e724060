package topology

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// decodePlugins evaluates the plugin blocks (source or command, sha256,
// env) into e.plugins.
func (e *evaluator) decodePlugins(blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for nb := range openBlocks(blocks, "plugin", "", pluginSchema, &diags) {
		name, b, content := nb.name, nb.block, nb.content
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
