package topology

import (
	"fmt"
	"math/big"
	"net/netip"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/internal/endpoint"
)

// checkCrossRefs checks the references node.X.S, node.X[i].S and
// node.X[EXPR].S (EXPR evaluated in ctx, the instance's context, so
// node.X[count.index].S is traced per replica) in a connect expression of
// instance from against the binds they reach on other hosts: a reference
// across hosts needs a tcp bind (ipc and inproc stay on one machine) that
// is neither on a loopback address (unless the bound host's own address is
// loopback: every host on one machine) nor on an ephemeral port (the other
// host cannot learn it).
func (e *evaluator) checkCrossRefs(expr hcl.Expression, ctx *hcl.EvalContext, from *Instance, s *Socket) hcl.Diagnostics {
	if len(e.hostOrder) == 0 {
		return nil
	}
	var diags hcl.Diagnostics
	for _, r := range e.crossRefs(expr, ctx) {
		diags = append(diags, e.checkCrossRef(r, from, s)...)
	}
	return diags
}

// crossRef is one reference to a node's socket in a connect expression:
// the instances it may reach and how the file wrote it.
type crossRef struct {
	ref, socket string
	targets     []*Instance
	rng         hcl.Range
}

// crossRefs lists the socket references in expr: literal traversals
// (node.X.S, node.X[1].S) and, in native syntax, a replica chosen by an
// expression (node.X[count.index].S), whose index is evaluated in ctx.
func (e *evaluator) crossRefs(expr hcl.Expression, ctx *hcl.EvalContext) []crossRef {
	var refs []crossRef
	for _, tr := range expr.Variables() {
		if tr.RootName() != "node" {
			continue
		}
		name, _ := attrStep(tr, 1)
		nd := e.nodeByName[name]
		if nd == nil {
			continue
		}
		r := crossRef{ref: "node." + name, targets: nd.instances, rng: tr.SourceRange()}
		step := 2
		if len(tr) > step {
			if ti, ok := tr[step].(hcl.TraverseIndex); ok {
				i, ok := indexOf(ti.Key)
				if !ok || i < 0 || i >= len(nd.instances) {
					continue // out of range: hcl reported it
				}
				r.targets = nd.instances[i : i+1]
				r.ref += fmt.Sprintf("[%d]", i)
				step++
			}
		}
		sock, ok := attrStep(tr, step)
		if !ok {
			continue // node.X[EXPR].S, found below, or not a socket
		}
		r.ref += "." + sock
		r.socket = sock
		refs = append(refs, r)
	}
	native, ok := expr.(hclsyntax.Expression)
	if !ok {
		return refs
	}
	_ = hclsyntax.VisitAll(native, func(n hclsyntax.Node) hcl.Diagnostics {
		rel, ok := n.(*hclsyntax.RelativeTraversalExpr)
		if !ok || len(rel.Traversal) == 0 {
			return nil
		}
		ix, ok := rel.Source.(*hclsyntax.IndexExpr)
		if !ok {
			return nil
		}
		src, ok := ix.Collection.(*hclsyntax.ScopeTraversalExpr)
		if !ok || len(src.Traversal) != 2 || src.Traversal.RootName() != "node" {
			return nil
		}
		name, _ := attrStep(src.Traversal, 1)
		sock, ok := attrStep(rel.Traversal, 0)
		nd := e.nodeByName[name]
		if !ok || nd == nil {
			return nil
		}
		key, d := ix.Key.Value(ctx)
		i, known := indexOf(key)
		if d.HasErrors() || !known || i < 0 || i >= len(nd.instances) {
			return nil // evaluating the connect reported it
		}
		refs = append(refs, crossRef{
			ref:     fmt.Sprintf("node.%s[%d].%s", name, i, sock),
			socket:  sock,
			targets: nd.instances[i : i+1],
			rng:     rel.SrcRange,
		})
		return nil
	})
	return refs
}

