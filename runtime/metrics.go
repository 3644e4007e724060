package runtime

import (
	"github.com/prometheus/client_golang/prometheus"

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
	return c
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.restarts, c.state, c.held, c.approxMe,
		c.sent, c.recv, c.bytesSent, c.bytesRecv, c.dropped, c.peers, c.subscribers,
		c.expected, c.connects, c.disconnects, c.handshakeFailures} {
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
	hosts := map[string]string{}
	if c.hosts {
		for _, in := range c.r.topo.Instances {
			hosts[in.Name] = in.Host
		}
	}
	socks := c.r.Sockets()
	for _, st := range c.r.Status() {
		nl := []string{st.Name, st.Kind}
		if c.hosts {
			nl = append(nl, hosts[st.Name])
		}
		g := func(d *prometheus.Desc, v float64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append(nl, extra...)...)
		}
		up := 0.0
		if st.State == StateRunning {
			up = 1
		}
		g(c.up, up)
		ch <- prometheus.MustNewConstMetric(c.restarts, prometheus.CounterValue, float64(st.Restarts), nl...)
		ch <- prometheus.MustNewConstMetric(c.held, prometheus.CounterValue, float64(st.Held), nl...)
		g(c.approxMe, b2f(st.Approx))
		for _, s := range states {
			g(c.state, b2f(st.State == s), string(s))
		}
		for _, s := range socks[st.Name] {
			sl := []string{st.Name, st.Kind, s.Name, string(s.Type)}
			if c.hosts {
				sl = append(sl, hosts[st.Name])
			}
			ctr := func(d *prometheus.Desc, v uint64, extra ...string) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append(sl, extra...)...)
			}
			gauge := func(d *prometheus.Desc, v int) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), sl...)
			}
			ss := s.Stats
			ctr(c.sent, ss.MsgsOut)
			ctr(c.recv, ss.MsgsIn)
			ctr(c.bytesSent, ss.BytesOut)
			ctr(c.bytesRecv, ss.BytesIn)
			ctr(c.dropped, ss.Dropped, dropReason(s.Type))
			if s.Type == socket.PUB || s.Type == socket.XPUB {
				ctr(c.dropped, ss.SubLimited, "subscription_limit")
			}
			gauge(c.peers, ss.Peers)
			gauge(c.subscribers, ss.Subscribers)
			gauge(c.expected, s.Expect)
			ctr(c.connects, ss.Connects)
			ctr(c.disconnects, ss.Disconnects)
			ctr(c.handshakeFailures, ss.HandshakeFailures)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
