package topology

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/internal/endpoint"
)

// AllHosts is the reserved host name `topo apply -host all` uses for
// "every host in this process"; no host block may take it.
const AllHosts = "all"

var hostSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "address"}},
}

// LoopbackAddresses gives each host its own loopback address, in
// declaration order: 127.0.0.2 for the first, 127.0.0.3 for the second,
// and so on (127.0.0.1 stays for what the file itself binds on loopback).
// It is what Options.LoopbackHosts applies; a caller may also pass it, or
// part of it, as Options.HostAddresses.
func LoopbackAddresses(hosts []*Host) map[string]string {
	out := make(map[string]string, len(hosts))
	for i, h := range hosts {
		out[h.Name] = loopbackAddress(i)
	}
	return out
}

// loopbackAddress is the i-th host's address in 127.0.0.0/8, from
// 127.0.0.2; past the 16 million of them it wraps (no file gets there).
func loopbackAddress(i int) string {
	n := uint32(2 + i%(1<<24-3))
	return netip.AddrFrom4([4]byte{127, byte(n >> 16), byte(n >> 8), byte(n)}).String()
}

// Host returns the declared host with that name, or nil.
func (t *Topology) Host(name string) *Host {
	for _, h := range t.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// InstancesOn returns the instances placed on host name, in file order:
// what `topo apply -host NAME` runs. Without host blocks it returns the
// instances whose host label is name ("" for those with none).
func (t *Topology) InstancesOn(name string) []*Instance {
	var out []*Instance
	for _, in := range t.Instances {
		if in.Host == name {
			out = append(out, in)
		}
	}
	return out
}

// CrossHostEdges returns the edges whose two ends are placed on different
// declared hosts, in Edges order. Each one's Endpoint is the tcp address
// the connecting side dials on the bound host.
func (t *Topology) CrossHostEdges() []*Edge {
	var out []*Edge
	for _, e := range t.Edges {
		if e.CrossHost {
			out = append(out, e)
		}
	}
	return out
}

// checkHostAddress reports why addr cannot be a host's address: it must
// be an IP address (IPv6 without brackets) or a DNS name that a tcp
// endpoint can carry, and not a wildcard.
func checkHostAddress(addr string) error {
	if addr == "" {
		return fmt.Errorf("the address is empty")
	}
	if strings.HasPrefix(addr, "[") {
		return fmt.Errorf("%q: write an IPv6 address without brackets", addr)
	}
	u := "tcp://" + net.JoinHostPort(addr, "1")
	if ep, err := endpoint.Parse(u, true); err == nil && ep.Wildcard() {
		return fmt.Errorf("%q is a wildcard; a host address is one that other machines connect to", addr)
	}
	if _, err := endpoint.Parse(u, false); err != nil {
		return fmt.Errorf("%q is not an IP address or a DNS name", addr)
	}
	return nil
}

// decodeHosts evaluates the host blocks into e.hostOrder, then applies
// Options.LoopbackHosts and Options.HostAddresses.
func (e *evaluator) decodeHosts(blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for nb := range openBlocks(blocks, "host", " Host names must be unique.", hostSchema, &diags) {
		name, b, content := nb.name, nb.block, nb.content
		if name == AllHosts {
			diags = append(diags, errorAt(b.LabelRanges[0], "Reserved host name",
				fmt.Sprintf("%q is reserved: `topo apply -host %s` runs every host. Give this host another name.", AllHosts, AllHosts)))
			continue
		}
		h := &Host{Name: name, DeclRange: b.DefRange, AddressSource: "file"}
		if a, ok := content.Attributes["address"]; ok {
			s, ok, d := e.evalString(a.Expr, scope{what: "A host address"}, e.base)
			diags = append(diags, d...)
			if ok {
				if err := checkHostAddress(s); err != nil {
					diags = append(diags, errorAt(a.Expr.Range(), "Invalid host address",
						fmt.Sprintf("Host %q: %s. Write the IP address or DNS name the other hosts reach it at, like address = \"10.0.0.3\".", name, err)))
				} else {
					h.Address = s
				}
			}
		} else {
			diags = append(diags, errorAt(b.DefRange, "Missing host address",
				fmt.Sprintf("Host %q needs address = \"IP or DNS name\": where instances on other hosts connect to it.", name)))
		}
		e.hosts[name] = h
		e.hostOrder = append(e.hostOrder, h)
	}
	if len(e.hostOrder) == 0 {
		if len(e.opts.HostAddresses) > 0 {
			names := slices.Sorted(maps.Keys(e.opts.HostAddresses))
			diags = append(diags, errorNoSource("Host address for a file without hosts",
				fmt.Sprintf("An address was given for host %s, but the file declares no host blocks.", strings.Join(names, ", "))))
		}
		return diags
	}
	if e.opts.LoopbackHosts {
		for name, addr := range LoopbackAddresses(e.hostOrder) {
			h := e.hosts[name]
			h.Address, h.AddressSource = addr, "loopback"
		}
	}
	for _, name := range slices.Sorted(maps.Keys(e.opts.HostAddresses)) {
		addr := e.opts.HostAddresses[name]
		h, ok := e.hosts[name]
		if !ok {
			diags = append(diags, errorNoSource("Unknown host",
				fmt.Sprintf("An address was given for host %q, but the file declares no such host (hosts: %s).%s",
					name, strings.Join(e.hostNames(), ", "), didYouMean(name, e.hostNames()))))
			continue
		}
		if err := checkHostAddress(addr); err != nil {
			diags = append(diags, errorNoSource("Invalid host address",
				fmt.Sprintf("The address given for host %q: %s.", name, err)))
			continue
		}
		h.Address, h.AddressSource = addr, "HostAddresses"
	}
	return diags
}

func (e *evaluator) hostNames() []string {
	names := make([]string, len(e.hostOrder))
	for i, h := range e.hostOrder {
		names[i] = h.Name
	}
	return names
}

// placeInstance evaluates the node's host expression for one replica and
// checks it against the declared hosts. ctx carries count.index.
func (e *evaluator) placeInstance(nd *nodeDecl, inst *Instance, ctx *hcl.EvalContext) hcl.Diagnostics {
	a, ok := nd.meta["host"]
	if !ok {
		if len(e.hostOrder) > 0 {
			return hcl.Diagnostics{errorAt(nd.block.DefRange, "Node placed on no host",
				fmt.Sprintf("The file declares hosts (%s), so node %q needs host = \"NAME\" naming one of them.",
					strings.Join(e.hostNames(), ", "), nd.n.Name))}
		}
		return nil
	}
	s, ok, diags := e.evalString(a.Expr, scope{what: "host", count: nd.counted}, ctx)
	if !ok {
		return diags
	}
	inst.Host = s
	if len(e.hostOrder) > 0 && e.hosts[s] == nil {
		who := fmt.Sprintf("Node %q is placed", nd.n.Name)
		if nd.counted {
			who = fmt.Sprintf("Instance %s is placed", inst.Name)
		}
		detail := fmt.Sprintf("%s on host %q, but no host block declares it (hosts: %s).%s",
			who, s, strings.Join(e.hostNames(), ", "), didYouMean(s, e.hostNames()))
		if s == AllHosts {
			detail += fmt.Sprintf(" %q is reserved for `topo apply -host %s`; place the node on one host.", AllHosts, AllHosts)
		}
		diags = append(diags, errorAt(a.Expr.Range(), "Unknown host", detail))
	}
	return diags
}

// crossHost reports whether an instance on host from reaches one on host
// to across machines: only when the file declares both hosts (an
// instance on an undeclared host has its error already; it resolves as on
// one machine, to spare follow-on errors).
func (e *evaluator) crossHost(from, to string) bool {
	return from != to && e.hosts[from] != nil && e.hosts[to] != nil
}

// resolveBind is the endpoint an instance on host from connects to for
// bind b of instance to: on the same host (or without host blocks) the
// bind made connectable (endpoint.Connectable); across hosts a tcp bind
// with its host replaced by to's host address. ok is false when from
// cannot reach the bind: an ipc or inproc bind across hosts, or a host
// without a usable address (reported where it is declared).
func (e *evaluator) resolveBind(b Endpoint, to *Instance, from string) (string, bool) {
	ep, err := endpoint.Parse(b.URL, true)
	if err != nil {
		return "", false
	}
	ep = ep.Connectable()
	if !e.crossHost(from, to.Host) {
		return ep.String(), true
	}
	h := e.hosts[to.Host]
	if ep.Transport != "tcp" || h == nil || h.Address == "" {
		return "", false
	}
	ep.Host = h.Address
	return ep.String(), true
}

// nodeCtxFor is the evaluation context of connects and kind attributes of
// an instance on host from: node.NAME.SOCKET resolved as seen from there.
func (e *evaluator) nodeCtxFor(from string) *hcl.EvalContext {
	if len(e.hostOrder) == 0 {
		from = "" // without hosts every instance sees the same endpoints
	}
	if ctx, ok := e.hostCtx[from]; ok {
		return ctx
	}
	ctx := e.base.NewChild()
	ctx.Variables = map[string]cty.Value{"node": e.nodeObject(from)}
	e.hostCtx[from] = ctx
	return ctx
}
