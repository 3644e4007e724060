package topology

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/internal/endpoint"
)

// wireEdges fills t.Edges with every connect's pair, a reference's or a
// literal endpoint's that some node binds (binds, from checkBinds), and
// checks each pair.
func (e *evaluator) wireEdges(t *Topology, binds bindIndex) hcl.Diagnostics {
	var diags hcl.Diagnostics
	edgesCapped := false
	instByName := make(map[string]*Instance, len(t.Instances))
	for _, inst := range t.Instances {
		instByName[inst.Name] = inst
	}
	for _, inst := range t.Instances {
		for _, s := range inst.Sockets {
			for _, c := range s.Connect {
				var targets []SocketRef
				if c.Ref != nil {
					targets = []SocketRef{*c.Ref}
				} else {
					url := c.URL
					if ep, err := endpoint.Parse(url, false); err == nil {
						url = ep.Connectable().String()
					}
					for _, b := range binds.lookup(inst.Host, url) {
						targets = append(targets, SocketRef{Instance: b.inst.Name, Socket: b.sock.Name})
					}
					if len(targets) == 0 && len(e.hostOrder) > 0 {
						if away := binds.elsewhere(inst.Host, url); len(away) > 0 {
							diags = append(diags, e.connectElsewhere(inst, s, c, away[0]))
							continue
						}
					}
					if len(targets) == 0 {
						urls := binds.urls(inst.Host)
						diags = append(diags, warnAt(c.Range, "Connect to an endpoint no node binds",
							fmt.Sprintf("No node in this topology binds %s. That is fine for an external peer; otherwise check the address.%s", c.URL, didYouMean(c.URL, urls))))
					}
				}
				for _, tg := range targets {
					if len(t.Edges) >= MaxEdges {
						if !edgesCapped {
							edgesCapped = true
							diags = append(diags, errorAt(c.Range, "Too many edges",
								fmt.Sprintf("The topology wires more than %d socket pairs (counted nodes connecting to counted nodes multiply). Reduce count or use a proxy node between the groups.", MaxEdges)))
						}
						break
					}
					peer := instByName[tg.Instance]
					if peer == nil {
						continue
					}
					ps := peer.Socket(tg.Socket)
					if ps == nil {
						continue
					}
					edge := &Edge{
						Connect:     SocketRef{Instance: inst.Name, Socket: s.Name},
						Bind:        tg,
						ConnectType: s.Type,
						BindType:    ps.Type,
						Endpoint:    c.URL,
						ConnectHost: inst.Host,
						BindHost:    peer.Host,
						CrossHost:   e.crossHost(inst.Host, peer.Host),
						Range:       c.Range,
					}
					t.Edges = append(t.Edges, edge)
					diags = append(diags, checkEdge(edge, inst, peer)...)
					if edge.CrossHost && edge.PeerLoss != "" {
						edge.PeerLoss += "; across hosts the same happens when either host's topo apply stops or the network between them fails (ZeroMQ reconnects once it is back)"
					}
				}
			}
		}
	}
	return diags
}

func replicaHint(a, b *Instance, hosts bool) string {
	if a.Node == b.Node && a.Node.Count >= 0 {
		spread := ""
		if hosts {
			spread = ", or place the replicas on different hosts"
		}
		return fmt.Sprintf(" (for replicas, use count.index: \"tcp://127.0.0.1:${5000 + count.index}\", or an ephemeral port tcp://127.0.0.1:0%s)", spread)
	}
	return ""
}

// checkEdge checks one wired pair: socket types, and inproc across a
// process or host boundary. It sets the edge's Lossy and PeerLoss explanations.
func checkEdge(edge *Edge, conn, bind *Instance) hcl.Diagnostics {
	var diags hcl.Diagnostics
	a, b := edge.ConnectType, edge.BindType
	if a == "" || b == "" {
		return nil // a bad type was reported already
	}
	if !Compatible(a, b) {
		talks := fmt.Sprintf("A %s socket talks to %s", a, strings.Join(peersOf(a), " or "))
		if a != b {
			talks += fmt.Sprintf("; a %s socket talks to %s", b, strings.Join(peersOf(b), " or "))
		}
		diags = append(diags, errorAt(edge.Range, "Incompatible socket types",
			fmt.Sprintf("%s (%s) connects to %s (%s), but ZeroMQ does not pair %s with %s: the handshake fails. %s.",
				edge.Connect, a, edge.Bind, b, a, b, talks)))
		return diags
	}
	edge.Lossy = lossiness(a, b)
	edge.PeerLoss = peerLoss(a, b)
	if strings.HasPrefix(edge.Endpoint, "inproc://") {
		why := ""
		switch {
		case conn.Node.Isolation == "process":
			why = fmt.Sprintf("%s runs in its own process (isolation = %q, kind %q)", conn.Name, conn.Node.Isolation, conn.Node.Kind)
		case bind.Node.Isolation == "process":
			why = fmt.Sprintf("%s runs in its own process (isolation = %q, kind %q)", bind.Name, bind.Node.Isolation, bind.Node.Kind)
		case conn.Host != bind.Host:
			why = fmt.Sprintf("%s is placed on %s and %s on %s", conn.Name, hostName(conn.Host), bind.Name, hostName(bind.Host))
		}
		if why != "" {
			diags = append(diags, errorAt(edge.Range, "inproc:// endpoint crosses a process boundary",
				fmt.Sprintf("%s connects to %s over %s, but %s. inproc:// only works inside one process: use ipc:// or tcp:// for this edge.",
					edge.Connect, edge.Bind, edge.Endpoint, why)))
		}
	}
	return diags
}

// connectElsewhere warns about a literal connect that no instance on its
// own host binds but one on another host does: the address is that host's
// loopback or ipc, which this host does not share.
func (e *evaluator) connectElsewhere(inst *Instance, s *Socket, c Endpoint, b boundSocket) *hcl.Diagnostic {
	hint := fmt.Sprintf("refer to the socket (node.%s.%s)", b.inst.Node.Name, b.sock.Name)
	if b.inst.Node.Count >= 0 {
		hint = fmt.Sprintf("refer to the socket (node.%s[%d].%s)", b.inst.Node.Name, b.inst.Index, b.sock.Name)
	}
	if h := e.hosts[b.inst.Host]; h != nil && h.Address != "" && b.ep.Transport == "tcp" {
		r := b.ep.Connectable()
		r.Host = h.Address
		hint = fmt.Sprintf("connect to %s on its host's address, or %s", r, hint)
	}
	return warnAt(c.Range, "Connect to an endpoint bound on another host",
		fmt.Sprintf("%s.%s on %s connects to %s, which no instance on that host binds; %s.%s binds it on %s, another machine. If you meant that socket, %s. (An external peer on %s at this address is fine.)",
			inst.Name, s.Name, hostName(inst.Host), c.URL, b.inst.Name, b.sock.Name, hostName(b.inst.Host), hint, hostName(inst.Host)))
}
