package runtime

import (
	"errors"
	"fmt"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/topo-zmq/topo/runtime/socket"
)

// SocketStatus is a snapshot of one socket of a node instance.
type SocketStatus struct {
	Name string
	Type socket.Type
	// Expect is how many in-topology peers the socket waits for before
	// its node's body starts (PUB and XPUB: subscribers).
	Expect int
	// Stats are the socket's counters. The counters (MsgsIn, BytesOut,
	// Dropped, Connects, ...) add up every actor the instance had, across
	// restarts; Peers, Subscribers and Conns are the live actor's, empty
	// while the instance is not running. A goroutine node's are read
	// when Sockets is called; a process node's are the last stats poll's
	// (Options.StatsInterval), as in NodeStatus.
	Stats socket.Stats
}

// Sockets returns a snapshot of every instance's sockets, keyed by
// instance name, each in the order the topology declares them. Safe to
// call concurrently with Run and after it; empty before Run has prepared
// the nodes.
func (r *Runtime) Sockets() map[string][]SocketStatus {
	r.mu.Lock()
	nodes := r.nodes
	r.mu.Unlock()
	out := make(map[string][]SocketStatus, len(nodes))
	for _, n := range nodes {
		n.mu.Lock()
		last := n.sockLast
		if n.actor != nil && !n.process {
			last = n.actor.Stats() // atomic reads: cheap
		}
		ss := make([]SocketStatus, 0, len(n.spec.Sockets))
		for _, s := range n.spec.Sockets {
			st := last[s.Name]
			addCounters(&st, n.sockBase[s.Name])
			ss = append(ss, SocketStatus{Name: s.Name, Type: s.Type, Expect: s.Expect, Stats: st})
		}
		n.mu.Unlock()
		out[n.inst.Name] = ss
	}
	return out
}

// NodeWaiting is an instance that has not passed its ready phase yet.
type NodeWaiting struct {
	Node  string `json:"node"`
	State State  `json:"state"`
	// Sockets lists its sockets still short of their expected peers
	// ("in: 1/2 peers"); a node not started yet lists every socket that
	// expects peers.
	Sockets []string `json:"sockets,omitempty"`
}

// Readiness reports the instances that have not passed their ready
// phase yet (their sockets have the peers the topology expects, or the
// readiness timeout passed: EventReady), in topology order. It is empty
// once every instance has, and stays empty for the rest of the run,
// through restarts and finished tasks. Before Run has prepared the
// nodes, ok is false.
func (r *Runtime) Readiness() (short []NodeWaiting, ok bool) {
	r.mu.Lock()
	nodes := r.nodes
	r.mu.Unlock()
	if nodes == nil {
		return nil, false
	}
	for _, n := range nodes {
		n.mu.Lock()
		if n.readied {
			n.mu.Unlock()
			continue
		}
		w := NodeWaiting{Node: n.inst.Name, State: n.state}
		a, spec := n.actor, n.spec
		n.mu.Unlock()
		if a != nil {
			w.Sockets = waiting(spec, a, r.hostOf)
		} else {
			for _, s := range spec.Sockets {
				if s.Expect > 0 {
					w.Sockets = append(w.Sockets, fmt.Sprintf("%s: 0/%d %s", s.Name, s.Expect, peersWord(s.Type)))
				}
			}
			sort.Strings(w.Sockets)
		}
		short = append(short, w)
	}
	return short, true
}

func peersWord(t socket.Type) string {
	if t == socket.PUB || t == socket.XPUB {
		return "subscribers"
	}
	return "peers"
}

// Healthy returns nil while Run is under way and no instance has failed
// for good (exhausted its restarts, ErrRestartLimit, or failed with a
// policy that does not restart it, ErrNodeFailed); otherwise an error
// saying which, or that the runtime is not running.
func (r *Runtime) Healthy() error {
	r.mu.Lock()
	live := r.live
	r.mu.Unlock()
	if !live {
		return errors.New("runtime not running")
	}
	var errs []error
	for _, st := range r.Status() {
		if errors.Is(st.Err, ErrRestartLimit) || errors.Is(st.Err, ErrNodeFailed) {
			errs = append(errs, st.Err)
		}
	}
	return errors.Join(errs...)
}

// observe marks the run live and registers the metrics collector on
// Options.Registerer; the returned func undoes both.
func (r *Runtime) observe() (func(), error) {
	var c prometheus.Collector
	if r.opts.Registerer != nil {
		c = r.Collector()
		if err := r.opts.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("runtime: registering metrics: %w", err)
		}
	}
	r.mu.Lock()
	r.live = true
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.live = false
		r.mu.Unlock()
		r.closeTaps()
		if c != nil {
			r.opts.Registerer.Unregister(c)
		}
	}, nil
}

// addSocketStats folds st's counters into base (allocated if nil).
func addSocketStats(base, st map[string]socket.Stats) map[string]socket.Stats {
	if base == nil {
		base = make(map[string]socket.Stats, len(st))
	}
	for name, s := range st {
		b := base[name]
		addCounters(&b, s)
		base[name] = b
	}
	return base
}

// addCounters adds b's monotonic counters to a (not Peers, Subscribers, Conns).
func addCounters(a *socket.Stats, b socket.Stats) {
	a.MsgsIn += b.MsgsIn
	a.MsgsOut += b.MsgsOut
	a.BytesIn += b.BytesIn
	a.BytesOut += b.BytesOut
	a.Dropped += b.Dropped
	a.Connects += b.Connects
	a.Disconnects += b.Disconnects
	a.HandshakeFailures += b.HandshakeFailures
	a.Subscribes += b.Subscribes
	a.SubLimited += b.SubLimited
	a.SendBlocked += b.SendBlocked
	if len(b.Edges) > 0 {
		a.Edges = addEdges(a.Edges, b.Edges)
	}
}

// addEdges returns a's edges with b's counters added (a new slice: a may
// be shared). Queue depths are a's: b's actor is gone.
func addEdges(a, b []socket.EdgeStats) []socket.EdgeStats {
	out := append([]socket.EdgeStats(nil), a...)
	for _, e := range b {
		found := false
		for i := range out {
			if out[i].Peer == e.Peer && out[i].External == e.External {
				out[i].Sent += e.Sent
				out[i].Received += e.Received
				found = true
				break
			}
		}
		if !found {
			out = append(out, socket.EdgeStats{Peer: e.Peer, External: e.External, Sent: e.Sent, Received: e.Received})
		}
	}
	return out
}
