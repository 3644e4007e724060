package topology

import "strings"

// InStartOrder returns the instances in StartOrder: the order in which the
// runtime creates every instance and binds its sockets, and then, in the
// same order, connects them. Instances StartOrder does not name (a
// Topology built by hand) follow in file order. A node's body starts later,
// once the peers ExpectedPeers counts are connected and every node it
// depends_on is running, so bodies of independent nodes start in no fixed
// order.
func (t *Topology) InStartOrder() []*Instance {
	byName := make(map[string]*Instance, len(t.Instances))
	for _, in := range t.Instances {
		byName[in.Name] = in
	}
	out := make([]*Instance, 0, len(t.Instances))
	seen := make(map[*Instance]bool, len(t.Instances))
	for _, name := range t.StartOrder {
		if in := byName[name]; in != nil && !seen[in] {
			seen[in] = true
			out = append(out, in)
		}
	}
	for _, in := range t.Instances {
		if !seen[in] {
			out = append(out, in)
		}
	}
	return out
}

// ExpectedPeers counts, per socket, the in-topology peers a socket must
// have before its node's body starts; the runtime waits for exactly these
// and `topo plan` shows them. The rule:
//
//   - every edge of Edges is one connection, and counts once on each of
//     its two sockets (the connecting one and the bound one);
//   - on a PUB or XPUB socket only subscribing peers count, because the
//     socket layer waits for subscriptions there: an edge to a SUB or XSUB
//     peer counts (a SUB subscribes from its `subscribe` list or by itself,
//     as weather-client does with its zip; an XSUB forwards its downstream
//     subscriptions), any other peer type does not.
//
// Peers outside the topology (a connect to an endpoint no node binds, or an
// external client connecting to a bound socket) are never expected: a node
// does not wait for them.
func (t *Topology) ExpectedPeers() map[SocketRef]int {
	types := map[SocketRef]string{}
	for _, in := range t.Instances {
		for _, s := range in.Sockets {
			types[SocketRef{Instance: in.Name, Socket: s.Name}] = strings.ToUpper(s.Type)
		}
	}
	exp := map[SocketRef]int{}
	count := func(self SocketRef, selfType, peerType string) {
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
