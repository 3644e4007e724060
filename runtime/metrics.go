package runtime

import (
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/topo-zmq/topo/runtime/socket"
)

// states lists every State, for topo_node_state.
var states = [...]State{StatePending, StateStarting, StateRunning, StateRestarting, StateFinished, StateFailed, StateStopped}

// collector reads Status and Sockets at scrape time: nothing on the hot
// path. Its descriptions are fixed when it is made.
type collector struct {
	r     *Runtime
	hosts bool // the topology declares hosts: every series has a "host" label

	up, restarts, state                         *prometheus.Desc
	sent, recv, bytesSent, bytesRecv, dropped   *prometheus.Desc
	peers, subscribers, connects, disconnects   *prometheus.Desc
	handshakeFailures, expected, held, approxMe *prometheus.Desc
	blocked, edgeMsgs, edgeQueued               *prometheus.Desc

	nodeL, stateL, sockL, reasonL []string // label names

	mu     sync.Mutex
	cache  map[string][]*dto.LabelPair // pairs
	layout []nodeLayout                // layoutFor
}

// Collector returns a prometheus.Collector of the run's series, read
// from Status and Sockets at each scrape (see the README's "Operating
// it" for the list). Options.Registerer registers one for you; Collector
// is for a registry you manage yourself. Safe for concurrent scrapes.
func (r *Runtime) Collector() prometheus.Collector {
	c := &collector{r: r}
	if r.topo != nil {
		for _, in := range r.topo.Instances {
			c.hosts = c.hosts || in.Host != ""
		}
	}
	nodeL := []string{"node", "kind"}
	sockL := []string{"node", "kind", "socket", "type"}
	if c.hosts {
		nodeL = append(nodeL, "host")
		sockL = append(sockL, "host")
	}
	c.nodeL, c.sockL = nodeL, sockL
	c.stateL = append(append([]string(nil), nodeL...), "state")
	c.reasonL = append(append([]string(nil), sockL...), "reason")
	d := func(name, help string, labels []string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append(append([]string(nil), labels...), extra...), nil)
	}
	c.up = d("topo_node_up", "1 while the node instance's body runs, else 0.", nodeL)
	c.restarts = d("topo_node_restarts_total", "Restarts of the node instance.", nodeL)
	c.state = d("topo_node_state", "1 for the node instance's current state, 0 for the others.", nodeL, "state")
	c.held = d("topo_node_held_messages_total", "Messages the instance held when it went down (NodeStatus.Held).", nodeL)
	c.approxMe = d("topo_node_counts_approximate", "1 when a process node's counts may miss messages (NodeStatus.Approx).", nodeL)
	c.sent = d("topo_socket_messages_sent_total", "Messages sent by the application on the socket, across restarts.", sockL)
	c.recv = d("topo_socket_messages_received_total", "Messages received by the application from the socket, across restarts.", sockL)
	c.bytesSent = d("topo_socket_bytes_sent_total", "Message bytes sent on the socket, across restarts.", sockL)
	c.bytesRecv = d("topo_socket_bytes_received_total", "Message bytes received from the socket, across restarts.", sockL)
	c.dropped = d("topo_socket_dropped_messages_total", "Messages the socket dropped, by reason (see the README: which reasons are told apart).", sockL, "reason")
	c.peers = d("topo_socket_peers", "Connections past their handshake right now.", sockL)
	c.subscribers = d("topo_socket_subscribers", "PUB/XPUB: peers that sent at least one subscription, right now.", sockL)
	c.expected = d("topo_socket_expected_peers", "In-topology peers the socket waits for before its node's body starts.", sockL)
	c.connects = d("topo_socket_connects_total", "Handshakes completed, across restarts.", sockL)
	c.disconnects = d("topo_socket_disconnects_total", "Connections lost or closed after their handshake, across restarts.", sockL)
	c.handshakeFailures = d("topo_socket_handshake_failures_total", "Connections whose ZMTP handshake failed, across restarts.", sockL)
	c.blocked = d("topo_socket_send_blocked_seconds_total", "Time Send waited with every peer at its high-water mark (back-pressure), across restarts.", sockL)
	c.edgeMsgs = d("topo_edge_messages_total", "Messages a socket queued towards a peer socket, by the sockets' names (node.socket); a peer outside the topology is \"external\".", []string{"from", "to"})
	c.edgeQueued = d("topo_edge_queued_messages", "Messages waiting on the edge now: in the sender's queue towards the peer and the receiver's queue for Recv.", []string{"from", "to"})
	return c
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.restarts, c.state, c.held, c.approxMe,
		c.sent, c.recv, c.bytesSent, c.bytesRecv, c.dropped, c.peers, c.subscribers,
		c.expected, c.connects, c.disconnects, c.handshakeFailures, c.blocked, c.edgeMsgs, c.edgeQueued} {
		ch <- d
	}
}

