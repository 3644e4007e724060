package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/topo-zmq/topo/topology"
)

const fmtHelp = `Usage: topo fmt [options] [FILE|DIR|-]...

  Rewrites topology files (native syntax) in canonical format, in place.
  A directory means every *.hcl file in it (not recursive); no argument
  means the current directory; - formats stdin to stdout. Files with syntax
  errors are reported and left untouched. JSON files are not formatted.

  Exit status: 0 on success; 1 when a file could not be read, parsed or
  written; 3 with -check when some file is not formatted (like terraform
  fmt -check).

Options:
`

// runFmt implements `topo fmt`.
func runFmt(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "fmt", fmtHelp)
	check := fs.Bool("check", false, "only check: exit 3 and list the files that are not formatted")
	diff := fs.Bool("diff", false, "print a unified diff of the changes")
	write := fs.Bool("write", true, "write the result to the file (-write=false leaves files alone)")
	list := fs.Bool("list", true, "print the names of files whose formatting changes")
	noColor := fs.Bool("no-color", false, "do not colour diagnostics")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	color := c.isTTY && !*noColor
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{"."}
	}
	failed, unformatted := false, false
	for _, p := range paths {
		if p == "-" {
			src, err := io.ReadAll(io.LimitReader(c.stdin, topology.MaxFileSize+1))
			if err != nil {
				fmt.Fprintf(c.stderr, "topo fmt: reading stdin: %v\n", err)
				failed = true
				continue
			}
			out, ok := formatSource(c, "<stdin>", src, color)
			if !ok {
				failed = true
				continue
			}
			changed := !bytes.Equal(src, out)
			unformatted = unformatted || changed
			if *diff && changed {
				io.WriteString(c.stdout, unifiedDiff("<stdin>", src, out))
			}
			if !*check && !*diff {
				c.stdout.Write(out)
			}
			continue
		}
		files, err := fmtTargets(p)
		if err != nil {
			fmt.Fprintf(c.stderr, "topo fmt: %v\n", err)
			failed = true
			continue
		}
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				fmt.Fprintf(c.stderr, "topo fmt: %v\n", err)
				failed = true
				continue
			}
			out, ok := formatSource(c, file, src, color)
			if !ok {
				failed = true
				continue
			}
			if bytes.Equal(src, out) {
				continue
			}
			unformatted = true
			if *list {
				fmt.Fprintln(c.stdout, file)
			}
			if *diff {
				io.WriteString(c.stdout, unifiedDiff(file, src, out))
			}
			if *write && !*check {
				if err := writeFileKeepMode(file, out); err != nil {
					fmt.Fprintf(c.stderr, "topo fmt: %v\n", err)
					failed = true
				}
			}
		}
	}
	switch {
	case failed:
		return 1
	case *check && unformatted:
		return 3
	}
	return 0
}

// fmtTargets expands a fmt argument: a file as is, a directory to its
// *.hcl files.
func fmtTargets(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %w", p, err)
	}
	if !st.IsDir() {
		if strings.HasSuffix(strings.ToLower(p), ".json") {
			return nil, fmt.Errorf("%s: only native syntax is formatted, not JSON", p)
		}
		return []string{p}, nil
	}
	return filepath.Glob(filepath.Join(p, "*.hcl"))
}

// formatSource formats native syntax, refusing (with diagnostics on
// stderr) a file that does not parse.
func formatSource(c *cli, name string, src []byte, color bool) ([]byte, bool) {
	if len(src) > topology.MaxFileSize {
		fmt.Fprintf(c.stderr, "topo fmt: %s is larger than %d bytes; not formatting it\n", name, topology.MaxFileSize)
		return nil, false
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		files := map[string]*hcl.File{name: {Bytes: src}}
		if f != nil {
			files[name] = f
		}
		renderDiags(c.stderr, files, diags, color, diagWidth(c))
		fmt.Fprintf(c.stderr, "topo fmt: %s has syntax errors; it was not formatted\n", name)
		return nil, false
	}
	return hclwrite.Format(src), true
}

func writeFileKeepMode(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".topo-fmt-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
