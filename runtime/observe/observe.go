package observe

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/socket"
)

// Handler serves /metrics (from g), /healthz, /readyz and /v1/status for
// r. g is the registry r's collector is registered on (runtime.Options.
// Registerer); nil leaves /metrics out.
func Handler(r *runtime.Runtime, g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	if g != nil {
		mux.Handle("GET /metrics", Metrics(g))
	}
	mux.Handle("GET /healthz", Healthz(r))
	mux.Handle("GET /readyz", Readyz(r))
	mux.Handle("GET /v1/status", Status(r))
	return mux
}

// Healthz answers 200 "ok" while r runs and no node has failed for good
// (runtime.Runtime.Healthy), else 503 with the reason as text.
func Healthz(r *runtime.Runtime) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := r.Healthy(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(err.Error() + "\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}

// ReadyBody is what /readyz answers, as JSON.
type ReadyBody struct {
	Ready bool `json:"ready"`
	// Waiting names the nodes that have not passed their ready phase
	// and their sockets still short of peers.
	Waiting []runtime.NodeWaiting `json:"waiting,omitempty"`
}

// Readyz answers 200 once every node of r's run has passed its ready
// phase (runtime.Runtime.Readiness), and from then on for the rest of
// the run; before that 503, with a ReadyBody naming the nodes and
// sockets still short.
func Readyz(r *runtime.Runtime) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		short, ok := r.Readiness()
		body := ReadyBody{Ready: ok && len(short) == 0, Waiting: short}
		code := http.StatusOK
		if !body.Ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, body)
	})
}

// StatusBody is what /v1/status answers, as JSON.
type StatusBody struct {
	Run   string       `json:"run"` // runtime.Runtime.RunID
	Time  time.Time    `json:"time"`
	Nodes []NodeStatus `json:"nodes"`
}

// NodeStatus is one node instance in StatusBody: runtime.NodeStatus
// with its sockets, under the names of apply's JSON summary record.
type NodeStatus struct {
	Name     string  `json:"name"`
	Kind     string  `json:"kind"`
	Task     bool    `json:"task"`
	State    string  `json:"state"`
	Restarts int     `json:"restarts"`
	MsgsIn   uint64  `json:"msgs_in"`
	MsgsOut  uint64  `json:"msgs_out"`
	RateIn   float64 `json:"rate_in"`
	RateOut  float64 `json:"rate_out"`
	Dropped  uint64  `json:"dropped"`
	// Blocked: seconds its sockets' Send waited at the high-water mark.
	Blocked float64        `json:"blocked_seconds"`
	Held    uint64         `json:"held"`
	Approx  bool           `json:"approx"`
	Err     string         `json:"err,omitempty"`
	Sockets []SocketStatus `json:"sockets"`
}

// SocketStatus is one socket in NodeStatus: runtime.SocketStatus.
type SocketStatus struct {
	Name              string `json:"name"`
	Type              string `json:"type"`
	Expect            int    `json:"expect"`
	Peers             int    `json:"peers"`
	Subscribers       int    `json:"subscribers"`
	MsgsIn            uint64 `json:"msgs_in"`
	MsgsOut           uint64 `json:"msgs_out"`
	BytesIn           uint64 `json:"bytes_in"`
	BytesOut          uint64 `json:"bytes_out"`
	Dropped           uint64 `json:"dropped"`
	SubLimited        uint64 `json:"sub_limited"`
	Connects          uint64 `json:"connects"`
	Disconnects       uint64 `json:"disconnects"`
	HandshakeFailures uint64 `json:"handshake_failures"`
	// SendBlocked: seconds Send waited at the high-water mark.
	SendBlocked float64 `json:"send_blocked_seconds"`
	Conns       []Conn  `json:"conns"`
	Edges       []Edge  `json:"edges"`
}

// Edge is what a socket exchanged with one peer, or with every external
// peer together: socket.EdgeStats.
type Edge struct {
	Peer      string `json:"peer,omitempty"` // the peer's "instance.socket"; empty when external
	External  bool   `json:"external"`
	Sent      uint64 `json:"sent"`
	Received  uint64 `json:"received"`
	QueuedOut int    `json:"queued_out"`
	QueuedIn  int    `json:"queued_in"`
}

// Conn is one connection of a socket: socket.PeerInfo.
type Conn struct {
	Endpoint string `json:"endpoint"`
	Addr     string `json:"addr"`
	Peer     string `json:"peer,omitempty"` // the peer's "instance.socket", if it announced one
	External bool   `json:"external"`
}

// Snapshot returns what /v1/status serves.
func Snapshot(r *runtime.Runtime) StatusBody {
	socks := r.Sockets()
	st := r.Status()
	body := StatusBody{Run: r.RunID(), Time: time.Now().UTC(), Nodes: make([]NodeStatus, 0, len(st))}
	for _, s := range st {
		n := NodeStatus{Name: s.Name, Kind: s.Kind, Task: s.Task, State: string(s.State), Restarts: s.Restarts,
			MsgsIn: s.MsgsIn, MsgsOut: s.MsgsOut, RateIn: s.RateIn, RateOut: s.RateOut,
			Dropped: s.Dropped, Blocked: s.Blocked.Seconds(), Held: s.Held, Approx: s.Approx, Sockets: []SocketStatus{}}
		if s.Err != nil {
			n.Err = s.Err.Error()
		}
		for _, ss := range socks[s.Name] {
			n.Sockets = append(n.Sockets, socketStatus(ss))
		}
		body.Nodes = append(body.Nodes, n)
	}
	return body
}

func socketStatus(s runtime.SocketStatus) SocketStatus {
	st := s.Stats
	out := SocketStatus{Name: s.Name, Type: string(s.Type), Expect: s.Expect, Peers: st.Peers, Subscribers: st.Subscribers,
		MsgsIn: st.MsgsIn, MsgsOut: st.MsgsOut, BytesIn: st.BytesIn, BytesOut: st.BytesOut,
		Dropped: st.Dropped, SubLimited: st.SubLimited, Connects: st.Connects, Disconnects: st.Disconnects,
		HandshakeFailures: st.HandshakeFailures, SendBlocked: st.SendBlocked.Seconds(), Conns: []Conn{}, Edges: []Edge{}}
	for _, c := range st.Conns {
		out.Conns = append(out.Conns, conn(c))
	}
	for _, e := range st.Edges {
		out.Edges = append(out.Edges, Edge{Peer: e.Peer, External: e.External, Sent: e.Sent, Received: e.Received, QueuedOut: e.QueuedOut, QueuedIn: e.QueuedIn})
	}
	return out
}

func conn(c socket.PeerInfo) Conn {
	return Conn{Endpoint: c.Endpoint, Addr: c.Addr, Peer: c.Name, External: c.External}
}

// Status serves Snapshot as JSON.
func Status(r *runtime.Runtime) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, Snapshot(r))
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