// dropReason is the reason Stats.Dropped is reported under for a socket
// of type t: the socket layer has one counter, so a type's drops all go
// under the reason that type's drops mostly have.
func dropReason(t socket.Type) string {
	switch t {
	case socket.PUB, socket.XPUB, socket.SUB, socket.XSUB:
		return "hwm"
	case socket.ROUTER:
		return "unroutable"
	case socket.REP:
		return "no_peer"
	}
	return "other"
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	socks := c.r.Sockets()
	edges := edgeSeries(socks)
	status := c.r.Status()
	lay := c.layoutFor(status, socks)
	n := len(edges) * 2
	for _, nl := range lay {
		n += 4 + len(states) + 13*len(nl.socks) + len(nl.drops)
	}
	// One allocation for every sample of the scrape; their label pairs
	// are made once per run (layoutFor, pairs) and shared by every scrape.
	buf := make([]sample, 0, n)
	emit := func(d *prometheus.Desc, counter bool, v float64, l []*dto.LabelPair) {
		buf = append(buf, sample{desc: d, counter: counter, v: v, labels: l})
		ch <- &buf[len(buf)-1]
	}
	// The registry sorts each family's series by their label values;
	// the layout's order is that order already, so its sort only checks.
	for _, nl := range lay {
		st := &status[nl.status]
		ns := socks[st.Name]
		up := 0.0
		if st.State == StateRunning {
			up = 1
		}
		emit(c.up, false, up, nl.labels)
		emit(c.restarts, true, float64(st.Restarts), nl.labels)
		emit(c.held, true, float64(st.Held), nl.labels)
		emit(c.approxMe, false, b2f(st.Approx), nl.labels)
		for _, sl := range nl.states {
			emit(c.state, false, b2f(st.State == sl.state), sl.labels)
		}
		for _, d := range nl.drops {
			ss := &ns[d.sock].Stats
			v := ss.Dropped
			if d.subLimit {
				v = ss.SubLimited
			}
			emit(c.dropped, true, float64(v), d.labels)
		}
		for _, sl := range nl.socks {
			s := &ns[sl.sock]
			ss := &s.Stats
			l := sl.labels
			emit(c.sent, true, float64(ss.MsgsOut), l)
			emit(c.recv, true, float64(ss.MsgsIn), l)
			emit(c.bytesSent, true, float64(ss.BytesOut), l)
			emit(c.bytesRecv, true, float64(ss.BytesIn), l)
			emit(c.peers, false, float64(ss.Peers), l)
			emit(c.subscribers, false, float64(ss.Subscribers), l)
			emit(c.expected, false, float64(s.Expect), l)
			emit(c.connects, true, float64(ss.Connects), l)
			emit(c.disconnects, true, float64(ss.Disconnects), l)
			emit(c.handshakeFailures, true, float64(ss.HandshakeFailures), l)
			emit(c.blocked, true, ss.SendBlocked.Seconds(), l)
		}
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].from != edges[j].from {
			return edges[i].from < edges[j].from
		}
		return edges[i].to < edges[j].to
	})
	for _, e := range edges {
		el := c.pairs(edgeL, []string{e.from, e.to})
		if e.msgs {
			emit(c.edgeMsgs, true, float64(e.sent), el)
		}
		emit(c.edgeQueued, false, float64(e.queued), el)
	}
}

