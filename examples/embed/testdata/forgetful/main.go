// Command forgetful is an embedding program that runs the topology file
// named by its argument and does NOT call runtime.ServeIfChild: its nodes
// with isolation = "process" must fail with an error that says to add it
// (examples/embed_process_test.go).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: forgetful FILE")
		os.Exit(2)
	}
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rt, err := runtime.LoadFile(context.Background(), os.Args[1], runtime.Options{Registry: &reg, Stdout: os.Stdout})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := rt.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
