package main

import (
	"context"
	"fmt"

	"github.com/topo-zmq/topo/plugins"
)

// runPluginServe is the hidden command `topo plugin-serve`: topo serving its
// own built-in kinds as a plugin, so that a node with isolation = "process"
// runs in a subprocess of its own (runtime/pluginhost starts it; see
// pluginhost.Options.Self). Like any plugin it is not meant to be run by
// hand: without the host's handshake cookie it says so and exits 1.
func runPluginServe(ctx context.Context, c *cli, args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(c.stderr, "topo plugin-serve: takes no arguments")
		return 1
	}
	reg, err := builtinRegistry()
	if err != nil {
		fmt.Fprintf(c.stderr, "topo plugin-serve: %v\n", err)
		return 1
	}
	plugins.Serve(reg.Kinds()...)
	return 0
}