// nodeLayout is one node instance's series at every scrape: their label
// pairs, made once per run, in the order the registry sorts them.
type nodeLayout struct {
	name   string // the instance, to tell a stale layout
	status int    // index in Status
	labels []*dto.LabelPair
	states []stateLayout
	socks  []sockLayout // by socket name
	drops  []dropLayout // by reason, then socket name
}

type stateLayout struct {
	state  State
	labels []*dto.LabelPair
}

type sockLayout struct {
	sock   int // index in the node's Sockets
	labels []*dto.LabelPair
}

type dropLayout struct {
	sock     int
	subLimit bool // Stats.SubLimited under "subscription_limit", else Stats.Dropped
	labels   []*dto.LabelPair
}

// layoutFor returns the layout of status's nodes, in the order of their
// sorted label values (host, kind, node): made at the first scrape that
// sees them and kept while the run's instances and their sockets stay the
// same (they do for a run; a scrape before Run prepared the nodes sees none).
func (c *collector) layoutFor(status []NodeStatus, socks map[string][]SocketStatus) []nodeLayout {
	c.mu.Lock()
	lay := c.layout
	c.mu.Unlock()
	if layoutFits(lay, status, socks) {
		return lay
	}
	var hosts map[string]string
	if c.hosts {
		hosts = map[string]string{}
		for _, in := range c.r.topo.Instances {
			hosts[in.Name] = in.Host
		}
	}
	lay = make([]nodeLayout, 0, len(status))
	for i, st := range status {
		nv := []string{st.Name, st.Kind}
		if c.hosts {
			nv = append(nv, hosts[st.Name])
		}
		nl := nodeLayout{name: st.Name, status: i, labels: c.pairs(c.nodeL, nv)}
		for _, s := range states {
			nl.states = append(nl.states, stateLayout{s, c.pairs(c.stateL, append(nv[:len(nv):len(nv)], string(s)))})
		}
		sort.Slice(nl.states, func(a, b int) bool { return nl.states[a].state < nl.states[b].state })
		type drop struct {
			reason, sock string
			d            dropLayout
		}
		var drops []drop
		ns := socks[st.Name]
		for j, s := range ns {
			sv := []string{st.Name, st.Kind, s.Name, string(s.Type)}
			if c.hosts {
				sv = append(sv, hosts[st.Name])
			}
			nl.socks = append(nl.socks, sockLayout{sock: j, labels: c.pairs(c.sockL, sv)})
			r := dropReason(s.Type)
			drops = append(drops, drop{r, s.Name, dropLayout{sock: j, labels: c.pairs(c.reasonL, append(sv[:len(sv):len(sv)], r))}})
			if s.Type == socket.PUB || s.Type == socket.XPUB {
				r := "subscription_limit"
				drops = append(drops, drop{r, s.Name, dropLayout{sock: j, subLimit: true, labels: c.pairs(c.reasonL, append(sv[:len(sv):len(sv)], r))}})
			}
		}
		sort.Slice(nl.socks, func(a, b int) bool { return ns[nl.socks[a].sock].Name < ns[nl.socks[b].sock].Name })
		sort.Slice(drops, func(a, b int) bool {
			if drops[a].reason != drops[b].reason {
				return drops[a].reason < drops[b].reason
			}
			return drops[a].sock < drops[b].sock
		})
		for _, d := range drops {
			nl.drops = append(nl.drops, d.d)
		}
		lay = append(lay, nl)
	}
	// Every node family's labels sort as host, kind, node.
	sort.SliceStable(lay, func(a, b int) bool {
		x, y := status[lay[a].status], status[lay[b].status]
		if c.hosts && hosts[x.Name] != hosts[y.Name] {
			return hosts[x.Name] < hosts[y.Name]
		}
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		return x.Name < y.Name
	})
	c.mu.Lock()
	c.layout = lay
	c.mu.Unlock()
	return lay
}

