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
//
// Across hosts the rule is the same, and the count is the same whichever
// host runs the socket: a cross-host edge exists once per tcp endpoint
// the peer binds (ipc and inproc binds are left out across hosts), so a
// PULL bound on host sink that 4 workers on host workers connect to
// expects 4, one per distinct connecting instance, exactly as on one
// machine. A socket connects to a peer's socket more than once only when
// that peer binds several endpoints the reference resolves to (tcp and ipc
// on one host); then each connection counts. ExpectedPeerRefs names the
// distinct peers behind each count.
func (t *Topology) ExpectedPeers() map[SocketRef]int {
	exp := map[SocketRef]int{}
	t.expectedEdges(func(self, _ SocketRef) { exp[self]++ })
	return exp
}

// ExpectedPeerRefs lists, per socket, the distinct peer sockets that
// ExpectedPeers counts (the same edges, each peer once, in Edges order),
// so a caller can say which peers are missing and, with Instance.Host,
// the host each should come from. A socket ExpectedPeers gives 0 is absent.
func (t *Topology) ExpectedPeerRefs() map[SocketRef][]SocketRef {
	out := map[SocketRef][]SocketRef{}
	seen := map[[2]SocketRef]bool{}
	t.expectedEdges(func(self, peer SocketRef) {
		if k := [2]SocketRef{self, peer}; !seen[k] {
			seen[k] = true
			out[self] = append(out[self], peer)
		}
	})
	return out
}

// expectedEdges calls f(self, peer) for each end of each edge that
// ExpectedPeers counts on self.
func (t *Topology) expectedEdges(f func(self, peer SocketRef)) {
	types := map[SocketRef]string{}
	for _, in := range t.Instances {
		for _, s := range in.Sockets {
			types[SocketRef{Instance: in.Name, Socket: s.Name}] = strings.ToUpper(s.Type)
		}
	}
	count := func(self, peer SocketRef, selfType, peerType string) {
		switch strings.ToUpper(selfType) {
		case "PUB", "XPUB":
			switch strings.ToUpper(peerType) {
			case "SUB", "XSUB":
				f(self, peer)
			}
		default:
			f(self, peer)
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
		count(e.Connect, e.Bind, ct, bt)
		count(e.Bind, e.Connect, bt, ct)
	}
}
