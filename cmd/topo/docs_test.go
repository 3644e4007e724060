package main

import (
	"bufio"
	"bytes"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// repoRoot is the module root, two levels above cmd/topo.
const repoRoot = "../.."

// docBlock is one HCL example found in the documentation.
type docBlock struct {
	where    string // "README.md:50", the line of the opening fence
	src      string
	fragment bool // "```hcl fragment": must parse, need not be a whole topology
}

// fenceRE matches a Markdown code fence: indentation, the fence, the info
// string.
var fenceRE = regexp.MustCompile("^([ \t]*)(```+|~~~+)[ \t]*(.*)$")

// markdownHCL returns the ```hcl blocks of a Markdown file. The info
// string's first word is the language; a later word "fragment" marks a
// block that is a piece of a file (a lone plugin or socket block).
func markdownHCL(name string, src []byte) []docBlock {
	var out []docBlock
	var cur *docBlock
	var fence, indent string
	sc := bufio.NewScanner(bytes.NewReader(src))
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if cur == nil && fence == "" {
			m := fenceRE.FindStringSubmatch(text)
			if m == nil {
				continue
			}
			indent, fence = m[1], m[2]
			info := strings.Fields(m[3])
			if len(info) > 0 && info[0] == "hcl" {
				cur = &docBlock{where: name + ":" + itoa(line)}
				for _, w := range info[1:] {
					cur.fragment = cur.fragment || w == "fragment"
				}
			}
			continue
		}
		if strings.TrimSpace(text) == fence || strings.HasPrefix(strings.TrimSpace(text), fence) && strings.Trim(strings.TrimSpace(text), fence[:1]) == "" {
			if cur != nil {
				out = append(out, *cur)
			}
			cur, fence = nil, ""
			continue
		}
		if cur != nil {
			cur.src += strings.TrimPrefix(text, indent) + "\n"
		}
	}
	return out
}

// hclStartRE is how an HCL block in a Go doc comment starts: a block
// header with a label (`plugin "text" {`, also a one-line block) or
// `locals {`; Go code (`for {`, `if err != nil {`) does not match.
var hclStartRE = regexp.MustCompile(`^([a-z_][a-z0-9_-]*(\s+"[^"]*")+|locals)\s*\{`)

// goDocHCL returns the indented blocks of a Go file's package comment
// that look like HCL. They are fragments: they must parse.
func goDocHCL(t *testing.T, path, name string) []docBlock {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil {
		return nil
	}
	var out []docBlock
	var cur *docBlock
	inCode := false // inside an indented run of lines
	lines := strings.Split(f.Doc.Text(), "\n")
	for i, text := range lines {
		code, indented := strings.CutPrefix(text, "\t")
		switch {
		case indented && !inCode && hclStartRE.MatchString(code):
			cur = &docBlock{where: name + " (doc line " + itoa(i+1) + ")", fragment: true, src: code + "\n"}
		case indented && cur != nil:
			cur.src += code + "\n"
		case !indented && cur != nil:
			out = append(out, *cur)
			cur = nil
		}
		inCode = indented
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}

// docFiles walks the repository for Markdown files and Go files,
// skipping testdata, hidden directories and the bench results (measurement
// logs, not documentation).
func docFiles(t *testing.T) (md, godoc []string) {
	t.Helper()
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != repoRoot && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(d.Name(), ".md"):
			md = append(md, path)
		case strings.HasSuffix(d.Name(), ".go") && !strings.HasSuffix(d.Name(), "_test.go"):
			godoc = append(godoc, path) // its package comment, if it has one (doc.go, a main package's main.go)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return md, godoc
}

// TestDocsHCL: every ```hcl block in the repository's Markdown parses,
// and every one not marked "fragment" passes `topo validate` (built-in
// kinds; plugin kinds are not started); every HCL block in a package
// comment (doc.go, a main package's doc) parses. A doc example can never rot unnoticed.
func TestDocsHCL(t *testing.T) {
	md, godoc := docFiles(t)
	var blocks []docBlock
	for _, path := range md {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot, path)
		blocks = append(blocks, markdownHCL(rel, src)...)
	}
	fromGo := 0
	for _, path := range godoc {
		rel, _ := filepath.Rel(repoRoot, path)
		b := goDocHCL(t, path, rel)
		fromGo += len(b)
		blocks = append(blocks, b...)
	}
	whole := 0
	for _, b := range blocks {
		t.Run(b.where, func(t *testing.T) {
			if _, diags := hclsyntax.ParseConfig([]byte(b.src), b.where, hcl.InitialPos); diags.HasErrors() {
				t.Fatalf("does not parse: %v\n%s", diags, b.src)
			}
			if b.fragment {
				return
			}
			whole++
			if r := runCLI(t, b.src, nil, "validate", "-plugins=false", "-no-color", "-"); r.code != 0 {
				t.Fatalf("topo validate fails (mark a piece of a file ```hcl fragment):\n%s\n%s", r.stderr, b.src)
			}
		})
	}
	// The walk must find what is known to be there.
	if whole == 0 || fromGo == 0 {
		t.Errorf("found %d whole-file blocks in %d Markdown files and %d blocks in %d Go files", whole, len(md), fromGo, len(godoc))
	}
}

// TestDocBlockExtraction: the extractors find what they should, and only
// that.
func TestDocBlockExtraction(t *testing.T) {
	md := "# t\n\n```sh\ntopo apply x.hcl\n```\n\n```hcl\nnode \"a\" {\n}\n```\n\n- item\n\n  ```hcl fragment\n  socket \"x\" {\n  }\n  ```\n\n````hcl\n```\n````\n"
	got := markdownHCL("t.md", []byte(md))
	if len(got) != 3 {
		t.Fatalf("%d blocks: %+v", len(got), got)
	}
	if got[0].where != "t.md:7" || got[0].fragment || got[0].src != "node \"a\" {\n}\n" {
		t.Errorf("block 0: %+v", got[0])
	}
	if got[1].where != "t.md:14" || !got[1].fragment || got[1].src != "socket \"x\" {\n}\n" {
		t.Errorf("block 1: %+v", got[1])
	}
	if got[2].src != "```\n" {
		t.Errorf("block 2: %+v", got[2])
	}
	dir := t.TempDir()
	doc := filepath.Join(dir, "doc.go")
	os.WriteFile(doc, []byte("// Package x is x.\n//\n//\tf, err := x.Load()\n//\tnode \"x\" {\n//\n//\tplugin \"text\" {\n//\t  source = \"./p\"\n//\t}\n//\n// More.\npackage x\n"), 0o644)
	gd := goDocHCL(t, doc, "doc.go")
	if len(gd) != 1 || gd[0].src != "plugin \"text\" {\n  source = \"./p\"\n}\n" || !gd[0].fragment {
		t.Errorf("doc.go blocks: %+v", gd)
	}
}
