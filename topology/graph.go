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
// the socket types. The output is deterministic (file order).
func (t *Topology) WriteDOT(w io.Writer) error {
	var b strings.Builder
	b.WriteString("digraph topology {\n")
	b.WriteString("  rankdir=LR;\n")
	b.WriteString("  node [shape=box, fontname=\"Helvetica\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=10];\n")
	for _, inst := range t.Instances {
		fmt.Fprintf(&b, "  %q [label=%q];\n", inst.Name, nodeLabel(inst, "\n"))
	}
	for _, ed := range t.Edges {
		from, to, label := ed.Flow()
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

// WriteMermaid writes the topology as a Mermaid flowchart, with the same
// content and order as WriteDOT.
func (t *Topology) WriteMermaid(w io.Writer) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	ids := make(map[string]string, len(t.Instances))
	for i, inst := range t.Instances {
		id := fmt.Sprintf("n%d", i)
		ids[inst.Name] = id
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", id, mermaidEscape(nodeLabel(inst, "\x00")))
	}
	for _, ed := range t.Edges {
		from, to, label := ed.Flow()
		arrow := "-->"
		if ed.Lossy != "" {
			arrow = "-.->"
		}
		fmt.Fprintf(&b, "  %s %s|\"%s %s→%s\"| %s\n", ids[from.Instance], arrow, label, from.Socket, to.Socket, ids[to.Instance])
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
