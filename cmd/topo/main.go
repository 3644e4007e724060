// Command topo validates, plans, draws and runs ZeroMQ topologies declared in HCL.
//
// Run `topo -help` for the commands. This file holds only the dispatcher:
// each command lives in its own cmd_*.go file and returns an exit code;
// only main calls os.Exit. Shared flags are in flags.go; validate, plan
// and graph load files with the runtime's own loader (load.go), and every
// command that starts plugins handles Ctrl-C as interrupt.go says.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/agext/levenshtein"
	"golang.org/x/term"
)

// cli is what every command gets: its streams and environment, so tests can
// run commands in-process.
type cli struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
	environ        func() []string
	// isTTY reports whether stdout is a terminal, errTTY whether stderr
	// is: each stream is decided on its own (`topo apply f.hcl 2>log`
	// keeps the live status on stdout and plain logs in the file).
	isTTY, errTTY bool
	// signals delivers SIGINT/SIGTERM; nil in tests that do not need it.
	signals <-chan os.Signal
}

type command struct {
	synopsis string
	run      func(ctx context.Context, c *cli, args []string) int
	hidden   bool
}

// commands is filled by the cmd_*.go files' tables below; a map literal keeps
// one obvious place for the list.
func commands() map[string]command {
	return map[string]command{
		"validate": {synopsis: "Check a topology file and report problems with their source lines", run: runValidate},
		"plan":     {synopsis: "Show the resolved instances, endpoints, edges and start order", run: runPlan},
		"apply":    {synopsis: "Run a topology in the foreground until it completes or is interrupted", run: runApply},
		"graph":    {synopsis: "Print the topology graph as DOT, Mermaid or JSON", run: runGraph},
		"fmt":      {synopsis: "Rewrite topology files in canonical format", run: runFmt},
		"nodes":    {synopsis: "List every available node kind with its attributes and sockets", run: runNodes},
		"version":  {synopsis: "Print the topo version", run: runVersion},
		"top":      {synopsis: "Show a running topology live, from topo apply -http", run: runTop},
		"tap":      {synopsis: "Print the messages through a socket of a running topology (topo apply -http-tap)", run: runTap},
		"keygen":   {synopsis: "Write a CURVE key pair (NAME.key, NAME.pub) or a topology seed", run: runKeygen},
		"export":   {synopsis: "Print Kubernetes manifests for a topology: topo export kubernetes FILE", run: runExport},

		"plugin-serve": {synopsis: "Serve the built-in kinds as a plugin (used by isolation = \"process\")", run: runPluginServe, hidden: true},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: topo <command> [options] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n, c := range cmds {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].synopsis)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `topo <command> -help` for a command's options.")
}

// dispatch runs one command line and returns the exit code.
func dispatch(ctx context.Context, c *cli, args []string) int {
	if len(args) == 0 {
		usage(c.stderr)
		return 1
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(c.stdout)
		return 0
	case "-v", "-version", "--version":
		args = []string{"version"}
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "topo: unknown command %q.%s\n\n", args[0], suggestCommand(args[0]))
		usage(c.stderr)
		return 1
	}
	return cmd.run(ctx, c, args[1:])
}

// suggestCommand is " Did you mean \"validate\"?" for a mistyped command
// (the nearest visible command within a plausible typo distance), or "".
func suggestCommand(given string) string {
	best, bestDist := "", 0
	for name, cmd := range commands() {
		if cmd.hidden {
			continue
		}
		d := levenshtein.Distance(strings.ToLower(given), name, nil)
		if d > 2 && !(len(name) > 5 && d <= len(name)/3) {
			continue
		}
		if best == "" || d < bestDist || d == bestDist && name < best {
			best, bestDist = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	c := &cli{
		stdout:  os.Stdout,
		stderr:  os.Stderr,
		stdin:   os.Stdin,
		getenv:  os.Getenv,
		environ: os.Environ,
		isTTY:   isTerminal(os.Stdout),
		errTTY:  isTerminal(os.Stderr),
		signals: sigs,
	}
	os.Exit(dispatch(context.Background(), c, os.Args[1:]))
}

// isTerminal reports whether f is a terminal (not /dev/null, which is a
// character device too).
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}
