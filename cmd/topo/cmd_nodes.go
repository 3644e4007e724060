package main

import (
	"context"
	"fmt"
)

// SCAFFOLD: replaced by the command's implementation.
func runNodes(ctx context.Context, c *cli, args []string) int {
	fmt.Fprintln(c.stderr, "topo: not implemented yet")
	return 1
}
