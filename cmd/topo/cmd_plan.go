package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
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
  types; the start order (apply binds every instance in that order, and
  connects each in that order as soon as it and the instances it connects
  to have bound) with what each body waits for before it starts (the
  peers expected on each socket, the nodes it depends on);
  and, per edge, what it can lose: what it drops at the high-water mark
  (PUB, XPUB, ROUTER) and what is lost when the node at either end dies or
  restarts (every edge: ZeroMQ does not resend).

  When the file declares hosts, the instances are grouped by host, each
  edge that crosses hosts is marked and listed with the address its
  connecting side dials (the bound host's address), and each body's wait
  says which host its peers come from. -host NAME shows only what host
  NAME runs: its instances, the edges that touch them, its start order.

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
	var host string
	cmd, code, done := startFileCommand(ctx, c, "plan", planHelp, args,
		"print the plan as one JSON object on stdout (an invalid file: its diagnostics, as validate -json prints them)",
		func(cmd fileCommand, res loadResult) any {
			// The warnings of a valid file go to stderr as text.
			renderDiags(c.stderr, res.files, res.diags, c.errTTY && !*cmd.noColor, diagWidth(c))
			if d := checkHostFlag(res.topo, host); d != nil {
				return validateJSON(append(res.diags, d))
			}
			return planJSON(res, host)
		},
		func(fs *flag.FlagSet) {
			fs.StringVar(&host, "host", "", "show only what host `NAME` runs (the file must declare it; all: every host)")
		})
	if done {
		return code
	}
	res, code := loadForOutput(ctx, c, "plan", cmd.path, cmd.loadFlags)
	if code != 0 {
		return code
	}
	if d := checkHostFlag(res.topo, host); d != nil {
		renderDiags(c.stderr, res.files, hcl.Diagnostics{d}, c.isTTY && !*cmd.noColor, diagWidth(c))
		return 1
	}
	if err := writePlan(c.stdout, res, host); err != nil {
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

// checkHostFlag explains a -host value the file does not declare; nil
// when it does, or when it is "" or "all".
func checkHostFlag(t *topology.Topology, host string) *hcl.Diagnostic {
	if host == "" || host == topology.AllHosts || t == nil || t.Host(host) != nil {
		return nil
	}
	names := make([]string, len(t.Hosts))
	for i, h := range t.Hosts {
		names[i] = h.Name
	}
	if len(names) == 0 {
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No hosts to choose from",
			Detail: fmt.Sprintf("-host %s: the file declares no host blocks, so everything runs in one topo apply; drop -host.", host)}
	}
	detail := fmt.Sprintf("-host %s: the file declares no such host. Its hosts: %s (or all).", host, strings.Join(names, ", "))
	if s := closest(host, names); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown host", Detail: detail}
}

// closest is the name nearest to s when it is a plausible typo, or "".
func closest(s string, names []string) string {
	best, dist := "", 3
	for _, n := range names {
		if d := levenshtein.Distance(s, n, nil); d < dist {
			best, dist = n, d
		}
	}
	return best
}

// planView is what one plan shows: everything, or one host's share.
type planView struct {
	t    *topology.Topology
	host string // "" or "all": everything
}

func (v planView) all() bool { return v.host == "" || v.host == topology.AllHosts }

func (v planView) instances() []*topology.Instance {
	if v.all() {
		return v.t.Instances
	}
	return v.t.InstancesOn(v.host)
}

// edges are the edges with an end on the viewed host.
func (v planView) edges() []*topology.Edge {
	if v.all() {
		return v.t.Edges
	}
	var out []*topology.Edge
	for _, e := range v.t.Edges {
		if e.ConnectHost == v.host || e.BindHost == v.host {
			out = append(out, e)
		}
	}
	return out
}

func hostTitle(h *topology.Host) string {
	return fmt.Sprintf("host %s (%s)", h.Name, h.Address)
}

// writePlan renders the plan as text; host "" (or "all") is the whole
// file, another the share of that host.
func writePlan(w io.Writer, res loadResult, host string) error {
	t := res.topo
	v := planView{t: t, host: host}
	insts, edges := byHost(t, v.instances()), v.edges()
	var b strings.Builder
	crossing := 0
	for _, e := range edges {
		if e.CrossHost {
			crossing++
		}
	}
	switch {
	case len(t.Hosts) == 0:
		fmt.Fprintf(&b, "Plan: %d instance%s of %d node%s, %d edge%s.\n",
			len(t.Instances), plural(len(t.Instances)), len(t.Nodes), plural(len(t.Nodes)), len(t.Edges), plural(len(t.Edges)))
	case v.all():
		fmt.Fprintf(&b, "Plan: %d instance%s of %d node%s on %d host%s, %d edge%s (%d across hosts).\n",
			len(t.Instances), plural(len(t.Instances)), len(t.Nodes), plural(len(t.Nodes)), len(t.Hosts), plural(len(t.Hosts)),
			len(t.Edges), plural(len(t.Edges)), crossing)
	default:
		fmt.Fprintf(&b, "Plan for %s: %d of %d instance%s, %d edge%s (%d across hosts).\n",
			hostTitle(t.Host(host)), len(insts), len(t.Instances), plural(len(t.Instances)), len(edges), plural(len(edges)), crossing)
	}

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

	if len(t.Hosts) > 0 {
		b.WriteString("\nHosts:\n")
		width := 0
		for _, h := range t.Hosts {
			width = max(width, len(h.Name)+len(h.Address)+3)
		}
		for _, h := range t.Hosts {
			var names []string
			for _, inst := range t.InstancesOn(h.Name) {
				names = append(names, inst.Name)
			}
			runs := strings.Join(names, ", ")
			if runs == "" {
				runs = "(nothing)"
			}
			mark := ""
			if !v.all() && h.Name == host {
				mark = "  <- this plan"
			}
			fmt.Fprintf(&b, "  %-*s  %s%s\n", width, h.Name+" ("+h.Address+")", runs, mark)
		}
	}

	heading := ""
	for _, inst := range insts {
		if len(t.Hosts) == 0 {
			if heading == "" {
				heading = "Instances:"
				b.WriteString("\n" + heading + "\n")
			}
		} else if h := t.Host(inst.Host); h != nil && heading != hostTitle(h) {
			heading = hostTitle(h)
			fmt.Fprintf(&b, "\nInstances on %s:\n", heading)
		}
		n := inst.Node
		fmt.Fprintf(&b, "  %s: %s (%s), restart %s, isolation %s", inst.Name, n.Kind, life(res.schemas, n.Kind), n.Restart, n.Isolation)
		if inst.Host != "" && len(t.Hosts) == 0 {
			fmt.Fprintf(&b, ", host %s", inst.Host)
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
	if len(edges) == 0 {
		b.WriteString("  none\n")
	}
	for _, ed := range edges {
		from, to, label := ed.Flow()
		mark := ""
		if ed.Lossy != "" {
			mark = "  [may drop]"
		}
		if ed.CrossHost {
			fromHost, toHost := ed.ConnectHost, ed.BindHost
			if from != ed.Connect {
				fromHost, toHost = toHost, fromHost
			}
			mark += fmt.Sprintf("  [%s → %s]", fromHost, toHost)
		}
		fmt.Fprintf(&b, "  %s → %s  %s  via %s  %s%s\n", from, to, label, ed.Endpoint, edgeSecurity(ed), mark)
	}

	if len(t.Hosts) > 0 {
		b.WriteString("\nCross-host edges (the connecting side dials the bound host's address):\n")
		if crossing == 0 {
			b.WriteString("  none\n")
		}
		for _, ed := range edges {
			if ed.CrossHost {
				fmt.Fprintf(&b, "  %s on %s connects to %s on %s at %s\n", ed.Connect, ed.ConnectHost, ed.Bind, ed.BindHost, ed.Endpoint)
			}
		}
	}

	b.WriteString("\nStart order (apply binds in this order, and connects in it, each instance once what it connects to is bound; a body starts when what it waits for is there):\n")
	exp := t.ExpectedPeers()
	peers := t.ExpectedPeerRefs()
	hostOf := map[string]string{}
	for _, inst := range t.Instances {
		hostOf[inst.Name] = inst.Host
	}
	var order []*topology.Instance
	for _, inst := range t.InStartOrder() {
		if v.all() || inst.Host == host {
			order = append(order, inst)
		}
	}
	width := 0
	for _, inst := range order {
		width = max(width, len(inst.Name))
	}
	for i, inst := range order {
		waits := bodyWaits(inst, exp)
		if len(t.Hosts) > 0 {
			waits = bodyWaitsHosts(inst, exp, peers, hostOf)
		}
		fmt.Fprintf(&b, "  %d. %-*s  %s\n", i+1, width, inst.Name, waits)
	}

	// Every edge can lose messages when a node at one end dies or
	// restarts; some also drop at the high-water mark. Edges with the same
	// socket types share one explanation.
	b.WriteString("\nLossy edges (ZeroMQ neither acknowledges nor resends):\n")
	if len(edges) == 0 {
		b.WriteString("  none: there are no edges.\n")
	}
	var groups []string
	byLabel := map[string][]*topology.Edge{}
	for _, ed := range edges {
		_, _, label := ed.Flow()
		if ed.CrossHost {
			label += " across hosts" // its own PeerLoss
		}
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

// bodyWaitsHosts is bodyWaits for a file with hosts: each socket's
// expected peers also say which hosts they come from.
func bodyWaitsHosts(inst *topology.Instance, exp map[topology.SocketRef]int, peers map[topology.SocketRef][]topology.SocketRef, hostOf map[string]string) string {
	var parts []string
	if deps := inst.Node.DependsOn; len(deps) > 0 {
		parts = append(parts, strings.Join(deps, ", ")+" running")
	}
	for _, s := range inst.Sockets {
		ref := topology.SocketRef{Instance: inst.Name, Socket: s.Name}
		n := exp[ref]
		if n == 0 {
			continue
		}
		what := "peer"
		if s.Type == "PUB" || s.Type == "XPUB" {
			what = "subscriber"
		}
		var hosts []string
		count := map[string]int{}
		for _, p := range peers[ref] {
			h := hostOf[p.Instance]
			if count[h] == 0 {
				hosts = append(hosts, h)
			}
			count[h]++
		}
		var from []string
		for _, h := range hosts {
			from = append(from, fmt.Sprintf("%d from %s", count[h], h))
		}
		parts = append(parts, fmt.Sprintf("%d %s%s on %s (%s)", n, what, plural(n), s.Name, strings.Join(from, ", ")))
	}
	if len(parts) == 0 {
		return "body starts at once"
	}
	return "body waits for " + strings.Join(parts, ", ")
}

// byHost orders instances by their host's declaration order, file order
// within a host (unchanged without hosts).
func byHost(t *topology.Topology, insts []*topology.Instance) []*topology.Instance {
	if len(t.Hosts) == 0 {
		return insts
	}
	rank := map[string]int{}
	for i, h := range t.Hosts {
		rank[h.Name] = i
	}
	out := append([]*topology.Instance(nil), insts...)
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Host] < rank[out[j].Host] })
	return out
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

// planJSON is the -json form of the plan; host as for writePlan. With
// hosts it has "hosts" (each with its address and instances), each
// instance's host and each edge's connect_host, bind_host and cross_host;
// with -host, "host" names the host shown and only its share is listed.
func planJSON(res loadResult, host string) any {
	t := res.topo
	v := planView{t: t, host: host}
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
		ConnectHost string `json:"connect_host,omitempty"`
		BindHost    string `json:"bind_host,omitempty"`
		CrossHost   bool   `json:"cross_host,omitempty"`
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
		Host       string         `json:"host,omitempty"`
		Hosts      []jsonHost     `json:"hosts,omitempty"`
		Variables  []jsonVar      `json:"variables"`
		Plugins    []jsonPlugin   `json:"plugins"`
		Instances  []jsonInstance `json:"instances"`
		Edges      []jsonEdge     `json:"edges"`
		StartOrder []string       `json:"start_order"`
	}{Variables: []jsonVar{}, Plugins: []jsonPlugin{}, Instances: []jsonInstance{}, Edges: []jsonEdge{}, StartOrder: []string{}}
	if !v.all() {
		out.Host = host
	}
	out.Hosts = hostsJSON(t)
	for _, inst := range t.InStartOrder() {
		if v.all() || inst.Host == host {
			out.StartOrder = append(out.StartOrder, inst.Name)
		}
	}
	for _, v := range t.Variables {
		out.Variables = append(out.Variables, jsonVar{v.Name, ctyJSON(v.Value), v.Source})
	}
	for _, p := range t.Plugins {
		out.Plugins = append(out.Plugins, jsonPlugin{p.Name, p.Command, p.Source, p.SHA256, p.Env})
	}
	exp := t.ExpectedPeers()
	for _, inst := range v.instances() {
		n := inst.Node
		ji := jsonInstance{
			Name: inst.Name, Node: n.Name, Index: inst.Index, Kind: n.Kind, Life: life(res.schemas, n.Kind),
			Restart: n.Restart, Isolation: n.Isolation, Host: inst.Host, DependsOn: n.DependsOn,
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
	for _, ed := range v.edges() {
		from, to, label := ed.Flow()
		out.Edges = append(out.Edges, jsonEdge{
			ConnectHost: ed.ConnectHost, BindHost: ed.BindHost, CrossHost: ed.CrossHost,
			From: from.String(), To: to.String(), Label: label,
			Connect: ed.Connect.String(), Bind: ed.Bind.String(),
			ConnectType: ed.ConnectType, BindType: ed.BindType,
			Endpoint: ed.Endpoint, Lossy: ed.Lossy, PeerLoss: ed.PeerLoss, Security: edgeSecurity(ed),
		})
	}
	return out
}
