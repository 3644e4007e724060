package main

import (
	"strings"
	"testing"
)

// TestUnknownCommandSuggests: a mistyped command gets the nearest one.
func TestUnknownCommandSuggests(t *testing.T) {
	cases := map[string]string{
		"valdate": `Did you mean "validate"?`,
		"plna":    `Did you mean "plan"?`,
		"aply":    `Did you mean "apply"?`,
		"nodse":   `Did you mean "nodes"?`,
		"xyzzy":   "",
	}
	for given, want := range cases {
		r := runCLI(t, "", nil, given, "x.hcl")
		first, _, _ := strings.Cut(r.stderr, "\n")
		if r.code != 1 || !strings.HasPrefix(first, `topo: unknown command "`+given+`".`) {
			t.Errorf("%s: %v", given, r)
		}
		if want == "" && strings.Contains(first, "Did you mean") || !strings.Contains(first, want) {
			t.Errorf("%s: first line %q, want %q", given, first, want)
		}
	}
}

// TestMissingFileOneLine: every command that reads a file reports a
// missing one in one line naming it, without a snippet.
func TestMissingFileOneLine(t *testing.T) {
	cases := [][]string{
		{"validate", "nosuch.hcl"},
		{"validate", "-json", "nosuch.hcl"},
		{"plan", "nosuch.hcl"},
		{"graph", "nosuch.hcl"},
		{"apply", "nosuch.hcl"},
		{"nodes", "-file", "nosuch.hcl"},
		{"fmt", "nosuch.hcl"},
		{"plan", "-var-file", "nosuch.hcl", "testdata/pipeline.hcl"},
	}
	for _, args := range cases {
		r := runCLI(t, "", nil, args...)
		out := strings.TrimSpace(r.stderr)
		if args[1] == "-json" {
			out = strings.TrimSpace(r.stdout)
		}
		if r.code != 1 || strings.Contains(out, "source code not available") || !strings.Contains(out, "nosuch.hcl: no such file or directory") {
			t.Errorf("%v: %v", args, r)
		}
		if args[1] != "-json" && strings.Contains(out, "\n") {
			t.Errorf("%v: more than one line:\n%s", args, out)
		}
	}
}

// TestVarTypeErrors: a -var value of the wrong type says which variable,
// which type it needs and what was given.
func TestVarTypeErrors(t *testing.T) {
	r := runCLI(t, "", nil, "plan", "-var", "workers=abc", "testdata/pipeline.hcl")
	want := `Variable "workers" is of type number, and the value "abc" given with -var workers=abc is not a number.`
	if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "Variables not allowed") || strings.Contains(r.stderr, "source code not available") {
		t.Errorf("got %v\nwant %q", r, want)
	}
	r = runCLI(t, "", []string{"TOPO_VAR_workers=many"}, "validate", "testdata/pipeline.hcl")
	if r.code != 1 || !strings.Contains(r.stderr, `"many" given with the environment variable TOPO_VAR_workers is not a number`) {
		t.Errorf("env: %v", r)
	}
}

// TestLongNameRejectedReadably: a 100,000-character node name is an error
// at its line, and the rendered diagnostic stays short.
func TestLongNameRejectedReadably(t *testing.T) {
	src := "node \"" + strings.Repeat("n", 100000) + "\" {\n  type = \"count\"\n  socket \"in\" {\n    type = \"PULL\"\n    bind = [\"tcp://127.0.0.1:0\"]\n  }\n}\n"
	r := runCLI(t, src, nil, "validate", "-")
	if r.code != 1 || !strings.Contains(r.stderr, "Error: Invalid node name") || !strings.Contains(r.stderr, "on <stdin> line 1") ||
		!strings.Contains(r.stderr, "is 100000 characters long; names are at most 64.") {
		t.Fatalf("%.2000s", r)
	}
	if len(r.stderr) > 2000 {
		t.Errorf("diagnostic is %d bytes long", len(r.stderr))
	}
}

func TestClipLines(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	got := string(clipLines([]byte("short\n"+long+"\nend"), false))
	want := "short\n" + strings.Repeat("é", maxDiagLine/2) + "...\nend"
	if got != want {
		t.Errorf("clipLines = %q", got)
	}
}
