package topology

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// functions returns the function library available in expressions: a
// subset of go-cty's stdlib under Terraform's names, and file, which reads
// relative to dir (the topology file's directory). A fresh map each call,
// so no package-level state is shared.
func functions(dir string) map[string]function.Function {
	return map[string]function.Function{
		"file":            fileFunc(dir),
		"abs":             stdlib.AbsoluteFunc,
		"ceil":            stdlib.CeilFunc,
		"chomp":           stdlib.ChompFunc,
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"floor":           stdlib.FloorFunc,
		"format":          limitWidths(stdlib.FormatFunc),
		"formatlist":      limitWidths(stdlib.FormatListFunc),
		"indent":          stdlib.IndentFunc,
		"join":            stdlib.JoinFunc,
		"jsondecode":      stdlib.JSONDecodeFunc,
		"jsonencode":      stdlib.JSONEncodeFunc,
		"keys":            stdlib.KeysFunc,
		"length":          stdlib.LengthFunc,
		"log":             stdlib.LogFunc,
		"lookup":          stdlib.LookupFunc,
		"lower":           stdlib.LowerFunc,
		"max":             stdlib.MaxFunc,
		"merge":           stdlib.MergeFunc,
		"min":             stdlib.MinFunc,
		"parseint":        stdlib.ParseIntFunc,
		"pow":             stdlib.PowFunc,
		"range":           stdlib.RangeFunc,
		"regex":           stdlib.RegexFunc,
		"regexall":        stdlib.RegexAllFunc,
		"regex_replace":   stdlib.RegexReplaceFunc,
		"replace":         stdlib.ReplaceFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setunion":        stdlib.SetUnionFunc,
		"signum":          stdlib.SignumFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"split":           stdlib.SplitFunc,
		"strlen":          stdlib.StrlenFunc,
		"strrev":          stdlib.ReverseFunc,
		"substr":          stdlib.SubstrFunc,
		"title":           stdlib.TitleFunc,
		"tobool":          stdlib.MakeToFunc(cty.Bool),
		"tolist":          stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":           stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":        stdlib.MakeToFunc(cty.Number),
		"toset":           stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":        stdlib.MakeToFunc(cty.String),
		"trim":            stdlib.TrimFunc,
		"trimprefix":      stdlib.TrimPrefixFunc,
		"trimspace":       stdlib.TrimSpaceFunc,
		"trimsuffix":      stdlib.TrimSuffixFunc,
		"upper":           stdlib.UpperFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
	}
}

// bigVerb matches a format verb with a width or precision of four or more
// digits ("%100000d"), which would allocate that much.
var bigVerb = regexp.MustCompile(`%[^a-zA-Z%]*[0-9]{4,}`)

// limitWidths wraps format/formatlist to refuse huge widths and
// precisions, so a format string cannot allocate gigabytes.
func limitWidths(f function.Function) function.Function {
	return function.New(&function.Spec{
		Description: f.Description(),
		Params:      f.Params(),
		VarParam:    f.VarParam(),
		Type:        f.ReturnTypeForValues,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 0 {
				if a, _ := args[0].Unmark(); a.IsKnown() && !a.IsNull() && a.Type() == cty.String && bigVerb.MatchString(a.AsString()) {
					return cty.NilVal, function.NewArgErrorf(0, "%s", fmt.Sprintf("format widths and precisions are limited to 999"))
				}
			}
			return f.Call(args)
		},
	})
}

// MaxReadFileSize is the largest file the file function reads. A key is
// 40 characters; the limit turns a mistaken path (a log, a binary) into a
// clear error instead of a topology held in memory.
const MaxReadFileSize = 1 << 20

// fileMark marks a value read by file with where it came from, so the
// curve checks can warn about a key or seed file others may read.
type fileMark struct {
	path     string      // as written
	resolved string      // joined to the topology file's directory
	perm     fs.FileMode // the file's permission bits
}

// fileFunc is file(PATH): the contents of a UTF-8 text file, PATH relative
// to dir unless absolute. Its errors name the path, never the contents.
func fileFunc(dir string) function.Function {
	return function.New(&function.Spec{
		Description: "Reads a UTF-8 text file, relative to the topology file's directory.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			path := name
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			b, perm, err := readSmallFile(path)
			if err != nil {
				return cty.NilVal, fmt.Errorf("cannot read %s: %s", shorten(path), err)
			}
			return cty.StringVal(string(b)).Mark(fileMark{path: name, resolved: path, perm: perm}), nil
		},
	})
}

// readSmallFile reads a regular UTF-8 file of at most MaxReadFileSize
// bytes; its errors say what is wrong without the path.
func readSmallFile(path string) ([]byte, fs.FileMode, error) {
	// Stat first: opening a FIFO or a device could block or never end.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, 0, errors.New("not a regular file")
	}
	fh, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, errors.New("no such file (a relative path is relative to the topology file's directory)")
		}
		return nil, 0, errors.New(readErrText(err))
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, 0, errors.New(readErrText(err))
	}
	if !st.Mode().IsRegular() {
		return nil, 0, errors.New("not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(fh, MaxReadFileSize+1))
	if err != nil {
		return nil, 0, errors.New(readErrText(err))
	}
	if len(b) > MaxReadFileSize {
		return nil, 0, fmt.Errorf("larger than %d bytes, the limit for file()", MaxReadFileSize)
	}
	if !utf8.Valid(b) {
		return nil, 0, errors.New("not UTF-8 text")
	}
	return b, st.Mode().Perm(), nil
}
