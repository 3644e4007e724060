package topology

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/internal/endpoint"
)

// boundSocket is one bind endpoint of one instance's socket.
type boundSocket struct {
	ep   endpoint.Endpoint
	inst *Instance
	sock *Socket
	rng  hcl.Range
}

// checkBinds reports endpoints bound twice (replicas included) and warns
// about binds on every interface. It returns the binds by connectable URL,
// for literal connects to find their target.
func checkBinds(t *Topology) (map[string][]boundSocket, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	// Binds by connectable URL (for literal connects) and by port or
	// address (for conflicts).
	byURL := map[string][]boundSocket{}
	byKey := map[string][]boundSocket{}
	wildcardWarned := map[hcl.Range]bool{}
	for _, inst := range t.Instances {
		for _, s := range inst.Sockets {
			for _, b := range s.Bind {
				ep, err := endpoint.Parse(b.URL, true)
				if err != nil {
					continue // reported when evaluated
				}
				me := boundSocket{ep: ep, inst: inst, sock: s, rng: b.Range}
				key := ep.Transport + "|" + ep.Port + "|" + ep.Addr
				if ep.Ephemeral() {
					key = "" // never conflicts; not worth comparing
				}
				for _, prev := range byKey[key] {
					if key == "" {
						break
					}
					if prev.ep.Conflicts(ep) {
						diags = append(diags, errorAt(b.Range, "Endpoint bound twice",
							fmt.Sprintf("%s.%s binds %s, which %s.%s already binds (%s). Two sockets cannot bind the same endpoint; give each its own port or address%s.",
								inst.Name, s.Name, b.URL, prev.inst.Name, prev.sock.Name, prev.rng, replicaHint(inst, prev.inst))))
						break
					}
				}
				byKey[key] = append(byKey[key], me)
				byURL[ep.Connectable().String()] = append(byURL[ep.Connectable().String()], me)
				if ep.Wildcard() && !wildcardWarned[b.Range] {
					wildcardWarned[b.Range] = true
					diags = append(diags, warnAt(b.Range, "Bind on all interfaces",
						fmt.Sprintf("%s listens on every network interface, so other machines can connect. Bind tcp://127.0.0.1:%s to stay local, unless peers on other hosts need it.", b.URL, ep.Port)))
				}
			}
		}
	}
	return byURL, diags
}
