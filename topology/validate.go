package topology

import (
	"github.com/hashicorp/hcl/v2"
)

// validate runs the checks that need the whole evaluated topology, fills
// t.Edges and t.StartOrder, and returns the diagnostics. Each check lives
// in a file of its own: validate_sockets.go (socket blocks against their
// kinds), validate_binds.go (endpoints bound twice, wildcard binds),
// validate_edges.go (the wired pairs), validate_hosts.go (placement), validate_order.go (the start order).
func (e *evaluator) validate(t *Topology) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, nd := range e.nodes {
		diags = append(diags, e.checkSockets(nd)...)
	}
	binds, bdiags := e.checkBinds(t)
	diags = append(diags, bdiags...)
	diags = append(diags, e.wireEdges(t, binds)...)
	diags = append(diags, e.checkHosts(t)...)
	t.StartOrder = e.startOrder(t)
	return diags
}