// layoutFits reports whether lay was made for these nodes and sockets.
func layoutFits(lay []nodeLayout, status []NodeStatus, socks map[string][]SocketStatus) bool {
	if len(lay) != len(status) || len(lay) == 0 {
		return false
	}
	for _, nl := range lay {
		if nl.status >= len(status) || status[nl.status].Name != nl.name || len(socks[nl.name]) != len(nl.socks) {
			return false
		}
	}
	return true
}

var edgeL = []string{"from", "to"}

// pairs returns the label pairs names=values, sorted by name as the
// registry wants them, made on first use and kept for the run: the
// nodes, sockets and edges of a run are fixed, so every scrape after the
// first allocates no label. Safe for concurrent scrapes.
func (c *collector) pairs(names, values []string) []*dto.LabelPair {
	var key strings.Builder
	key.WriteByte(byte(len(values)))
	key.WriteString(names[len(names)-1]) // with the count, tells the label sets apart
	for _, v := range values {
		key.WriteByte(0xff)
		key.WriteString(v)
	}
	k := key.String()
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.cache[k]; ok {
		return p
	}
	// Copies: the callers reuse their slices.
	names, values = append([]string(nil), names...), append([]string(nil), values...)
	p := make([]*dto.LabelPair, len(names))
	lp := make([]dto.LabelPair, len(names)) // together: the registry reads them one after another
	for i := range names {
		lp[i].Name, lp[i].Value = &names[i], &values[i]
		p[i] = &lp[i]
	}
	sort.Slice(p, func(i, j int) bool { return *p[i].Name < *p[j].Name })
	if c.cache == nil {
		c.cache = map[string][]*dto.LabelPair{}
	}
	c.cache[k] = p
	return p
}

// sample is one series' value at a scrape: a prometheus.Metric that
// writes label pairs made once (collector.pairs).
type sample struct {
	desc    *prometheus.Desc
	counter bool
	v       float64
	labels  []*dto.LabelPair
}

func (s *sample) Desc() *prometheus.Desc { return s.desc }

func (s *sample) Write(m *dto.Metric) error {
	m.Label = s.labels
	if s.counter {
		m.Counter = &dto.Counter{Value: &s.v}
	} else {
		m.Gauge = &dto.Gauge{Value: &s.v}
	}
	return nil
}

// edgeSample is one edge's series: from and to are socket names
// ("node.socket") or "external".
type edgeSample struct {
	from, to string
	msgs     bool // some socket counts its messages
	sent     uint64
	queued   int
}

// External is the from or to of an edge whose peer is outside the
// topology (topo_edge_messages_total): a libzmq peer, another run, any
// address. One value whoever connects, so the series stay bounded.
const External = "external"

// edgeSeries folds the sockets' Stats.Edges into one sample per directed
// edge. An edge inside the topology is counted by its sender (what it
// routed to the peer) and queued on both sides (the sender's queue towards
// the peer, the receiver's queue for Recv); an edge from outside is
// counted by its receiver.
func edgeSeries(socks map[string][]SocketStatus) []edgeSample {
	var out []edgeSample
	idx := map[[2]string]int{}
	at := func(from, to string) *edgeSample {
		k := [2]string{from, to}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, edgeSample{from: from, to: to})
		}
		return &out[i]
	}
	names := make([]string, 0, len(socks))
	for n := range socks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, node := range names {
		for _, s := range socks[node] {
			self := node + "." + s.Name
			for _, e := range s.Stats.Edges {
				peer := e.Peer
				if e.External {
					peer = External
				}
				if s.Type.CanSend() {
					o := at(self, peer)
					o.msgs = true
					o.sent += e.Sent
					o.queued += e.QueuedOut
				}
				if s.Type.CanRecv() {
					i := at(peer, self)
					if e.External {
						i.msgs = true
						i.sent += e.Received
					}
					i.queued += e.QueuedIn
				}
			}
		}
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
