package main

import (
	"context"
	"fmt"
	goruntime "runtime"
)

// version is topo's version; release builds set it with
// -ldflags "-X main.version=v1.2.3".
var version = "v0.1.0"

const versionHelp = `Usage: topo version

  Prints topo's version and the Go toolchain it was built with.

Options:
`

// runVersion implements `topo version`.
func runVersion(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "version", versionHelp)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(c.stderr, "topo version: takes no arguments")
		return 1
	}
	fmt.Fprintf(c.stdout, "topo %s\n%s %s/%s\n", version, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
	return 0
}
