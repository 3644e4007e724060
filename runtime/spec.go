package runtime

import (
	"fmt"

	"github.com/topo-zmq/topo/internal/endpoint"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// expectations counts, per socket, the in-topology peers a socket must
// have before its node's body starts: topology.ExpectedPeers, which `topo
// plan` shows too.
func expectations(t *topology.Topology) map[topology.SocketRef]int {
	return t.ExpectedPeers()
}

// buildSpec turns an instance into the plain-data Spec its actor needs.
// kindName is the name within the serving registry ("upper" for
// "text.upper"); run is the run id the instance's sockets announce.
//
// peers, when not nil, names each socket's expected peers
// (topology.ExpectedPeerRefs): they go into SocketSpec.Peers, the rule of a
// topology with hosts.
func buildSpec(in *topology.Instance, kindName, run string, exp map[topology.SocketRef]int, peers map[topology.SocketRef][]topology.SocketRef) (plugins.Spec, error) {
	spec := plugins.Spec{
		Name:  in.Name,
		Run:   run,
		Index: in.Index,
		Kind:  kindName,
		Attrs: in.Attrs,
	}
	for _, s := range in.Sockets {
		st, err := socket.ParseType(s.Type)
		if err != nil {
			return spec, fmt.Errorf("%s: socket %s: %w", in.Name, s.Name, err)
		}
		ss := plugins.SocketSpec{
			Name:      s.Name,
			Type:      st,
			Subscribe: append([]string(nil), s.Subscribe...),
			HWM:       s.HWM,
			Identity:  s.Identity,
			Expect:    exp[topology.SocketRef{Instance: in.Name, Socket: s.Name}],
		}
		for _, p := range peers[topology.SocketRef{Instance: in.Name, Socket: s.Name}] {
			ss.Peers = append(ss.Peers, p.String())
		}
		for _, b := range s.Bind {
			ss.Bind = append(ss.Bind, b.URL)
		}
		spec.Sockets = append(spec.Sockets, ss)
	}
	return spec, nil
}

// resolveConnects returns, per socket name, the endpoints an instance
// connects to, with references re-resolved to the endpoints their targets
// actually bound (bound: instance → socket → actual endpoints, in the order
// of the socket's bind list). A reference's URL is the connectable form of
// the bind it names (endpoint.Connectable, the rule topology resolved it
// with), which picks that bind's actual endpoint.
//
// remote names the instances that run in other processes (on other
// hosts): a reference to one of them is connected as topology resolved it,
// at its host's address.
func resolveConnects(in *topology.Instance, byName map[string]*topology.Instance, bound map[string]map[string][]string, remote map[string]bool) map[string][]string {
	out := map[string][]string{}
	for _, s := range in.Sockets {
		var eps []string
		seen := map[string]bool{}
		for _, c := range s.Connect {
			for _, ep := range resolveConnect(c, byName, bound, remote) {
				if !seen[ep] {
					seen[ep] = true
					eps = append(eps, ep)
				}
			}
		}
		if len(eps) > 0 {
			out[s.Name] = eps
		}
	}
	return out
}

// resolveConnect is resolveConnects for one connect endpoint: the
// endpoints it stands for, as Connect receives them.
func resolveConnect(c topology.Endpoint, byName map[string]*topology.Instance, bound map[string]map[string][]string, remote map[string]bool) []string {
	if c.Ref == nil || remote[c.Ref.Instance] {
		// A literal, or an instance on another host: the address topology
		// resolved (the other host's).
		return []string{c.URL}
	}
	var eps []string
	actual := bound[c.Ref.Instance][c.Ref.Socket]
	target := byName[c.Ref.Instance]
	var decl *topology.Socket
	if target != nil {
		decl = target.Socket(c.Ref.Socket)
	}
	if len(actual) == 0 && decl != nil {
		// The target has not bound yet (its start-up is being
		// retried): connect to what it declares; the connection
		// comes up once it binds.
		for _, b := range decl.Bind {
			actual = append(actual, b.URL)
		}
	}
	matched := false
	if decl != nil && len(actual) == len(decl.Bind) {
		for i, b := range decl.Bind {
			if endpoint.Connectable(b.URL) == c.URL {
				eps = append(eps, endpoint.Connectable(actual[i]))
				matched = true
			}
		}
	}
	if !matched {
		if len(actual) == 0 {
			eps = append(eps, c.URL)
		}
		for _, a := range actual {
			eps = append(eps, endpoint.Connectable(a))
		}
	}
	return eps
}
