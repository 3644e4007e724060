package topology

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// maxCheckMessages bounds the distinct messages one diagnostic quotes (a
// counted node's replicas can each be wrong in their own way).
const maxCheckMessages = 5

// CheckDiagnostics turns what a kind's own check found (KindSchema.Check,
// or a check the caller ran after Decode, such as a plugin's) into error
// diagnostics: one per node and attribute, in order of first appearance,
// at the attribute's value (Node.AttrRanges), or at the node block when the
// problem names no attribute or one the block does not write. The summary
// names the attribute ("Invalid value for \"size\""); the detail names the
// kind and the node and quotes each distinct message once, with the
// replicas it applies to when not every replica of a counted node has it.
func CheckDiagnostics(problems []InstanceProblem) hcl.Diagnostics {
	type key struct {
		node *Node
		attr string
	}
	type message struct {
		msg       string
		instances []string
	}
	var order []key
	found := map[key][]*message{}
	for _, p := range problems {
		if p.Instance == nil || p.Instance.Node == nil {
			continue
		}
		k := key{p.Instance.Node, p.Attr}
		if _, ok := found[k]; !ok {
			order = append(order, k)
		}
		var m *message
		for _, have := range found[k] {
			if have.msg == p.Msg {
				m = have
			}
		}
		if m == nil {
			m = &message{msg: p.Msg}
			found[k] = append(found[k], m)
		}
		if len(m.instances) == 0 || m.instances[len(m.instances)-1] != p.Instance.Name {
			m.instances = append(m.instances, p.Instance.Name)
		}
	}
	var diags hcl.Diagnostics
	for _, k := range order {
		n := k.node
		subject, summary := n.DeclRange, "Invalid node configuration"
		what := fmt.Sprintf("node %q", n.Name)
		if k.attr != "" {
			summary = fmt.Sprintf("Invalid value for %q", k.attr)
			what = fmt.Sprintf("%s of node %q", k.attr, n.Name)
			if r, ok := n.AttrRanges[k.attr]; ok {
				subject = r
			}
		}
		msgs := found[k]
		parts := make([]string, 0, min(len(msgs), maxCheckMessages))
		for i, m := range msgs {
			if i == maxCheckMessages {
				parts = append(parts, fmt.Sprintf("and %d more", len(msgs)-i))
				break
			}
			text := strings.TrimRight(m.msg, ".")
			if n.Count >= 0 && len(m.instances) < n.Count {
				text += " (" + listInstances(m.instances) + ")"
			}
			parts = append(parts, text)
		}
		diags = append(diags, errorAt(subject, summary,
			fmt.Sprintf("Kind %q rejects %s: %s.", n.Kind, what, strings.Join(parts, "; "))))
	}
	return diags
}

// listInstances names up to three instances and counts the rest.
func listInstances(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:3], ", "), len(names)-3)
}
