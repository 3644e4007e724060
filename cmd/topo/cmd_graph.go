package main

import (
	"context"
	"fmt"

	"github.com/topo-zmq/topo/topology"
)

const graphHelp = `Usage: topo graph [options] FILE

  Prints the topology as a graph: one box per instance, one arrow per edge
  in the direction messages flow, labelled with the socket types
  ("PUSH→PULL"); edges that can drop messages are dashed. The output is
  deterministic. Render DOT with Graphviz: topo graph f.hcl | dot -Tsvg.
  When the file declares hosts, each host is a cluster (DOT subgraph
  cluster_NAME, a Mermaid subgraph) labelled with its address, and an
  edge across hosts also shows the address it connects to. -json (or
  -format json) prints the same graph as one JSON object: hosts,
  instances, edges.

Options:
`

// runGraph implements `topo graph`.
func runGraph(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "graph", graphHelp)
	format := fs.String("format", "dot", "output format: dot, mermaid or json")
	asJSON := fs.Bool("json", false, "print the graph as one JSON object (the same as -format json)")
	lf := addLoadFlags(fs, "do not colour diagnostics")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *asJSON {
		*format = "json"
	}
	if *format != "dot" && *format != "mermaid" && *format != "json" {
		fmt.Fprintf(c.stderr, "topo graph: -format must be dot or mermaid (or json), not %q\n", *format)
		return 1
	}
	path, ok := wantOneFile(c, fs, "graph")
	if !ok {
		return 1
	}
	res, code := loadForOutput(ctx, c, "graph", path, lf)
	if code != 0 {
		return code
	}
	var err error
	switch *format {
	case "json":
		err = writeJSON(c.stdout, graphJSON(res.topo))
	case "mermaid":
		err = res.topo.WriteMermaid(c.stdout)
	default:
		err = res.topo.WriteDOT(c.stdout)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "topo graph: %v\n", err)
		return 1
	}
	return 0
}

// graphJSON is `topo graph -json`: the instances, grouped by host when
// the file declares hosts, and the edges in message-flow direction.
func graphJSON(t *topology.Topology) any {
	type jsonNode struct {
		Name string `json:"name"`
		Node string `json:"node"`
		Kind string `json:"kind"`
		Host string `json:"host,omitempty"`
	}
	type jsonEdge struct {
		From        string `json:"from"`
		To          string `json:"to"`
		Label       string `json:"label"`
		Endpoint    string `json:"endpoint"`
		Lossy       bool   `json:"lossy"`
		CrossHost   bool   `json:"cross_host,omitempty"`
		ConnectHost string `json:"connect_host,omitempty"`
		BindHost    string `json:"bind_host,omitempty"`
	}
	out := struct {
		Hosts     []jsonHost `json:"hosts,omitempty"`
		Instances []jsonNode `json:"instances"`
		Edges     []jsonEdge `json:"edges"`
	}{Hosts: hostsJSON(t), Instances: []jsonNode{}, Edges: []jsonEdge{}}
	for _, in := range t.Instances {
		out.Instances = append(out.Instances, jsonNode{in.Name, in.Node.Name, in.Node.Kind, in.Host})
	}
	for _, e := range t.Edges {
		from, to, label := e.Flow()
		out.Edges = append(out.Edges, jsonEdge{from.String(), to.String(), label, e.Endpoint, e.Lossy != "", e.CrossHost, e.ConnectHost, e.BindHost})
	}
	return out
}
