package main

import (
	"context"
	"fmt"
)

const graphHelp = `Usage: topo graph [options] FILE

  Prints the topology as a graph: one box per instance, one arrow per edge
  in the direction messages flow, labelled with the socket types
  ("PUSH→PULL"); edges that can drop messages are dashed. The output is
  deterministic. Render DOT with Graphviz: topo graph f.hcl | dot -Tsvg.

Options:
`

// runGraph implements `topo graph`.
func runGraph(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "graph", graphHelp)
	format := fs.String("format", "dot", "output format: dot or mermaid")
	lf := addLoadFlags(fs, "do not colour diagnostics")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *format != "dot" && *format != "mermaid" {
		fmt.Fprintf(c.stderr, "topo graph: -format must be dot or mermaid, not %q\n", *format)
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
	if *format == "mermaid" {
		err = res.topo.WriteMermaid(c.stdout)
	} else {
		err = res.topo.WriteDOT(c.stdout)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "topo graph: %v\n", err)
		return 1
	}
	return 0
}
