package topology

import (
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/internal/endpoint"
)

// boundSocket is one bind endpoint of one instance's socket.
type boundSocket struct {
	ep   endpoint.Endpoint
	inst *Instance
	sock *Socket
	rng  hcl.Range
}

// bindIndex finds the binds a literal connect endpoint reaches.
type bindIndex struct {
	// local holds binds by host and connectable URL ("sink|tcp://127.0.0.1:5558"):
	// what an instance on that host reaches.
	local map[string][]boundSocket
	// remote holds tcp binds of instances on declared hosts by the URL on
	// their host's address ("tcp://10.0.0.3:5558"): what any host reaches.
	remote map[string][]boundSocket
}

// lookup returns the binds that a connect to url from an instance on
// host from reaches, each once.
func (ix bindIndex) lookup(from, url string) []boundSocket {
	var out []boundSocket
	seen := map[[2]any]bool{}
	for _, b := range append(ix.local[from+"|"+url], ix.remote[url]...) {
		k := [2]any{b.inst, b.sock}
		if !seen[k] {
			seen[k] = true
			out = append(out, b)
		}
	}
	return out
}

// elsewhere returns the binds on hosts other than from that a connect to
// url would reach if it ran there: a literal endpoint written for another
// machine's loopback or ipc.
func (ix bindIndex) elsewhere(from, url string) []boundSocket {
	var out []boundSocket
	for k, bs := range ix.local {
		if h, u, _ := strings.Cut(k, "|"); u == url && h != from {
			out = append(out, bs...)
		}
	}
	slices.SortFunc(out, func(a, b boundSocket) int {
		return strings.Compare(a.inst.Name+"."+a.sock.Name, b.inst.Name+"."+b.sock.Name)
	})
	return out
}

// urls lists the endpoints an instance on host from can reach, sorted,
// for "did you mean".
func (ix bindIndex) urls(from string) []string {
	var out []string
	for k := range ix.local {
		if h, u, ok := strings.Cut(k, "|"); ok && h == from { // host names have no "|"

			out = append(out, u)
		}
	}
	for u := range ix.remote {
		out = append(out, u)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkBinds reports endpoints bound twice on one host (replicas
// included; replicas on different declared hosts may share a port) and
// warns about binds on every interface in a file without hosts. It
// returns the binds indexed for literal connects to find their target.
func (e *evaluator) checkBinds(t *Topology) (bindIndex, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	ix := bindIndex{local: map[string][]boundSocket{}, remote: map[string][]boundSocket{}}
	// Binds by host, port or address, for conflicts.
	byKey := map[string][]boundSocket{}
	wildcardWarned := map[hcl.Range]bool{}
	hosts := len(e.hostOrder) > 0
	for _, inst := range t.Instances {
		for _, s := range inst.Sockets {
			for _, b := range s.Bind {
				ep, err := endpoint.Parse(b.URL, true)
				if err != nil {
					continue // reported when evaluated
				}
				me := boundSocket{ep: ep, inst: inst, sock: s, rng: b.Range}
				key := inst.Host + "|" + ep.Transport + "|" + ep.Port + "|" + ep.Addr
				if !hosts {
					key = ep.Transport + "|" + ep.Port + "|" + ep.Addr
				}
				if ep.Ephemeral() {
					key = "" // never conflicts; not worth comparing
				}
				for _, prev := range byKey[key] {
					if key == "" {
						break
					}
					if prev.ep.Conflicts(ep) {
						where := ""
						if hosts {
							where = fmt.Sprintf(" on host %q", inst.Host)
						}
						diags = append(diags, errorAt(b.Range, "Endpoint bound twice",
							fmt.Sprintf("%s.%s binds %s, which %s.%s already binds%s (%s). Two sockets on one host cannot bind the same endpoint; give each its own port or address%s.",
								inst.Name, s.Name, b.URL, prev.inst.Name, prev.sock.Name, where, prev.rng, replicaHint(inst, prev.inst, hosts))))
						break
					}
				}
				byKey[key] = append(byKey[key], me)
				lk := inst.Host + "|" + ep.Connectable().String()
				if !hosts {
					lk = "|" + ep.Connectable().String()
				}
				ix.local[lk] = append(ix.local[lk], me)
				if h := e.hosts[inst.Host]; h != nil && h.Address != "" && ep.Transport == "tcp" {
					r := ep.Connectable()
					r.Host = h.Address
					ix.remote[r.String()] = append(ix.remote[r.String()], me)
				}
				if s.Curve == nil && !wildcardWarned[b.Range] {
					if ep.Wildcard() && !hosts {
						wildcardWarned[b.Range] = true
						diags = append(diags, warnAt(b.Range, "Bind on all interfaces",
							fmt.Sprintf("%s listens on every network interface, so other machines can connect, in plaintext. Bind tcp://127.0.0.1:%s to stay local, unless peers on other hosts need it; then add a curve block to the socket (CURVE encrypts and authenticates).", b.URL, ep.Port)))
					} else if ep.Transport == "tcp" && (ep.Wildcard() || !loopback(ep.Host)) {
						// With hosts a wildcard bind is how other machines
						// connect: what is worth saying is that it is plaintext.
						wildcardWarned[b.Range] = true
						diags = append(diags, warnAt(b.Range, "Plaintext bind on a network address",
							fmt.Sprintf("%s listens on a network address without CURVE, so anyone who can reach it can send and receive in plaintext. Add a curve block to the socket, or bind 127.0.0.1 to stay local.", b.URL)))
					}
				}
			}
		}
	}
	return ix, diags
}

// loopback reports whether a tcp host is this machine only.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
