package topology

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/internal/endpoint"
)

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
		diags = append(diags, e.placeInstance(nd, inst, ctx)...)
		for _, sd := range nd.sockets {
			s := &Socket{Name: sd.name, DeclRange: sd.block.DefRange}
			diags = append(diags, e.decodeSocket(nd, sd, s, inst, ctx)...)
			inst.Sockets = append(inst.Sockets, s)
		}
		nd.instances = append(nd.instances, inst)
	}
	for i, inst := range nd.instances {
		if i == 0 {
			n.Host = inst.Host
		} else if inst.Host != n.Host {
			n.Host = ""
			break
		}
	}
	return diags
}

func (e *evaluator) decodeSocket(nd *nodeDecl, sd *socketDecl, s *Socket, inst *Instance, ctx *hcl.EvalContext) hcl.Diagnostics {
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
			parsed, err := endpoint.Parse(ep.url, true)
			if err != nil {
				e.failed[s] = true
				diags = append(diags, errorAt(ep.rng, "Invalid bind endpoint", err.Error()+"."))
				continue
			}
			bind := Endpoint{URL: ep.url, Range: ep.rng}
			if h := e.hosts[inst.Host]; e.opts.LoopbackHosts && h != nil && h.Address != "" && parsed.Transport == "tcp" {
				parsed.Host = h.Address // -host all: each host binds its own loopback address
				bind.URL, bind.Written = parsed.String(), ep.url
			}
			s.Bind = append(s.Bind, bind)
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
	if sd.curve != nil {
		c, d := e.decodeSocketCurve(nd, sd, ctx)
		diags = append(diags, d...)
		s.Curve = c
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
//
// from is the host of the instances that will read it: a reference to a
// bind on another host resolves as resolveBind says.
func (e *evaluator) nodeObject(from string) cty.Value {
	nodes := make(map[string]cty.Value, len(e.nodes))
	for _, nd := range e.nodes {
		all := map[string][]cty.Value{}
		obj := map[string]cty.Value{}
		for _, inst := range nd.instances {
			one := map[string]cty.Value{}
			for _, s := range inst.Sockets {
				var vals []cty.Value
				for _, b := range s.Bind {
					url, ok := e.resolveBind(b, inst, from)
					if !ok {
						continue
					}
					vals = append(vals, cty.StringVal(url).Mark(refMark{instance: inst.Name, socket: s.Name}))
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
func (e *evaluator) decodeConnectsAndAttrs(nd *nodeDecl) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var problems []InstanceProblem
	for _, inst := range nd.instances {
		ctx := e.instanceCtx(e.nodeCtxFor(inst.Host), nd, inst.Index)
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
			} else {
				diags = append(diags, e.checkCrossRefs(a.Expr, ctx, inst, s)...)
			}
			used := map[refMark]bool{}
			for _, ep := range eps {
				ref := e.pickRef(ep, inst.Host, used)
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
func (e *evaluator) pickRef(ep endpointVal, from string, used map[refMark]bool) *SocketRef {
	var cands []refMark
	for _, m := range ep.refs {
		if len(ep.refs) == 1 || e.bindsConnectable(m, ep.url, from) {
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

func (e *evaluator) bindsConnectable(m refMark, url, from string) bool {
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
				if got, ok := e.resolveBind(b, inst, from); ok && got == url {
					return true
				}
			}
		}
	}
	return false
}
