package runtime

import (
	"fmt"
	"maps"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// curveKeys holds the CURVE key pair of every socket with a CURVE role in
// one run. A pair the topology does not fix (no secret_key, no seed) is
// made once, when the run starts, and stays the socket's for the run, so a
// restarted node keeps its keys and its peers need no new ones.
type curveKeys struct {
	t     *topology.Topology
	pairs map[topology.SocketRef]socket.CurveKeyPair
	// edges maps a connect endpoint (by its range) to the socket it
	// reaches, for literal connects that some node of the file binds.
	edges map[connectAt]topology.SocketRef
	roles map[topology.SocketRef]string // CurveRole of every CURVE socket
}

type connectAt struct {
	sock topology.SocketRef
	at   string // the connect expression's range
}

// newCurveKeys makes the run's key pairs: from secret_key or the seed
// (topology.CurveKeyPair), else fresh from crypto/rand.
func newCurveKeys(t *topology.Topology) (*curveKeys, error) {
	k := &curveKeys{t: t, pairs: map[topology.SocketRef]socket.CurveKeyPair{}, edges: map[connectAt]topology.SocketRef{}, roles: map[topology.SocketRef]string{}}
	for _, in := range t.Instances {
		for _, s := range in.Sockets {
			if s.CurveRole == "" {
				continue
			}
			ref := topology.SocketRef{Instance: in.Name, Socket: s.Name}
			k.roles[ref] = s.CurveRole
			pub, sec, known := t.CurveKeyPair(in, s)
			if known {
				k.pairs[ref] = socket.CurveKeyPair{Public: socket.CurveKey(pub), Secret: socket.CurveKey(sec)}
				continue
			}
			kp, err := socket.NewCurveKeyPair(nil)
			if err != nil {
				return nil, fmt.Errorf("%s: socket %s: CURVE key pair: %w", in.Name, s.Name, err)
			}
			k.pairs[ref] = kp
		}
	}
	for _, e := range t.Edges {
		k.edges[connectAt{e.Connect, e.Range.String()}] = e.Bind
	}
	return k, nil
}

// touches reports whether setCurve has anything to do for n: a socket
// with a CURVE role, or one whose spec holds a mechanism.
func (k *curveKeys) touches(n *node) bool {
	for _, s := range n.inst.Sockets {
		if s.CurveRole != "" {
			return true
		}
	}
	for _, ss := range n.spec.Sockets {
		if ss.Curve != nil {
			return true
		}
	}
	return false
}

// curve returns the CURVE mechanism of one socket (nil for plaintext).
// For a client, the server key of each connect comes from the server's
// pair when the file serves it, else from the socket's own server_key;
// resolve gives the endpoints a connect stands for, as Connect will
// receive them. When every connect has the same server key, the result
// has ServerKey only, so it holds whatever the endpoints turn out to be.
func (k *curveKeys) curve(in *topology.Instance, s *topology.Socket, resolve func(topology.Endpoint) []string) *socket.Curve {
	if s.CurveRole == "" {
		return nil
	}
	ref := topology.SocketRef{Instance: in.Name, Socket: s.Name}
	c := &socket.Curve{Key: k.pairs[ref]}
	if s.CurveRole == "server" {
		for _, a := range s.Curve.Allow {
			c.Allow = append(c.Allow, socket.CurveKey(a))
		}
		return c
	}
	var explicit socket.CurveKey
	if s.Curve != nil {
		explicit = socket.CurveKey(s.Curve.ServerKey)
	}
	byEP := map[string]socket.CurveKey{}
	for _, ep := range s.Connect {
		key := explicit
		if s.Curve != nil {
			if named, ok := s.Curve.ServerKeys[ep.URL]; ok {
				key = socket.CurveKey(named)
			}
		}
		target, inFile := k.edges[connectAt{ref, ep.Range.String()}]
		if ep.Ref != nil {
			target, inFile = *ep.Ref, true
		}
		if inFile {
			if kp, ok := k.pairs[target]; ok && k.roles[target] == "server" {
				key = kp.Public
			}
		}
		for _, url := range resolve(ep) {
			byEP[url] = key
		}
	}
	var first socket.CurveKey
	same := true
	for _, key := range byEP {
		if first.IsZero() {
			first = key
		}
		same = same && key == first
	}
	switch {
	case len(byEP) == 0:
		c.ServerKey = explicit
	case same:
		c.ServerKey = first
	default:
		c.ServerKey = explicit
		c.ServerKeys = byEP
	}
	if s.Curve != nil && len(byEP) == 0 && len(s.Curve.ServerKeys) > 0 {
		c.ServerKeys = map[string]socket.CurveKey{}
		for ep, key := range s.Curve.ServerKeys {
			c.ServerKeys[ep] = socket.CurveKey(key)
		}
	}
	return c
}

// setCurve fills a node's spec with its sockets' CURVE mechanisms, the
// connects resolved against what has been bound so far. It reports whether
// a socket's per-endpoint server keys changed from what the spec held
// (only possible when a socket connects to several CURVE servers with
// ephemeral ports not yet bound when it was created).
func (k *curveKeys) setCurve(n *node, byName map[string]*topology.Instance, bound map[string]map[string][]string, remote map[string]bool) (changed string) {
	if !k.touches(n) {
		return "" // plaintext sockets only: nothing to set (and no copy of the spec)
	}
	resolve := func(c topology.Endpoint) []string { return resolveConnect(c, byName, bound, remote) }
	n.updateSockets(func(socks []plugins.SocketSpec) {
		for i := range socks {
			ss := &socks[i]
			s := n.inst.Socket(ss.Name)
			if s == nil {
				continue
			}
			c := k.curve(n.inst, s, resolve)
			if ss.Curve != nil && c != nil && !maps.Equal(ss.Curve.ServerKeys, c.ServerKeys) {
				changed = ss.Name
			}
			ss.Curve = c
		}
	})
	return changed
}
