package topology

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/internal/curvekey"
)

var socketCurveSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "secret_key"}, {Name: "server_key"}, {Name: "allow"}},
}

var topCurveSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "seed", Required: true}},
}

// sensitiveExtra marks a diagnostic about a curve block: its source and
// values must not be shown (IsSensitive).
type sensitiveExtra struct{}

// IsSensitive reports whether a diagnostic is about a curve block, whose
// attributes are secret: a renderer shows its file and line but no source
// snippet (WriteDiagnostics does this).
func IsSensitive(d *hcl.Diagnostic) bool {
	_, ok := d.Extra.(sensitiveExtra)
	return ok
}

// noteSensitive records the range of a curve block, so every diagnostic
// inside it is marked sensitive at the end of Decode.
func (e *evaluator) noteSensitive(b *hcl.Block) {
	r := b.DefRange
	if sb, ok := b.Body.(*hclsyntax.Body); ok {
		r = hcl.RangeOver(r, sb.SrcRange)
	} else if attrs, d := b.Body.JustAttributes(); !d.HasErrors() {
		for _, a := range attrs {
			r = hcl.RangeOver(r, a.Range)
		}
	}
	e.secretRanges = append(e.secretRanges, r)
}

// markSensitive marks the diagnostics whose snippet would show a line of
// a curve block (the source lines of their subject or context overlap the
// block's: in a one-line JSON file, every diagnostic), and drops the
// expression and context hcl would print values from.
func (e *evaluator) markSensitive(diags hcl.Diagnostics) {
	overlaps := func(a *hcl.Range, r hcl.Range) bool {
		return a != nil && a.Filename == r.Filename && a.Start.Line <= r.End.Line && a.End.Line >= r.Start.Line
	}
	for _, d := range diags {
		for _, r := range e.secretRanges {
			if overlaps(d.Subject, r) || overlaps(d.Context, r) {
				d.Extra = sensitiveExtra{}
				d.Expression, d.EvalContext = nil, nil
				break
			}
		}
	}
}

// curveBlock picks the one curve block of a body's content, reporting
// the others.
func curveBlock(blocks hcl.Blocks, where string) (*hcl.Block, hcl.Diagnostics) {
	var first *hcl.Block
	var diags hcl.Diagnostics
	for _, b := range blocks {
		if b.Type != "curve" {
			continue
		}
		if first != nil {
			diags = append(diags, errorAt(b.DefRange, "Duplicate curve block",
				fmt.Sprintf("%s already has a curve block at %s; write one.", where, first.DefRange)))
			continue
		}
		first = b
	}
	return first, diags
}

// decodeTopCurve reads the top-level curve block: the seed.
func (e *evaluator) decodeTopCurve() (*Curve, hcl.Diagnostics) {
	b, diags := curveBlock(e.content.Blocks, "The file")
	if b == nil {
		return nil, diags
	}
	e.noteSensitive(b)
	content, d := b.Body.Content(topCurveSchema)
	diags = append(diags, d...)
	a, ok := content.Attributes["seed"]
	if !ok {
		return nil, diags
	}
	s, perms, ok, d := e.evalSecretString(a.Expr, scope{what: "seed"}, e.base)
	diags = append(diags, d...)
	diags = append(diags, permWarnings(perms, a.Expr.Range(), "seed")...)
	if !ok {
		return nil, diags
	}
	k, err := curvekey.ParseKey(strings.TrimSpace(s))
	if err != nil {
		return nil, append(diags, errorAt(a.Expr.Range(), "Invalid CURVE seed",
			"A seed is 40 characters of Z85 (32 bytes), as `topo keygen -seed FILE` writes it; this value is not one."))
	}
	return &Curve{Seed: k[:], DeclRange: b.DefRange}, diags
}

