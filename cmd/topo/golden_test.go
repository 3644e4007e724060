package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// update rewrites golden files: go test ./cmd/topo -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// cliResult is one in-process run of the CLI.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs a topo command line in-process with the given stdin and
// environment, bounded by a deadline.
func runCLI(t *testing.T, stdin string, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	c := &cli{
		stdout: &out, stderr: &errb, stdin: strings.NewReader(stdin),
		getenv:  func(k string) string { return "" },
		environ: func() []string { return env },
	}
	code := dispatch(ctx, c, args)
	return cliResult{out.String(), errb.String(), code}
}

func (r cliResult) String() string {
	return "exit " + itoa(r.code) + "\n--- stdout\n" + r.stdout + "--- stderr\n" + r.stderr
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// checkGolden compares got with testdata/golden/name, or rewrites it with
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/topo -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./cmd/topo -update to accept):\n%s", name, unifiedDiff(name, want, []byte(got)))
	}
}
