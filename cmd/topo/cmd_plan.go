package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

const planHelp = `Usage: topo plan [options] FILE

  Shows what apply would run, without running it: every instance (count
  expanded) with its kind, restart policy and isolation; every socket with
  its resolved bind and connect endpoints; every edge with its socket
  types; the start order (apply binds every instance in that order, then
  connects them in that order) with what each body waits for before it
  starts (the peers expected on each socket, the nodes it depends on);
  and, per edge, what it can lose: what it drops at the high-water mark
  (PUB, XPUB, ROUTER) and what is lost when the node at either end dies or
  restarts (every edge: ZeroMQ does not resend).

  Security: each edge is marked curve (encrypted and authenticated with
  CURVE) or plaintext, each socket with a curve role says it, and each
  CURVE server's public key is printed when it is known before apply
  (from its secret_key, or derived from the top-level curve seed), for
  clients outside the topology to use as server_key. Secret keys are never
  printed; a key made at apply time is shown as such.

  Exit status: 0 on success, 1 when the file is invalid.

Options:
`

// runPlan implements `topo plan`.
func runPlan(ctx context.Context, c *cli, args []string) int {
	cmd, code, done := startFileCommand(ctx, c, "plan", planHelp, args,
		"print the plan as one JSON object on stdout (an invalid file: its diagnostics, as validate -json prints them)",
		func(cmd fileCommand, res loadResult) any {
			// The warnings of a valid file go to stderr as text.
			renderDiags(c.stderr, res.files, res.diags, c.errTTY && !*cmd.noColor, diagWidth(c))
			return planJSON(res)
		})
	if done {
		return code
	}
	res, code := loadForOutput(ctx, c, "plan", cmd.path, cmd.loadFlags)
	if code != 0 {
		return code
	}
	if err := writePlan(c.stdout, res); err != nil {
		fmt.Fprintf(c.stderr, "topo plan: %v\n", err)
		return 1
	}
	return 0
}

func life(s topology.Schemas, kind string) string {
	if ks, ok := s.Schema(kind); ok {
		if ks.Task {
			return "task"
		}
		return "service"
	}
	return "unknown life"
}

