package main

import (
	"context"
	"fmt"
)

// SCAFFOLD: replaced by the command's implementation.
func runValidate(ctx context.Context, c *cli, args []string) int {
	fmt.Fprintln(c.stderr, "topo: not implemented yet")
	return 1
}
func runPlan(ctx context.Context, c *cli, args []string) int {
	fmt.Fprintln(c.stderr, "topo: not implemented yet")
	return 1
}
func runGraph(ctx context.Context, c *cli, args []string) int {
	fmt.Fprintln(c.stderr, "topo: not implemented yet")
	return 1
}
func runFmt(ctx context.Context, c *cli, args []string) int {
	fmt.Fprintln(c.stderr, "topo: not implemented yet")
	return 1
}
func runVersion(ctx context.Context, c *cli, args []string) int {
	fmt.Fprintln(c.stderr, "topo: not implemented yet")
	return 1
}
