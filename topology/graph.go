package topology

import (
	"fmt"
	"io"
	"strings"
)

// Flow returns an edge's ends in message-flow order (publisher to
// subscriber, pusher to puller, requester to replier) and its label, like
// "PUSH→PULL". Symmetric pairs keep connect→bind order.
func (ed *Edge) Flow() (from, to SocketRef, label string) {
	if upstream(ed.BindType, ed.ConnectType) {
		return ed.Bind, ed.Connect, ed.BindType + "→" + ed.ConnectType
	}
	return ed.Connect, ed.Bind, ed.ConnectType + "→" + ed.BindType
}

// WriteDOT writes the topology as a Graphviz digraph: one box per
// instance, one arrow per edge in message-flow direction, labelled with
// the socket types. When the file declares hosts, each host is a cluster
// (subgraph "cluster_NAME", labelled with its address) holding its
// instances, and a cross-host edge's label also gives the address it
// connects to. The output is deterministic (file order).
func (t *Topology) WriteDOT(w io.Writer) error {
	var b strings.Builder
	b.WriteString("digraph topology {\n")
	b.WriteString("  rankdir=LR;\n")
	b.WriteString("  node [shape=box, fontname=\"Helvetica\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=10];\n")
	box := func(indent string, inst *Instance) {
		fmt.Fprintf(&b, "%s%q [label=%q];\n", indent, inst.Name, nodeLabel(inst, "\n"))
	}
	for _, g := range t.hostGroups() {
		if g.host == nil {
			for _, inst := range g.instances {
				box("  ", inst)
			}
			continue
		}
		fmt.Fprintf(&b, "  subgraph %q {\n", "cluster_"+g.host.Name)
		fmt.Fprintf(&b, "    label=%q;\n", hostLabel(g.host))
		for _, inst := range g.instances {
			box("    ", inst)
		}
		b.WriteString("  }\n")
	}
	for _, ed := range t.Edges {
		from, to, label := ed.Flow()
		if ed.CrossHost {
			label += "\n" + ed.Endpoint
		}
		attrs := fmt.Sprintf("label=%q, taillabel=%q, headlabel=%q", label, from.Socket, to.Socket)
		if ed.Lossy != "" {
			attrs += ", style=dashed"
		}
		fmt.Fprintf(&b, "  %q -> %q [%s];\n", from.Instance, to.Instance, attrs)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// hostGroup is the instances of one declared host (host nil: the
// instances of a file without hosts, or placed on no declared host).
type hostGroup struct {
	host      *Host
	instances []*Instance
}

// hostGroups splits the instances by declared host, in host declaration
// order, each group in file order; instances on no declared host come
// first, in a group with a nil host.
func (t *Topology) hostGroups() []hostGroup {
	byHost := map[string]int{}
	groups := []hostGroup{{}}
	for _, h := range t.Hosts {
		byHost[h.Name] = len(groups)
		groups = append(groups, hostGroup{host: h})
	}
	for _, inst := range t.Instances {
		i, ok := byHost[inst.Host]
		if !ok || len(t.Hosts) == 0 {
			i = 0
		}
		groups[i].instances = append(groups[i].instances, inst)
	}
	return groups
}

func hostLabel(h *Host) string {
	if h.Address == "" {
		return h.Name
	}
	return h.Name + " (" + h.Address + ")"
}

// WriteMermaid writes the topology as a Mermaid flowchart, with the same
// content and order as WriteDOT; each host is a subgraph.
func (t *Topology) WriteMermaid(w io.Writer) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	ids := make(map[string]string, len(t.Instances))
	for i, inst := range t.Instances {
		ids[inst.Name] = fmt.Sprintf("n%d", i)
	}
	box := func(indent string, inst *Instance) {
		fmt.Fprintf(&b, "%s%s[\"%s\"]\n", indent, ids[inst.Name], mermaidEscape(nodeLabel(inst, "\x00")))
	}
	for i, g := range t.hostGroups() {
		if g.host == nil {
			for _, inst := range g.instances {
				box("  ", inst)
			}
			continue
		}
		fmt.Fprintf(&b, "  subgraph h%d[\"%s\"]\n", i-1, mermaidEscape(hostLabel(g.host)))
		for _, inst := range g.instances {
			box("    ", inst)
		}
		b.WriteString("  end\n")
	}
	for _, ed := range t.Edges {
		from, to, label := ed.Flow()
		arrow := "-->"
		if ed.Lossy != "" {
			arrow = "-.->"
		}
		text := fmt.Sprintf("%s %s→%s", label, from.Socket, to.Socket)
		if ed.CrossHost {
			text += "\x00" + ed.Endpoint
		}
		fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", ids[from.Instance], arrow, mermaidEscape(text), ids[to.Instance])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// nodeLabel is an instance's name, and its kind when that differs from
// the node's name, separated by sep.
func nodeLabel(inst *Instance, sep string) string {
	if inst.Node.Kind == "" || inst.Node.Kind == inst.Node.Name {
		return inst.Name
	}
	return inst.Name + sep + inst.Node.Kind
}

func mermaidEscape(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "\x00", "<br/>")
	return r.Replace(s)
}
