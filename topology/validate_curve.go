package topology

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/internal/curvekey"
	"github.com/topo-zmq/topo/internal/endpoint"
)

// CurveKeyName is the name a socket's CURVE key pair is derived under from
// the top-level seed: "INSTANCE.SOCKET", as in "worker[2].out".
func CurveKeyName(inst *Instance, s *Socket) string { return inst.Name + "." + s.Name }

// CurveKeyPair returns a socket's CURVE key pair when it is known before
// apply: from its secret_key, or derived from the top-level seed under
// CurveKeyName. known is false for a socket whose pair is generated at
// apply time (no secret_key and no seed). The secret is the socket's own:
// callers must not print it.
func (t *Topology) CurveKeyPair(inst *Instance, s *Socket) (public, secret CurveKey, known bool) {
	if s.Curve != nil && !s.Curve.SecretKey.IsZero() {
		return CurveKey(curvekey.PublicFromSecret(s.Curve.SecretKey)), s.Curve.SecretKey, true
	}
	if t.Curve != nil && len(t.Curve.Seed) > 0 {
		kp, err := curvekey.DeriveKeyPair(t.Curve.Seed, CurveKeyName(inst, s))
		if err == nil {
			return CurveKey(kp.Public), CurveKey(kp.Secret), true
		}
	}
	return CurveKey{}, CurveKey{}, false
}

// hostOf is the host an instance runs on ("" = the local one: a file
// without host blocks runs in one process, whatever its host labels say).
// Instances on different hosts run in different processes, so they cannot
// share a key generated at apply time.
func hostOf(t *Topology, inst *Instance) string {
	if len(t.Hosts) == 0 {
		return ""
	}
	return inst.Host
}

// isCurveServer reports whether a socket's curve block makes it a CURVE
// server on its bound endpoints: a block without a server key.
func isCurveServer(s *Socket) bool { return s.Curve != nil && !s.Curve.HasServerKey() }

