package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/topo-zmq/topo/topology"
)

// HostError is the error of a Runtime whose Options.Host does not fit its
// topology: the file declares hosts and Host names none of them (or is
// empty), or the file declares none and Host names one.
type HostError struct {
	Host  string   // Options.Host
	Hosts []string // the declared hosts, in file order
}

func (e *HostError) Error() string {
	switch {
	case len(e.Hosts) == 0:
		return fmt.Sprintf("host %q: the topology declares no host blocks (only \"\" or %q runs it)", e.Host, topology.AllHosts)
	case e.Host == "":
		return fmt.Sprintf("the topology declares hosts (%s): say which one this process runs (Options.Host), or %q for every one",
			strings.Join(e.Hosts, ", "), topology.AllHosts)
	default:
		return fmt.Sprintf("host %q: the topology declares no such host (hosts: %s, or %q for every one)",
			e.Host, strings.Join(e.Hosts, ", "), topology.AllHosts)
	}
}

// checkHost returns a *HostError when host does not select a share of t.
func checkHost(t *topology.Topology, host string) error {
	if host == topology.AllHosts || (host == "" && len(t.Hosts) == 0) {
		return nil
	}
	if len(t.Hosts) > 0 && t.Host(host) != nil {
		return nil
	}
	names := make([]string, len(t.Hosts))
	for i, h := range t.Hosts {
		names[i] = h.Name
	}
	return &HostError{Host: host, Hosts: names}
}

// selected returns the instances this process runs: the ones placed on
// Options.Host, or every one.
func (r *Runtime) selected() []*topology.Instance {
	if len(r.topo.Hosts) == 0 || r.opts.Host == topology.AllHosts {
		return r.topo.Instances
	}
	return r.topo.InstancesOn(r.opts.Host)
}

// runIDFor is the run id of a Runtime of t with opts: 16 random hex digits
// for a file without hosts; with hosts TOPOLOGY/HOST, where TOPOLOGY is
// TopologyID(t), shared by every process that runs a host of the same
// file with the same variable values, and HOST is Options.Host.
func runIDFor(t *topology.Topology, o Options) string {
	if t == nil || len(t.Hosts) == 0 {
		return newRunID()
	}
	host := o.Host
	if host == "" {
		host = "-" // Run refuses it (HostError); the id need not be pretty
	}
	return TopologyID(t) + "/" + host
}

// TopologyID identifies a topology's content: 16 hex digits of a SHA-256
// over every host name and every instance (name, host, kind, restart,
// isolation, attributes with variable values applied, sockets with their
// types, binds, subscriptions, HWM, identity, and connects as the
// references or literal endpoints written, binds as written). Host
// addresses are left out, as are the loopback addresses -host all binds
// on (topology.Endpoint.Written), so processes given different
// -host-address values, and a -host all process, agree; anything
// else that changes what runs (another file, a version with one more
// worker, another -var) changes it. The processes that run the hosts of
// one file announce it as the first part of their run id
// (TOPOLOGY/HOST): their sockets count each other as in-topology peers
// (plugins.SameTopology), and a stale process of another version does
// not.
func TopologyID(t *topology.Topology) string {
	h := sha256.New()
	w := func(parts ...string) {
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s;", len(p), p)
		}
		h.Write([]byte{'\n'})
	}
	for _, ho := range t.Hosts {
		w("host", ho.Name)
	}
	for _, in := range t.Instances {
		attrs := ""
		if in.Attrs != cty.NilVal && in.Attrs.IsWhollyKnown() {
			if b, err := ctyjson.Marshal(in.Attrs, in.Attrs.Type()); err == nil {
				attrs = string(b)
			}
		}
		w("instance", in.Name, in.Host, in.Node.Kind, in.Node.Restart, in.Node.Isolation, attrs)
		for _, s := range in.Sockets {
			w("socket", s.Name, s.Type, fmt.Sprint(s.HWM), s.Identity, strings.Join(s.Subscribe, "\x00"))
			for _, b := range s.Bind {
				if b.Written != "" {
					w("bind", b.Written) // -host all's loopback address is an address too
				} else {
					w("bind", b.URL)
				}
			}
			for _, c := range s.Connect {
				if c.Ref != nil {
					w("ref", c.Ref.String())
				} else {
					w("connect", c.URL)
				}
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// readyTimeout is the bound on a body's wait for its peers (Options.
// ReadyTimeout resolved against the topology); 0 means none.
func readyTimeout(t *topology.Topology, d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d > 0:
		return d
	case t != nil && len(t.Hosts) > 0:
		return 0
	}
	return 10 * time.Second
}
