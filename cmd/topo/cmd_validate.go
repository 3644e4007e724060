package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/topology"
)

const validateHelp = `Usage: topo validate [options] FILE

  Checks a topology file (.hcl, or .hcl.json for the JSON form; - reads
  stdin) without running it: syntax, variables, references between nodes,
  kinds and their attributes and sockets, values the kinds themselves
  reject (size = -1 on generate), socket-type compatibility of every edge,
  endpoints bound twice, inproc:// across process boundaries. Problems
  are reported with their file, line and source snippet; warnings point at
  what may be intended (external peers, wildcard binds, SUB without a
  subscription). With host blocks it also checks placement: every node on
  a declared host, references across hosts reaching a tcp bind that other
  machines can connect to (not loopback, not an ephemeral port),
  depends_on within one host, hosts that run nothing.

  The plugins the file declares are started (and built from source first
  if needed) to learn their kinds and to check their nodes' values, so
  plugin nodes are checked like any other (a plugin built before topo
  could ask it to check values gets a warning instead); -plugins=false
  skips that and only warns that they were not checked. Ctrl-C while they
  start kills them at once (exit 1); a second Ctrl-C exits 130 without
  waiting.

  Exit status: 0 when the file is valid (warnings allowed), 1 otherwise.

Options:
`

// runValidate implements `topo validate`.
func runValidate(ctx context.Context, c *cli, args []string) int {
	cmd, code, done := startFileCommand(ctx, c, "validate", validateHelp, args,
		"print the result as one JSON object on stdout (valid, error_count, warning_count, diagnostics), as terraform validate -json does",
		func(_ fileCommand, res loadResult) any { // with the warnings of a valid file
			out := validateJSON(res.diags)
			out.Hosts = hostsJSON(res.topo)
			return out
		})
	if done {
		return code
	}
	res, err := loadTopology(ctx, c, cmd.path, cmd.loadFlags)
	if err != nil && exitCode(err) == 130 {
		return 130 // a second Ctrl-C: out at once
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "topo validate: %v\n", err)
		return exitCode(err)
	}
	color := c.isTTY && !*cmd.noColor
	renderDiags(c.stderr, res.files, res.diags, color, diagWidth(c))
	if res.diags.HasErrors() {
		return 1
	}
	msg := "The topology is valid"
	if n := len(res.diags); n > 0 {
		msg += fmt.Sprintf(", with %d warning%s", n, plural(n))
	}
	msg += "."
	if t := res.topo; t != nil && len(t.Hosts) > 0 {
		names := make([]string, len(t.Hosts))
		for i, h := range t.Hosts {
			names[i] = h.Name
		}
		msg += fmt.Sprintf(" It runs on %d host%s: %s.", len(names), plural(len(names)), strings.Join(names, ", "))
	}
	if color {
		msg = "\x1b[32m" + msg + "\x1b[0m"
	}
	fmt.Fprintln(c.stdout, msg)
	return 0
}

// validateOutput is `validate -json`'s one object, Terraform's shape.
type validateOutput struct {
	FormatVersion string     `json:"format_version"`
	Valid         bool       `json:"valid"`
	ErrorCount    int        `json:"error_count"`
	WarningCount  int        `json:"warning_count"`
	Diagnostics   []jsonDiag `json:"diagnostics"`
	// Hosts are the declared hosts of a valid file (absent without).
	Hosts []jsonHost `json:"hosts,omitempty"`
}

// jsonHost is one declared host in -json output: its address (after
// any override) and the instances placed on it.
type jsonHost struct {
	Name          string   `json:"name"`
	Address       string   `json:"address"`
	AddressSource string   `json:"address_source"`
	Instances     []string `json:"instances"`
}

// hostsJSON lists t's hosts for -json output; nil without hosts.
func hostsJSON(t *topology.Topology) []jsonHost {
	if t == nil {
		return nil
	}
	var out []jsonHost
	for _, h := range t.Hosts {
		jh := jsonHost{Name: h.Name, Address: h.Address, AddressSource: h.AddressSource, Instances: []string{}}
		for _, inst := range t.InstancesOn(h.Name) {
			jh.Instances = append(jh.Instances, inst.Name)
		}
		out = append(out, jh)
	}
	return out
}

func validateJSON(diags hcl.Diagnostics) validateOutput {
	out := validateOutput{FormatVersion: "1.0", Diagnostics: toJSONDiags(diags)}
	for _, d := range out.Diagnostics {
		if d.Severity == "error" {
			out.ErrorCount++
		} else {
			out.WarningCount++
		}
	}
	out.Valid = out.ErrorCount == 0
	return out
}
