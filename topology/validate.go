package topology

import (
	"container/heap"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/internal/endpoint"
)

// validate runs the checks that need the whole evaluated topology, fills
// t.Edges and t.StartOrder, and returns the diagnostics.
func (e *evaluator) validate(t *Topology) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, nd := range e.nodes {
		diags = append(diags, e.checkSockets(nd)...)
	}
	type bound struct {
		ep   endpoint.Endpoint
		inst *Instance
		sock *Socket
		rng  hcl.Range
	}
	// Binds by connectable URL (for literal connects) and by port or
	// address (for conflicts).
	byURL := map[string][]bound{}
	byKey := map[string][]bound{}
	wildcardWarned := map[hcl.Range]bool{}
	for _, inst := range t.Instances {
		for _, s := range inst.Sockets {
			for _, b := range s.Bind {
				ep, err := endpoint.Parse(b.URL, true)
				if err != nil {
					continue // reported when evaluated
				}
				me := bound{ep: ep, inst: inst, sock: s, rng: b.Range}
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
					for _, b := range byURL[url] {
						targets = append(targets, SocketRef{Instance: b.inst.Name, Socket: b.sock.Name})
					}
					if len(targets) == 0 {
						var urls []string
						for u := range byURL {
							urls = append(urls, u)
						}
						slices.Sort(urls)
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
						Range:       c.Range,
					}
					t.Edges = append(t.Edges, edge)
					diags = append(diags, checkEdge(edge, inst, peer)...)
				}
			}
		}
	}
	t.StartOrder = e.startOrder(t)
	return diags
}

func replicaHint(a, b *Instance) string {
	if a.Node == b.Node && a.Node.Count >= 0 {
		return fmt.Sprintf(" (for replicas, use count.index: \"tcp://127.0.0.1:${5000 + count.index}\", or an ephemeral port tcp://127.0.0.1:0)")
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
		case conn.Node.Host != bind.Node.Host:
			why = fmt.Sprintf("%s is placed on %s and %s on %s", conn.Name, hostName(conn.Node.Host), bind.Name, hostName(bind.Node.Host))
		}
		if why != "" {
			diags = append(diags, errorAt(edge.Range, "inproc:// endpoint crosses a process boundary",
				fmt.Sprintf("%s connects to %s over %s, but %s. inproc:// only works inside one process: use ipc:// or tcp:// for this edge.",
					edge.Connect, edge.Bind, edge.Endpoint, why)))
		}
	}
	return diags
}

// checkSockets checks a node's socket blocks against its kind, and the
// per-socket rules that need no peer.
func (e *evaluator) checkSockets(nd *nodeDecl) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, sd := range nd.sockets {
		if sd.attrs["bind"] == nil && sd.attrs["connect"] == nil && !sd.malformed {
			diags = append(diags, errorAt(sd.block.DefRange, "Socket has no endpoint",
				fmt.Sprintf("Socket %q of node %q neither binds nor connects. Add bind = [\"tcp://127.0.0.1:5000\"] or connect = [node.OTHER.SOCKET].", sd.name, nd.n.Name)))
		}
	}
	for _, inst := range nd.instances {
		for _, s := range inst.Sockets {
			sd := nd.socketByName[s.Name]
			if s.Type != "" && s.Type != "SUB" && sd.attrs["subscribe"] != nil {
				diags = append(diags, errorAt(sd.attrs["subscribe"].NameRange, "subscribe on a non-SUB socket",
					fmt.Sprintf("Socket %q is %s; only SUB sockets take subscribe. Remove it, or make the socket a SUB.", s.Name, s.Type)))
			}
			if s.Type == "SUB" && len(s.Subscribe) == 0 && !nd.selfSubscribes(s.Name) {
				r := sd.block.DefRange
				if a := sd.attrs["subscribe"]; a != nil {
					r = a.Expr.Range()
				}
				diags = append(diags, warnAt(r, "SUB socket with no subscription",
					fmt.Sprintf("Socket %q of %s subscribes to nothing, so it receives nothing. Add subscribe = [\"\"] to receive every message, or a prefix to filter.", s.Name, inst.Name)))
			}
			if (sd.attrs["bind"] != nil || sd.attrs["connect"] != nil) && len(s.Bind)+len(s.Connect) == 0 && !e.failed[s] {
				diags = append(diags, warnAt(sd.block.DefRange, "Socket has no endpoint",
					fmt.Sprintf("Socket %q of %s has bind/connect lists that evaluate to no endpoint; it will not be wired.", s.Name, inst.Name)))
			}
		}
	}
	ks := nd.schema
	if ks == nil {
		return diags
	}
	var declared []string
	for _, ss := range ks.Sockets {
		declared = append(declared, ss.Name)
	}
	for _, sd := range nd.sockets {
		var ss *SocketSchema
		for i := range ks.Sockets {
			if ks.Sockets[i].Name == sd.name {
				ss = &ks.Sockets[i]
			}
		}
		if ss == nil {
			diags = append(diags, errorAt(sd.block.LabelRanges[0], "Unsupported socket",
				fmt.Sprintf("Kind %q has no socket named %q; its sockets: %s.%s", ks.Name, sd.name, listOrNone(declared), didYouMean(sd.name, declared))))
			continue
		}
		if len(ss.Types) == 0 || len(nd.instances) == 0 {
			continue
		}
		typ := nd.instances[0].Socket(sd.name).Type
		if typ != "" && !slices.Contains(ss.Types, typ) {
			r := sd.block.DefRange
			if a := sd.attrs["type"]; a != nil {
				r = a.Expr.Range()
			}
			diags = append(diags, errorAt(r, "Socket type not accepted by the kind",
				fmt.Sprintf("Socket %q of kind %q must be %s, not %s.", sd.name, ks.Name, strings.Join(ss.Types, " or "), typ)))
		}
	}
	for _, ss := range ks.Sockets {
		if ss.Optional {
			continue
		}
		if _, ok := nd.socketByName[ss.Name]; !ok {
			types := "any type"
			if len(ss.Types) > 0 {
				types = strings.Join(ss.Types, " or ")
			}
			diags = append(diags, errorAt(nd.block.DefRange, "Missing socket",
				fmt.Sprintf("Kind %q needs a socket %q (%s)%s. Add socket %q { type = \"%s\" ... } to node %q.",
					ks.Name, ss.Name, types, docSuffix(ss.Doc), ss.Name, firstOr(ss.Types, "TYPE"), nd.n.Name)))
		}
	}
	return diags
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

