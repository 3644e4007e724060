package topology

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
)

// MaxFileSize is the largest topology or variables file Parse accepts.
// Real topologies are a few kilobytes; the limit turns a mistaken argument
// (a log file, a binary) into a clear error instead of a long parse.
const MaxFileSize = 4 << 20

// maxNesting bounds bracket and brace nesting, so hostile input cannot
// drive the recursive-descent parser arbitrarily deep.
const maxNesting = 128

// File is a parsed topology file, not yet evaluated. Parse and ParseFile
// make one; Decode evaluates it. A File is not safe for concurrent use:
// Decode adds the -var-file sources it reads to Sources.
type File struct {
	// Filename is the name the file was parsed under.
	Filename string
	// Dir is the directory relative paths in the file (plugin command and
	// source) are resolved against.
	Dir string

	body    hcl.Body
	sources map[string]*hcl.File
}

// Sources returns every source file the diagnostics of this File may refer
// to, by name, for hcl.NewDiagnosticTextWriter.
func (f *File) Sources() map[string]*hcl.File {
	out := make(map[string]*hcl.File, len(f.sources))
	for k, v := range f.sources {
		out[k] = v
	}
	return out
}

// isJSON reports whether a file name selects the JSON syntax.
func isJSON(filename string) bool {
	return strings.HasSuffix(strings.ToLower(filename), ".json")
}

// Parse parses a topology file from memory. A name ending in ".json"
// (".hcl.json") selects the JSON syntax, anything else native HCL. On
// error diagnostics the returned File is still usable for Sources, and
// Decode on it reports nothing further.
func Parse(filename string, src []byte) (*File, hcl.Diagnostics) {
	f := &File{
		Filename: filename,
		Dir:      filepath.Dir(filename),
		body:     hcl.EmptyBody(),
		sources:  map[string]*hcl.File{filename: {Bytes: src}},
	}
	hf, diags := parseSource(filename, src)
	if hf != nil {
		f.sources[filename] = hf
		if hf.Body != nil && !diags.HasErrors() {
			f.body = hf.Body
		}
	}
	return f, diags
}

// parseSource parses native or JSON syntax after the size and nesting
// checks. It never returns a nil diagnostic for a nil file.
func parseSource(filename string, src []byte) (*hcl.File, hcl.Diagnostics) {
	start := hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}
	if len(src) > MaxFileSize {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "File too large",
			Detail: fmt.Sprintf("%s is larger than %d bytes, the limit for topology files. Is this the right file?",
				filename, MaxFileSize),
			Subject: &start,
		}}
	}
	if d := checkNesting(filename, src); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	if isJSON(filename) {
		return hcljson.Parse(src, filename)
	}
	return hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
}

// checkNesting reports the first place where brackets, braces or
// parentheses nest deeper than maxNesting. Brackets inside strings and
// comments count too: it is a coarse, conservative guard.
func checkNesting(filename string, src []byte) *hcl.Diagnostic {
	depth, line, col := 0, 1, 1
	for i, b := range src {
		switch b {
		case '{', '[', '(':
			depth++
			if depth > maxNesting {
				pos := hcl.Pos{Line: line, Column: col, Byte: i}
				return &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Nesting too deep",
					Detail:   fmt.Sprintf("Brackets and braces nest more than %d levels deep here; a topology never needs that. Is this the right file?", maxNesting),
					Subject:  &hcl.Range{Filename: filename, Start: pos, End: hcl.Pos{Line: line, Column: col + 1, Byte: i + 1}},
				}
			}
		case '}', ']', ')':
			if depth > 0 {
				depth--
			}
		case '\n':
			line++
			col = 0
		}
		col++
	}
	return nil
}

// ParseFile reads and parses a topology file from disk.
func ParseFile(path string) (*File, hcl.Diagnostics) {
	src, err := readLimited(path)
	if err != nil {
		return &File{Filename: path, Dir: filepath.Dir(path), body: hcl.EmptyBody(), sources: map[string]*hcl.File{}},
			hcl.Diagnostics{errorNoSource("Cannot read "+path+": "+readErrText(err), "")}
	}
	return Parse(path, src)
}

// errIsDir is readLimited's error for a directory.
var errIsDir = errors.New("it is a directory, not a file")

// readErrText is a read error without the path the message already names:
// "no such file or directory", not "open x.hcl: no such file or directory".
func readErrText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// readLimited reads a file, refusing (without reading it all) one larger
// than MaxFileSize; the size error is reported by parseSource.
func readLimited(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errIsDir
	}
	return io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
}

// Load parses and decodes a topology in one step. The File is returned
// even on errors, for rendering diagnostics against its sources.
func Load(filename string, src []byte, opts Options) (*Topology, *File, hcl.Diagnostics) {
	f, diags := Parse(filename, src)
	if diags.HasErrors() {
		return nil, f, diags
	}
	t, more := Decode(f, opts)
	return t, f, append(diags, more...)
}
