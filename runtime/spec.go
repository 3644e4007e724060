package runtime

import (
	"fmt"
	"net"
	"strings"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// expectations counts, per "instance.socket", the in-topology peers a socket
// must have before its node's body starts. The rule:
//
//   - every edge of topology.Edges is one connection, and counts once on
//     each of its two sockets (the connecting one and the bound one);
//   - on a PUB or XPUB socket only subscribing peers count, because the
//     socket layer waits for subscriptions there: an edge to a SUB or XSUB
//     peer counts (a SUB subscribes from its `subscribe` list or by itself,
//     as weather-client does with its zip; an XSUB forwards its downstream
//     subscriptions), any other peer type does not.
//
// Peers outside the topology (a connect to an endpoint no node binds, or an
// external client connecting to a bound socket) are never expected: a node
// does not wait for them.
func expectations(t *topology.Topology) map[topology.SocketRef]int {
	types := map[topology.SocketRef]string{}
	for _, in := range t.Instances {
		for _, s := range in.Sockets {
			types[topology.SocketRef{Instance: in.Name, Socket: s.Name}] = strings.ToUpper(s.Type)
		}
	}
	exp := map[topology.SocketRef]int{}
	count := func(self topology.SocketRef, selfType, peerType string) {
		if selfType == "" {
			selfType = types[self]
		}
		switch strings.ToUpper(selfType) {
		case "PUB", "XPUB":
			switch strings.ToUpper(peerType) {
			case "SUB", "XSUB":
				exp[self]++
			}
		default:
			exp[self]++
		}
	}
	for _, e := range t.Edges {
		ct, bt := e.ConnectType, e.BindType
		if ct == "" {
			ct = types[e.Connect]
		}
		if bt == "" {
			bt = types[e.Bind]
		}
		count(e.Connect, ct, bt)
		count(e.Bind, bt, ct)
	}
	return exp
}

// buildSpec turns an instance into the plain-data Spec its actor needs.
// kindName is the name within the serving registry ("upper" for
// "text.upper"); run is the run id the instance's sockets announce.
func buildSpec(in *topology.Instance, kindName, run string, exp map[topology.SocketRef]int) (plugins.Spec, error) {
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
		for _, b := range s.Bind {
			ss.Bind = append(ss.Bind, b.URL)
		}
		spec.Sockets = append(spec.Sockets, ss)
	}
	return spec, nil
}

// connectable rewrites a bound endpoint into one a local peer can connect
// to: a wildcard or unspecified tcp host becomes the loopback address.
func connectable(ep string) string {
	rest, ok := strings.CutPrefix(ep, "tcp://")
	if !ok {
		return ep
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return ep
	}
	switch host {
	case "*", "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	return "tcp://" + net.JoinHostPort(host, port)
}

// resolveConnects returns, per socket name, the endpoints an instance
// connects to, with references re-resolved to the endpoints their targets
// actually bound (bound: instance → socket → actual endpoints, in the order
// of the socket's bind list).
func resolveConnects(in *topology.Instance, byName map[string]*topology.Instance, bound map[string]map[string][]string) map[string][]string {
	out := map[string][]string{}
	for _, s := range in.Sockets {
		var eps []string
		seen := map[string]bool{}
		add := func(ep string) {
			if !seen[ep] {
				seen[ep] = true
				eps = append(eps, ep)
			}
		}
		for _, c := range s.Connect {
			if c.Ref == nil {
				add(c.URL)
				continue
			}
			actual := bound[c.Ref.Instance][c.Ref.Socket]
			target := byName[c.Ref.Instance]
			var decl *topology.Socket
			if target != nil {
				decl = target.Socket(c.Ref.Socket)
			}
			matched := false
			if decl != nil && len(actual) == len(decl.Bind) {
				for i, b := range decl.Bind {
					if connectable(b.URL) == c.URL || b.URL == c.URL {
						add(connectable(actual[i]))
						matched = true
					}
				}
			}
			if !matched {
				if len(actual) == 0 {
					add(c.URL)
				}
				for _, a := range actual {
					add(connectable(a))
				}
			}
		}
		if len(eps) > 0 {
			out[s.Name] = eps
		}
	}
	return out
}
