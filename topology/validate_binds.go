package topology

import (
	"fmt"
	"net"

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
				if s.Curve == nil && !wildcardWarned[b.Range] {
					if ep.Wildcard() {
						wildcardWarned[b.Range] = true
						diags = append(diags, warnAt(b.Range, "Bind on all interfaces",
							fmt.Sprintf("%s listens on every network interface, so other machines can connect, in plaintext. Bind tcp://127.0.0.1:%s to stay local, unless peers on other hosts need it; then add a curve block to the socket (CURVE encrypts and authenticates).", b.URL, ep.Port)))
					} else if ep.Transport == "tcp" && !loopback(ep.Host) {
						wildcardWarned[b.Range] = true
						diags = append(diags, warnAt(b.Range, "Plaintext bind on a network address",
							fmt.Sprintf("%s listens on a network address without CURVE, so anyone who can reach it can send and receive in plaintext. Add a curve block to the socket, or bind 127.0.0.1 to stay local.", b.URL)))
					}
				}
			}
		}
	}
	return byURL, diags
}

// loopback reports whether a tcp host is this machine only.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