// checkCrossRef checks one reference of instance from's socket s.
func (e *evaluator) checkCrossRef(cr crossRef, from *Instance, s *Socket) hcl.Diagnostics {
	var diags hcl.Diagnostics
	r, ref, sock := cr.rng, cr.ref, cr.socket
	for _, to := range cr.targets {
		if !e.crossHost(from.Host, to.Host) {
			continue
		}
		ts := to.Socket(sock)
		if ts == nil {
			continue
		}
		h := e.hosts[to.Host]
		tcp := false
		var others []string
		for _, b := range ts.Bind {
			ep, err := endpoint.Parse(b.URL, true)
			if err != nil {
				continue
			}
			if ep.Transport != "tcp" {
				others = append(others, b.URL)
				continue
			}
			tcp = true
			switch {
			case ep.Ephemeral():
				diags = append(diags, errorAt(r, "Cross-host reference to an ephemeral port",
					fmt.Sprintf("%s on %s refers to %s, but %s.%s binds %s on %s: a port the system picks when it binds, which a process on another host cannot learn. Give the bind a fixed port, like tcp://*:5558.",
						from.Name, hostName(from.Host), ref, to.Name, sock, b.URL, hostName(to.Host))))
			case isLoopback(ep.Host) && (h == nil || !isLoopback(h.Address)):
				diags = append(diags, errorAt(r, "Cross-host reference to a loopback bind",
					fmt.Sprintf("%s on %s refers to %s, but %s.%s binds %s, a loopback address that only %s itself can reach. Bind tcp://*:%s (every interface) or the host's own address for peers on other hosts.",
						from.Name, hostName(from.Host), ref, to.Name, sock, b.URL, hostName(to.Host), ep.Port)))
			}
		}
		if !tcp {
			e.failed[s] = true
			binds := "nothing"
			if len(others) > 0 {
				binds = "only " + strings.Join(others, ", ")
			}
			diags = append(diags, errorAt(r, "Cross-host reference without a tcp endpoint",
				fmt.Sprintf("%s on %s refers to %s, but %s.%s on %s binds %s; ipc:// and inproc:// do not cross machines, so this edge has no endpoint. Add a tcp bind to %s.%s (bind = [..., \"tcp://*:PORT\"]) or place both nodes on one host.",
					from.Name, hostName(from.Host), ref, to.Name, sock, hostName(to.Host), binds, to.Node.Name, sock)))
		}
	}
	return diags
}

// indexOf is a literal replica index.
func indexOf(v cty.Value) (int, bool) {
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.Number {
		return 0, false
	}
	i, acc := v.AsBigFloat().Int64()
	if acc != big.Exact {
		return 0, false
	}
	return int(i), true
}

// isLoopback reports a loopback host: 127.0.0.0/8, ::1 or "localhost".
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// checkHosts reports what placement cannot honour: depends_on across
// hosts (each host's topo apply runs only its own nodes, so it cannot wait
// for a body elsewhere), and warns about a declared host that runs
// nothing.
func (e *evaluator) checkHosts(t *Topology) hcl.Diagnostics {
	if len(e.hostOrder) == 0 {
		return nil
	}
	var diags hcl.Diagnostics
	for _, nd := range e.nodes {
		for _, dep := range nd.dependsOn {
			for _, in := range nd.instances {
				var away *Instance
				for _, di := range dep.instances {
					if e.crossHost(in.Host, di.Host) {
						away = di
						break
					}
				}
				if away == nil {
					continue
				}
				diags = append(diags, errorAt(nd.dependsOnRange[dep], "depends_on across hosts",
					fmt.Sprintf("%s on %s depends on node %q, but %s runs on %s. Each host's `topo apply -host` runs only its own nodes and cannot wait for a body on another host. Remove the entry: a node's body already waits until its peers on every host are connected.",
						in.Name, hostName(in.Host), dep.n.Name, away.Name, hostName(away.Host))))
				break
			}
		}
	}
	used := map[string]bool{}
	for _, in := range t.Instances {
		used[in.Host] = true
	}
	for _, h := range e.hostOrder {
		if !used[h.Name] {
			diags = append(diags, warnAt(h.DeclRange, "Host runs nothing",
				fmt.Sprintf("No node is placed on host %q, so `topo apply -host %s` would run nothing. Place a node there (host = %q) or remove the block.", h.Name, h.Name, h.Name)))
		}
	}
	return diags
}