// startOrder lists instances with every depends_on target first and,
// where no cycle prevents it, binders before their connectors; ties go in
// file order.
func (e *evaluator) startOrder(t *Topology) []string {
	n := len(t.Instances)
	idx := make(map[string]int, n)
	for i, inst := range t.Instances {
		idx[inst.Name] = i
	}
	hardIn := make([]int, n)
	softIn := make([]int, n)
	hardOut := make([][]int, n)
	softOut := make([][]int, n)
	byNode := map[*Node][]int{}
	for i, inst := range t.Instances {
		byNode[inst.Node] = append(byNode[inst.Node], i)
	}
	for _, nd := range e.nodes {
		for _, dep := range nd.dependsOn {
			for _, from := range byNode[dep.n] {
				for _, to := range byNode[nd.n] {
					hardOut[from] = append(hardOut[from], to)
					hardIn[to]++
				}
			}
		}
	}
	seen := map[[2]int]bool{}
	for _, ed := range t.Edges {
		from, ok1 := idx[ed.Bind.Instance]
		to, ok2 := idx[ed.Connect.Instance]
		if !ok1 || !ok2 || from == to || seen[[2]int{from, to}] {
			continue
		}
		seen[[2]int{from, to}] = true
		softOut[from] = append(softOut[from], to)
		softIn[to]++
	}
	// ready: free of every constraint; free: free of depends_on only (the
	// fallback when bind/connect edges form a loop). Both are min-heaps of
	// file indexes with lazy deletion.
	var ready, free intHeap
	for i := 0; i < n; i++ {
		if hardIn[i] == 0 {
			heap.Push(&free, i)
			if softIn[i] == 0 {
				heap.Push(&ready, i)
			}
		}
	}
	done := make([]bool, n)
	order := make([]string, 0, n)
	for len(order) < n {
		pick := -1
		for ready.Len() > 0 && pick < 0 {
			if i := heap.Pop(&ready).(int); !done[i] {
				pick = i
			}
		}
		for free.Len() > 0 && pick < 0 {
			if i := heap.Pop(&free).(int); !done[i] {
				pick = i
			}
		}
		if pick < 0 { // cannot happen: depends_on cycles were broken
			for i := 0; i < n && pick < 0; i++ {
				if !done[i] {
					pick = i
				}
			}
		}
		done[pick] = true
		order = append(order, t.Instances[pick].Name)
		for _, to := range hardOut[pick] {
			if hardIn[to]--; hardIn[to] == 0 {
				heap.Push(&free, to)
				if softIn[to] <= 0 {
					heap.Push(&ready, to)
				}
			}
		}
		for _, to := range softOut[pick] {
			if softIn[to]--; softIn[to] == 0 && hardIn[to] == 0 {
				heap.Push(&ready, to)
			}
		}
	}
	return order
}

func hostName(h string) string {
	if h == "" {
		return "the default host"
	}
	return fmt.Sprintf("host %q", h)
}

// intHeap is a min-heap of ints for container/heap.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// selfSubscribes reports whether the node's kind subscribes the socket by
// itself when the topology sets no subscribe.
func (nd *nodeDecl) selfSubscribes(socket string) bool {
	if nd.schema == nil {
		return false
	}
	for _, ss := range nd.schema.Sockets {
		if ss.Name == socket {
			return ss.Subscribes
		}
	}
	return false
}
