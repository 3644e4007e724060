package topology

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// firstOr is s[0], or def for an empty s.
func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
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
