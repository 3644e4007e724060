package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/topo-zmq/topo/topology"
)

// varArgFlag is a repeatable -var or -var-file flag: every occurrence is
// appended, in command-line order, to one shared list, so that -var and
// -var-file interleave the way Terraform's precedence needs.
type varArgFlag struct {
	name string // "var" or "var-file"
	args *[]topology.VarArg
}

func (v varArgFlag) String() string { return "" }

func (v varArgFlag) Set(s string) error {
	*v.args = append(*v.args, topology.VarArg{Flag: v.name, Value: s})
	return nil
}

// addVarFlags defines -var and -var-file on fs and returns the list they
// fill.
func addVarFlags(fs *flag.FlagSet) *[]topology.VarArg {
	args := new([]topology.VarArg)
	fs.Var(varArgFlag{"var", args}, "var", "set a variable: -var 'name=value' (repeatable; later wins)")
	fs.Var(varArgFlag{"var-file", args}, "var-file", "read variables from an HCL file of name = value lines (repeatable)")
	return args
}

// parseInterspersed parses args with fs, allowing flags after positional
// arguments (`topo graph f.hcl -format mermaid`), as users type them; "--"
// ends flag parsing. Afterwards fs.Args() holds the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// flag stops at "--" (consumed) or at the first non-flag argument.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, positional...))
}

// newFlagSet makes a command's flag set whose -help prints help (a
// description, then the options) to stdout.
func newFlagSet(c *cli, name, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprint(c.stderr, help)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; done reports that the command should return
// code right away (-help, or a flag error already reported).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := parseInterspersed(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 1, true
	}
	return 0, false
}

// wantOneFile checks a command got exactly one FILE argument.
func wantOneFile(c *cli, fs *flag.FlagSet, name string) (string, bool) {
	if fs.NArg() != 1 {
		fmt.Fprintf(c.stderr, "topo %s: want exactly one FILE (or - for stdin), got %d arguments\n\n", name, fs.NArg())
		fs.Usage()
		return "", false
	}
	return fs.Arg(0), true
}

// loadFlags are the flags of the commands that load a file without
// running it (validate, plan, graph): what loadTopology needs.
type loadFlags struct {
	noColor *bool
	plugins *bool // start the declared plugins to learn and check their kinds
	vars    *[]topology.VarArg
}

// addLoadFlags defines -no-color (with noColorUsage), -plugins, -var and
// -var-file on fs.
func addLoadFlags(fs *flag.FlagSet, noColorUsage string) loadFlags {
	return loadFlags{
		noColor: fs.Bool("no-color", false, noColorUsage),
		plugins: fs.Bool("plugins", true, "start the declared plugins (building them from source if needed) to check their kinds"),
		vars:    addVarFlags(fs),
	}
}

// fileCommand is what validate and plan take: the load flags, -json and
// one FILE.
type fileCommand struct {
	loadFlags
	json bool
	path string
}

// startFileCommand parses the command line of validate or plan, whose
// -json flag says jsonUsage, and with -json runs the command: runJSON,
// with asJSON(cmd, res) the output of a valid file. done reports that the command
// should return code right away (-help, a flag error, or -json done).
// extra defines a command's own flags on the flag set.
func startFileCommand(ctx context.Context, c *cli, name, help string, args []string, jsonUsage string, asJSON func(fileCommand, loadResult) any, extra ...func(*flag.FlagSet)) (cmd fileCommand, code int, done bool) {
	fs := newFlagSet(c, name, help)
	cmd.loadFlags = addLoadFlags(fs, "do not colour the output")
	fs.BoolVar(&cmd.json, "json", false, jsonUsage)
	for _, f := range extra {
		f(fs)
	}
	cmd.path, code, done = parseFileArgs(c, fs, name, args)
	if !done && cmd.json {
		return cmd, runJSON(ctx, c, cmd, asJSON), true
	}
	return cmd, code, done
}

// parseFileArgs is parseFlags then wantOneFile: done reports that the
// command should return code right away.
func parseFileArgs(c *cli, fs *flag.FlagSet, name string, args []string) (path string, code int, done bool) {
	if code, done := parseFlags(fs, args); done {
		return "", code, true
	}
	path, ok := wantOneFile(c, fs, name)
	if !ok {
		return "", 1, true
	}
	return path, 0, false
}
