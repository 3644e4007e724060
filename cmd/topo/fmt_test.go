package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func copyToTemp(t *testing.T, name string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(dst, src, 0o640); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestFmtRewritesInPlace(t *testing.T) {
	path := copyToTemp(t, "unformatted.hcl")
	r := runCLI(t, "", nil, "fmt", path)
	if r.code != 0 || r.stdout != path+"\n" {
		t.Fatalf("fmt: %v", r)
	}
	got, _ := os.ReadFile(path)
	want := "node \"a\" {\n  type   = \"count\"\n  expect = 3\n  socket \"in\" {\n    type = \"PULL\"\n    bind = [\"tcp://127.0.0.1:6570\"]\n  }\n}\n"
	if string(got) != want {
		t.Errorf("formatted:\n%s\nwant:\n%s", got, want)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode changed to %v", st.Mode())
	}
	// Idempotent: a second run changes nothing and lists nothing.
	if r := runCLI(t, "", nil, "fmt", "-check", path); r.code != 0 || r.stdout != "" {
		t.Errorf("second run: %v", r)
	}
}

func TestFmtCheckAndDiff(t *testing.T) {
	path := copyToTemp(t, "unformatted.hcl")
	before, _ := os.ReadFile(path)
	r := runCLI(t, "", nil, "fmt", "-check", "-diff", path)
	if r.code != 3 {
		t.Errorf("-check exit %d, want 3", r.code)
	}
	for _, want := range []string{path + "\n", "--- " + path, "+++ " + path, "-type = \"count\"", "+  type   = \"count\"", "@@ -1,"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("-check wrote the file")
	}
	if r := runCLI(t, "", nil, "fmt", "-write=false", path); r.code != 0 {
		t.Errorf("-write=false: %v", r)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("-write=false wrote the file")
	}
}

func TestFmtRefusesSyntaxErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.hcl")
	src := "node \"a\" {\n  type = \n"
	os.WriteFile(path, []byte(src), 0o644)
	r := runCLI(t, "", nil, "fmt", path)
	if r.code != 1 || !strings.Contains(r.stderr, "not formatted") || !strings.Contains(r.stderr, "bad.hcl line") {
		t.Errorf("%v", r)
	}
	if got, _ := os.ReadFile(path); string(got) != src {
		t.Error("file with syntax errors was rewritten")
	}
}

func TestFmtStdinAndDirs(t *testing.T) {
	r := runCLI(t, "a=1\nbb = 2\n", nil, "fmt", "-")
	if r.code != 0 || r.stdout != "a  = 1\nbb = 2\n" {
		t.Errorf("stdin: %v", r)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x.hcl"), []byte("a=1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "y.txt"), []byte("a=1\n"), 0o644)
	r = runCLI(t, "", nil, "fmt", dir)
	if r.code != 0 || r.stdout != filepath.Join(dir, "x.hcl")+"\n" {
		t.Errorf("dir: %v", r)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "y.txt")); string(got) != "a=1\n" {
		t.Error("non-hcl file touched")
	}
	if r := runCLI(t, "", nil, "fmt", "testdata/pipeline.hcl.json"); r.code != 1 || !strings.Contains(r.stderr, "JSON") {
		t.Errorf("json: %v", r)
	}
	if r := runCLI(t, "", nil, "fmt", "testdata/nope.hcl"); r.code != 1 {
		t.Errorf("missing: %v", r)
	}
}

func TestUnifiedDiff(t *testing.T) {
	if d := unifiedDiff("x", []byte("a\n"), []byte("a\n")); d != "" {
		t.Errorf("equal inputs: %q", d)
	}
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"
	b := "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\ntwelve\n"
	want := "--- x\n+++ x (formatted)\n@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+twelve\n"
	if d := unifiedDiff("x", []byte(a), []byte(b)); d != want {
		t.Errorf("diff:\n%s\nwant:\n%s", d, want)
	}
	if d := unifiedDiff("x", []byte("a"), []byte("b")); !strings.Contains(d, "\\ No newline at end of file") {
		t.Errorf("no-newline marker missing: %q", d)
	}
}

// TestFmtCheckExamples: every example file is canonically formatted, as
// `topo fmt -check examples` (and each subdirectory holding .hcl files)
// reports.
func TestFmtCheckExamples(t *testing.T) {
	dirs := map[string]bool{}
	err := filepath.WalkDir("../../examples", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".hcl") {
			dirs[filepath.Dir(path)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !dirs[filepath.Join("..", "..", "examples")] || len(dirs) < 2 {
		t.Fatalf("example directories found: %v", dirs)
	}
	args := []string{"fmt", "-check", "-diff"}
	for d := range dirs {
		args = append(args, d)
	}
	if r := runCLI(t, "", nil, args...); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("topo %s: %v", strings.Join(args, " "), r)
	}
}