// decodeSocketCurve evaluates a socket's curve block for one replica.
func (e *evaluator) decodeSocketCurve(nd *nodeDecl, sd *socketDecl, ctx *hcl.EvalContext) (*SocketCurve, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	c := &SocketCurve{DeclRange: sd.curve.DefRange}
	at := func(what string) scope { return scope{what: what, count: nd.counted} }
	if a, ok := sd.curveAttrs["secret_key"]; ok {
		c.SecretKeyRange = a.Expr.Range()
		s, perms, ok, d := e.evalSecretString(a.Expr, at("secret_key"), ctx)
		diags = append(diags, d...)
		diags = append(diags, permWarnings(perms, a.Expr.Range(), "secret key")...)
		if ok {
			k, d := parseCurveKey(s, "secret_key", a.Expr.Range())
			diags = append(diags, d...)
			c.SecretKey = k
		}
	}
	if a, ok := sd.curveAttrs["server_key"]; ok {
		c.ServerKeyRange = a.Expr.Range()
		v, d := e.eval(a.Expr, at("server_key"), ctx)
		diags = append(diags, d...)
		if !d.HasErrors() && v.IsWhollyKnown() {
			v, _ = v.UnmarkDeep()
			switch {
			case v.IsNull():
			case v.Type() == cty.String:
				k, d := parseCurveKey(v.AsString(), "server_key", a.Expr.Range())
				diags = append(diags, d...)
				c.ServerKey = k
			case v.Type().IsObjectType() || v.Type().IsMapType():
				c.ServerKeys = map[string]CurveKey{}
				for it := v.ElementIterator(); it.Next(); {
					ek, ev := it.Element()
					if ev.IsNull() || ev.Type() != cty.String {
						diags = append(diags, errorAt(a.Expr.Range(), "Invalid server_key",
							"server_key is a key, or a map from connect endpoint to key: { \"tcp://10.0.0.3:5556\" = file(\"keys/pub.pub\") }."))
						continue
					}
					k, d := parseCurveKey(ev.AsString(), "server_key", a.Expr.Range())
					diags = append(diags, d...)
					c.ServerKeys[ek.AsString()] = k
				}
			default:
				diags = append(diags, errorAt(a.Expr.Range(), "Invalid server_key",
					"server_key is a key (a string), or a map from connect endpoint to key."))
			}
		}
	}
	if a, ok := sd.curveAttrs["allow"]; ok {
		c.AllowRange = a.Expr.Range()
		v, d := e.eval(a.Expr, at("allow"), ctx)
		diags = append(diags, d...)
		var keys []endpointVal
		if !d.HasErrors() {
			if err := flattenStrings(v, a.Expr.Range(), nil, &keys); err != nil {
				diags = append(diags, errorAt(a.Expr.Range(), "Invalid allow",
					"allow is a list of client public keys: allow = [file(\"keys/worker.pub\")]."))
				keys = nil
			}
		}
		c.Allow = []CurveKey{}
		for _, kv := range keys {
			k, d := parseCurveKey(kv.url, "allow", a.Expr.Range())
			diags = append(diags, d...)
			c.Allow = append(c.Allow, k)
		}
	}
	if c.HasServerKey() && len(c.Allow) > 0 {
		diags = append(diags, errorAt(c.AllowRange, "allow on a CURVE client",
			"This curve block has a server_key, so its socket is a CURVE client; allow restricts the clients of a server. Remove one of them."))
	}
	return c, diags
}

// parseCurveKey checks a key: 40 characters of Z85, whitespace around
// ignored. The error says nothing of the value.
func parseCurveKey(s, attr string, r hcl.Range) (CurveKey, hcl.Diagnostics) {
	k, err := curvekey.ParseKey(strings.TrimSpace(s))
	if err != nil {
		return CurveKey{}, hcl.Diagnostics{errorAt(r, "Invalid CURVE key",
			fmt.Sprintf("%s must be a CURVE key: 40 characters of Z85, as `topo keygen` or libzmq's zmq_curve_keypair write them. This value is not one (it is not shown: keys are secret).", attr))}
	}
	return CurveKey(k), nil
}

// evalSecretString evaluates a string attribute of a curve block and
// returns, besides the string, the files (by path) file() read it from.
func (e *evaluator) evalSecretString(expr hcl.Expression, sc scope, ctx *hcl.EvalContext) (string, []fileMark, bool, hcl.Diagnostics) {
	v, diags := e.eval(expr, sc, ctx)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return "", nil, false, diags
	}
	v, pvm := v.UnmarkDeepWithPaths()
	var files []fileMark
	for _, pm := range pvm {
		for m := range pm.Marks {
			if fm, ok := m.(fileMark); ok {
				files = append(files, fm)
			}
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	if v.IsNull() || v.Type() != cty.String {
		return "", files, false, append(diags, errorAt(expr.Range(), "Incorrect value type",
			fmt.Sprintf("%s must be a string: file(\"keys/NAME.key\").", sc.what)))
	}
	return v.AsString(), files, true, diags
}

// permWarnings warns about secret files that group or others may read.
func permWarnings(files []fileMark, r hcl.Range, what string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, f := range files {
		if f.perm&0o077 != 0 {
			diags = append(diags, warnAt(r, "Secret file readable by others",
				fmt.Sprintf("The %s file %s can be read by its group or by others (mode %04o). Make it private: chmod 600 %s.", what, shorten(f.path), uint32(f.perm), f.resolved)))
		}
	}
	return diags
}