// writePlan renders the plan as text.
func writePlan(w io.Writer, res loadResult) error {
	t := res.topo
	var b strings.Builder
	fmt.Fprintf(&b, "Plan: %d instance%s of %d node%s, %d edge%s.\n",
		len(t.Instances), plural(len(t.Instances)), len(t.Nodes), plural(len(t.Nodes)), len(t.Edges), plural(len(t.Edges)))

	if len(t.Variables) > 0 {
		b.WriteString("\nVariables:\n")
		for _, v := range t.Variables {
			fmt.Fprintf(&b, "  %s = %s  (%s)\n", v.Name, valueString(v.Value), v.Source)
		}
	}
	if len(t.Plugins) > 0 {
		b.WriteString("\nPlugins:\n")
		for _, p := range t.Plugins {
			where := "command " + p.Command
			if p.Source != "" {
				where = "source " + p.Source
			}
			fmt.Fprintf(&b, "  %s: %s\n", p.Name, where)
		}
	}

	b.WriteString("\nInstances:\n")
	for _, inst := range t.Instances {
		n := inst.Node
		fmt.Fprintf(&b, "  %s: %s (%s), restart %s, isolation %s", inst.Name, n.Kind, life(res.schemas, n.Kind), n.Restart, n.Isolation)
		if n.Host != "" {
			fmt.Fprintf(&b, ", host %s", n.Host)
		}
		if len(n.DependsOn) > 0 {
			fmt.Fprintf(&b, ", after %s", strings.Join(n.DependsOn, ", "))
		}
		b.WriteString("\n")
		if inst.Attrs.Type().IsObjectType() {
			names := make([]string, 0)
			for name := range inst.Attrs.Type().AttributeTypes() {
				names = append(names, name)
			}
			sort.Strings(names)
			width := 0
			for _, name := range names {
				width = max(width, len(name))
			}
			for _, name := range names {
				fmt.Fprintf(&b, "    %-*s = %s\n", width, name, valueString(inst.Attrs.GetAttr(name)))
			}
		}
		for _, s := range inst.Sockets {
			fmt.Fprintf(&b, "    socket %s %s", s.Name, s.Type)
			if s.HWM != 0 {
				fmt.Fprintf(&b, " hwm=%d", s.HWM)
			}
			if s.Identity != "" {
				fmt.Fprintf(&b, " identity=%q", s.Identity)
			}
			if s.Subscribe != nil {
				q := make([]string, len(s.Subscribe))
				for i, p := range s.Subscribe {
					q[i] = fmt.Sprintf("%q", p)
				}
				fmt.Fprintf(&b, " subscribe=[%s]", strings.Join(q, ", "))
			}
			if s.CurveRole != "" {
				fmt.Fprintf(&b, " curve=%s", s.CurveRole)
			}
			b.WriteString("\n")
			if s.CurveRole == "server" {
				fmt.Fprintf(&b, "      public key %s\n", curvePublic(t, inst, s))
			}
			for _, e := range s.Bind {
				fmt.Fprintf(&b, "      bind    %s\n", e.URL)
			}
			for _, e := range s.Connect {
				if e.Ref != nil {
					fmt.Fprintf(&b, "      connect %s  (%s)\n", e.URL, e.Ref)
				} else {
					fmt.Fprintf(&b, "      connect %s\n", e.URL)
				}
			}
		}
	}

	b.WriteString("\nEdges (message flow):\n")
	if len(t.Edges) == 0 {
		b.WriteString("  none\n")
	}
	for _, ed := range t.Edges {
		from, to, label := ed.Flow()
		mark := ""
		if ed.Lossy != "" {
			mark = "  [may drop]"
		}
		fmt.Fprintf(&b, "  %s → %s  %s  via %s  %s%s\n", from, to, label, ed.Endpoint, edgeSecurity(ed), mark)
	}

	b.WriteString("\nStart order (apply binds, then connects, in this order; a body starts when what it waits for is there):\n")
	exp := t.ExpectedPeers()
	order := t.InStartOrder()
	width := 0
	for _, inst := range order {
		width = max(width, len(inst.Name))
	}
	for i, inst := range order {
		fmt.Fprintf(&b, "  %d. %-*s  %s\n", i+1, width, inst.Name, bodyWaits(inst, exp))
	}

	// Every edge can lose messages when a node at one end dies or
	// restarts; some also drop at the high-water mark. Edges with the same
	// socket types share one explanation.
	b.WriteString("\nLossy edges (ZeroMQ neither acknowledges nor resends):\n")
	if len(t.Edges) == 0 {
		b.WriteString("  none: there are no edges.\n")
	}
	var groups []string
	byLabel := map[string][]*topology.Edge{}
	for _, ed := range t.Edges {
		_, _, label := ed.Flow()
		if byLabel[label] == nil {
			groups = append(groups, label)
		}
		byLabel[label] = append(byLabel[label], ed)
	}
	for _, label := range groups {
		eds := byLabel[label]
		fmt.Fprintf(&b, "  %s:\n", label)
		for _, ed := range eds {
			from, to, _ := ed.Flow()
			fmt.Fprintf(&b, "    %s → %s\n", from, to)
		}
		hwm := "nothing is dropped; the sender blocks"
		if eds[0].Lossy != "" {
			hwm = eds[0].Lossy
		}
		writeWrapped(&b, "    ", "At the high-water mark: "+hwm+".")
		if eds[0].PeerLoss != "" {
			writeWrapped(&b, "    ", "When a node at either end dies or restarts: "+eds[0].PeerLoss+".")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// edgeSecurity is an edge's mark in plan: "curve" or "plaintext".
func edgeSecurity(ed *topology.Edge) string {
	if ed.Curve {
		return "curve"
	}
	return "plaintext"
}

// curvePublic is a CURVE socket's public key in Z85 for plan, or what
// stands for it when it is made at apply time. Never the secret.
func curvePublic(t *topology.Topology, inst *topology.Instance, s *topology.Socket) string {
	pub, _, known := t.CurveKeyPair(inst, s)
	if !known {
		return "(made at apply time)"
	}
	return socket.CurveKey(pub).Z85()
}

// bodyWaits says what an instance's body waits for before it starts: the
// nodes it depends on, and the peers the runtime expects on each socket
// (topology.ExpectedPeers).
func bodyWaits(inst *topology.Instance, exp map[topology.SocketRef]int) string {
	var parts []string
	if deps := inst.Node.DependsOn; len(deps) > 0 {
		parts = append(parts, strings.Join(deps, ", ")+" running")
	}
	for _, s := range inst.Sockets {
		n := exp[topology.SocketRef{Instance: inst.Name, Socket: s.Name}]
		if n == 0 {
			continue
		}
		what := "peer"
		if s.Type == "PUB" || s.Type == "XPUB" {
			what = "subscriber"
		}
		parts = append(parts, fmt.Sprintf("%d %s%s on %s", n, what, plural(n), s.Name))
	}
	if len(parts) == 0 {
		return "body starts at once"
	}
	return "body waits for " + strings.Join(parts, ", ")
}

// writeWrapped writes text as lines of at most 100 columns, each starting
// with indent, continuation lines indented two more.
func writeWrapped(b *strings.Builder, indent, text string) {
	const width = 100
	line := indent
	for i, word := range strings.Fields(text) {
		if i > 0 && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent + "  " + word
			continue
		}
		if i > 0 {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
}

// valueString renders a value in HCL syntax.
func valueString(v cty.Value) string {
	v, _ = v.UnmarkDeep()
	if v == cty.NilVal || !v.IsWhollyKnown() {
		return "(unknown)"
	}
	return string(hclwrite.TokensForValue(v).Bytes())
}

// ctyJSON renders a value as plain JSON.
func ctyJSON(v cty.Value) json.RawMessage {
	v, _ = v.UnmarkDeep()
	if v == cty.NilVal || !v.IsWhollyKnown() {
		return json.RawMessage("null")
	}
	b, err := ctyjson.SimpleJSONValue{Value: v}.MarshalJSON()
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// planJSON is the -json form of the plan.
func planJSON(res loadResult) any {
	t := res.topo
	type jsonVar struct {
		Name   string          `json:"name"`
		Value  json.RawMessage `json:"value"`
		Source string          `json:"source"`
	}
	type jsonEndpoint struct {
		URL string `json:"url"`
		Ref string `json:"ref,omitempty"`
	}
	type jsonSocket struct {
		Name      string         `json:"name"`
		Type      string         `json:"type"`
		Bind      []string       `json:"bind"`
		Connect   []jsonEndpoint `json:"connect"`
		Subscribe []string       `json:"subscribe,omitempty"`
		HWM       int            `json:"hwm,omitempty"`
		Identity  string         `json:"identity,omitempty"`
		// Curve is "server", "client" or absent (plaintext); PublicKey a
		// CURVE server's public key when known before apply.
		Curve     string `json:"curve,omitempty"`
		PublicKey string `json:"public_key,omitempty"`
		// ExpectPeers is how many in-topology peers the body waits for.
		ExpectPeers int `json:"expect_peers"`
	}
	type jsonInstance struct {
		Name       string          `json:"name"`
		Node       string          `json:"node"`
		Index      int             `json:"index"`
		Kind       string          `json:"kind"`
		Life       string          `json:"life"`
		Restart    string          `json:"restart"`
		Isolation  string          `json:"isolation"`
		Host       string          `json:"host,omitempty"`
		DependsOn  []string        `json:"depends_on,omitempty"`
		Attributes json.RawMessage `json:"attributes"`
		Sockets    []jsonSocket    `json:"sockets"`
	}
	type jsonEdge struct {
		From        string `json:"from"`
		To          string `json:"to"`
		Label       string `json:"label"`
		Connect     string `json:"connect"`
		Bind        string `json:"bind"`
		ConnectType string `json:"connect_type"`
		BindType    string `json:"bind_type"`
		Endpoint    string `json:"endpoint"`
		Lossy       string `json:"lossy,omitempty"`
		PeerLoss    string `json:"peer_loss,omitempty"`
		Security    string `json:"security"` // "curve" or "plaintext"
	}
	type jsonPlugin struct {
		Name    string            `json:"name"`
		Command string            `json:"command,omitempty"`
		Source  string            `json:"source,omitempty"`
		SHA256  string            `json:"sha256,omitempty"`
		Env     map[string]string `json:"env,omitempty"`
	}
	out := struct {
		Variables  []jsonVar      `json:"variables"`
		Plugins    []jsonPlugin   `json:"plugins"`
		Instances  []jsonInstance `json:"instances"`
		Edges      []jsonEdge     `json:"edges"`
		StartOrder []string       `json:"start_order"`
	}{Variables: []jsonVar{}, Plugins: []jsonPlugin{}, Instances: []jsonInstance{}, Edges: []jsonEdge{}, StartOrder: []string{}}
	for _, inst := range t.InStartOrder() {
		out.StartOrder = append(out.StartOrder, inst.Name)
	}
	for _, v := range t.Variables {
		out.Variables = append(out.Variables, jsonVar{v.Name, ctyJSON(v.Value), v.Source})
	}
	for _, p := range t.Plugins {
		out.Plugins = append(out.Plugins, jsonPlugin{p.Name, p.Command, p.Source, p.SHA256, p.Env})
	}
	exp := t.ExpectedPeers()
	for _, inst := range t.Instances {
		n := inst.Node
		ji := jsonInstance{
			Name: inst.Name, Node: n.Name, Index: inst.Index, Kind: n.Kind, Life: life(res.schemas, n.Kind),
			Restart: n.Restart, Isolation: n.Isolation, Host: n.Host, DependsOn: n.DependsOn,
			Attributes: ctyJSON(inst.Attrs), Sockets: []jsonSocket{},
		}
		for _, s := range inst.Sockets {
			js := jsonSocket{Name: s.Name, Type: s.Type, Bind: []string{}, Connect: []jsonEndpoint{}, Subscribe: s.Subscribe, HWM: s.HWM, Identity: s.Identity,
				ExpectPeers: exp[topology.SocketRef{Instance: inst.Name, Socket: s.Name}], Curve: s.CurveRole}
			if pub, _, known := t.CurveKeyPair(inst, s); known && s.CurveRole == "server" {
				js.PublicKey = socket.CurveKey(pub).Z85()
			}
			for _, e := range s.Bind {
				js.Bind = append(js.Bind, e.URL)
			}
			for _, e := range s.Connect {
				je := jsonEndpoint{URL: e.URL}
				if e.Ref != nil {
					je.Ref = e.Ref.String()
				}
				js.Connect = append(js.Connect, je)
			}
			ji.Sockets = append(ji.Sockets, js)
		}
		out.Instances = append(out.Instances, ji)
	}
	for _, ed := range t.Edges {
		from, to, label := ed.Flow()
		out.Edges = append(out.Edges, jsonEdge{
			From: from.String(), To: to.String(), Label: label,
			Connect: ed.Connect.String(), Bind: ed.Bind.String(),
			ConnectType: ed.ConnectType, BindType: ed.BindType,
			Endpoint: ed.Endpoint, Lossy: ed.Lossy, PeerLoss: ed.PeerLoss, Security: edgeSecurity(ed),
		})
	}
	return out
}