// checkCurve decides every edge's security (Edge.Curve) and every socket's
// CURVE role (Socket.CurveRole), and reports inconsistent settings: curve
// on inproc, a server key that is not the server's, a plaintext end facing
// a CURVE end, a key generated at apply time that another host would need.
func checkCurve(t *Topology) hcl.Diagnostics {
	var diags hcl.Diagnostics
	type sock struct {
		inst *Instance
		s    *Socket
	}
	byRef := map[SocketRef]sock{}
	for _, inst := range t.Instances {
		for _, s := range inst.Sockets {
			byRef[SocketRef{Instance: inst.Name, Socket: s.Name}] = sock{inst, s}
			if s.Curve != nil {
				for _, ep := range append(append([]Endpoint(nil), s.Bind...), s.Connect...) {
					if e, err := endpoint.Parse(ep.URL, true); err == nil && e.Transport == "inproc" {
						diags = append(diags, errorAt(s.Curve.DeclRange, "CURVE on an inproc socket",
							fmt.Sprintf("%s.%s uses %s: inproc never leaves the process, and topo does not run CURVE over it. Remove the curve block, or use tcp:// or ipc://.", inst.Name, s.Name, ep.URL)))
						break
					}
				}
			}
		}
	}
	clientOf := map[*Socket]bool{}   // connects to an in-file CURVE server
	plainEdge := map[*Socket]bool{}  // has a plaintext edge as connector
	servedEdge := map[*Socket]bool{} // connects to a binding CURVE client, as its server
	for _, ed := range t.Edges {
		c, okc := byRef[ed.Connect]
		b, okb := byRef[ed.Bind]
		if !okc || !okb {
			continue
		}
		switch {
		case isCurveServer(b.s):
			ed.Curve = true
			clientOf[c.s] = true
			pub, _, known := t.CurveKeyPair(b.inst, b.s)
			if c.s.Curve.HasServerKey() {
				given, named := c.s.Curve.ServerKeys[ed.Endpoint]
				if !named {
					given = c.s.Curve.ServerKey
				}
				switch {
				case given.IsZero():
				case !known:
					diags = append(diags, errorAt(c.s.Curve.ServerKeyRange, "CURVE server key cannot match",
						fmt.Sprintf("%s.%s names a server_key for %s.%s, whose curve block has no secret_key and the file has no top-level curve seed, so its key pair is made at apply time. Remove this server_key (topo hands the key over), or give %s.%s a secret_key, or add curve { seed = file(...) }.",
							c.inst.Name, c.s.Name, b.inst.Name, b.s.Name, b.inst.Name, b.s.Name)))
				case given != pub:
					diags = append(diags, errorAt(c.s.Curve.ServerKeyRange, "Wrong CURVE server key",
						fmt.Sprintf("The server_key %s.%s gives for %s is not the public key of %s.%s, which serves it (%s), so the handshake would fail. Use that socket's public key (`topo plan` prints it).",
							c.inst.Name, c.s.Name, ed.Endpoint, b.inst.Name, b.s.Name, keySource(t, b.s))))
				}
			}
			if !known && hostOf(t, c.inst) != hostOf(t, b.inst) {
				diags = append(diags, errorAt(b.s.Curve.DeclRange, "CURVE key needed on another host",
					fmt.Sprintf("%s.%s is a CURVE server whose key pair is made at apply time, but %s connects to it from host %q (it runs on %q): the other host's process cannot know that key. Add a top-level curve { seed = file(\"keys/topology.seed\") } (topo keygen -seed writes one), or give this socket a secret_key and %s a server_key.",
						b.inst.Name, b.s.Name, c.inst.Name, hostOf(t, c.inst), hostOf(t, b.inst), c.inst.Name)))
			}
		case b.s.Curve.HasServerKey():
			if !isCurveServer(c.s) {
				diags = append(diags, errorAt(ed.Range, "Plaintext connect to a CURVE client",
					fmt.Sprintf("%s.%s has a server_key, so it is a CURVE client, also on the connections it accepts; %s.%s connects to it without being a CURVE server. Give %s.%s a curve block without server_key, or remove the server_key.",
						b.inst.Name, b.s.Name, c.inst.Name, c.s.Name, c.inst.Name, c.s.Name)))
				continue
			}
			ed.Curve = true
			servedEdge[c.s] = true
			pub, _, known := t.CurveKeyPair(c.inst, c.s)
			if given := b.s.Curve.ServerKey; !known && !given.IsZero() {
				diags = append(diags, errorAt(b.s.Curve.ServerKeyRange, "CURVE server key cannot match",
					fmt.Sprintf("%s.%s names a server_key for %s.%s, the CURVE server that connects to it, whose key pair is made at apply time (no secret_key, no top-level curve seed). Give %s.%s a secret_key, or add curve { seed = file(...) }.",
						b.inst.Name, b.s.Name, c.inst.Name, c.s.Name, c.inst.Name, c.s.Name)))
			} else if known && !given.IsZero() && given != pub {
				diags = append(diags, errorAt(b.s.Curve.ServerKeyRange, "Wrong CURVE server key",
					fmt.Sprintf("The server_key of %s.%s is not the public key of %s.%s, the CURVE server that connects to it (%s).",
						b.inst.Name, b.s.Name, c.inst.Name, c.s.Name, keySource(t, c.s))))
			}
		case c.s.Curve != nil:
			diags = append(diags, errorAt(c.s.Curve.DeclRange, "CURVE to a plaintext socket",
				fmt.Sprintf("%s.%s has a curve block, but %s.%s, which it connects to, has none, so the handshake would fail. Add curve {} to %s.%s (the server), or remove this block.",
					c.inst.Name, c.s.Name, b.inst.Name, b.s.Name, b.inst.Name, b.s.Name)))
		default:
			plainEdge[c.s] = true
		}
	}
	type edgeKey struct {
		ref SocketRef
		rng hcl.Range
	}
	edgeAt := map[edgeKey]bool{}
	for _, ed := range t.Edges {
		edgeAt[edgeKey{ed.Connect, ed.Range}] = true
	}
	for _, inst := range t.Instances {
		for _, s := range inst.Sockets {
			switch {
			case s.Curve.HasServerKey() || clientOf[s]:
				s.CurveRole = "client"
			case s.Curve != nil:
				s.CurveRole = "server"
			}
			if s.CurveRole != "client" {
				continue
			}
			if isCurveServer(s) && (len(s.Bind) > 0 || servedEdge[s]) {
				diags = append(diags, errorAt(s.Curve.DeclRange, "CURVE server and client at once",
					fmt.Sprintf("%s.%s connects to a CURVE server, which makes it a client, and also serves CURVE (it binds, or a socket connects to it as its client). One socket has one role: split it in two.", inst.Name, s.Name)))
				continue
			}
			if plainEdge[s] {
				diags = append(diags, errorAt(s.DeclRange, "CURVE and plaintext on one socket",
					fmt.Sprintf("%s.%s connects to CURVE servers and to plaintext sockets; security is per socket. Give every socket it connects to a curve block, or none.", inst.Name, s.Name)))
				continue
			}
			for _, c := range s.Connect {
				if edgeAt[edgeKey{SocketRef{Instance: inst.Name, Socket: s.Name}, c.Range}] {
					continue
				}
				if s.Curve != nil && (!s.Curve.ServerKey.IsZero() || !s.Curve.ServerKeys[c.URL].IsZero()) {
					continue
				}
				diags = append(diags, errorAt(c.Range, "No CURVE server key",
					fmt.Sprintf("%s.%s is a CURVE client, and nothing in this file serves %s, so topo cannot hand its key over. Name it: curve { server_key = { %q = file(\"keys/SERVER.pub\") } }.", inst.Name, s.Name, c.URL, c.URL)))
			}
		}
	}
	return diags
}

// keySource says where a socket's key pair comes from, for messages.
func keySource(t *Topology, s *Socket) string {
	if s.Curve != nil && !s.Curve.SecretKey.IsZero() {
		return "its secret_key"
	}
	return "derived from the curve seed"
}
