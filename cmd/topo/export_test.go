package main

import (
	"os"
	"strings"
	"testing"
)

// TestExportKubernetes runs topo export kubernetes in-process: its output
// is the package's golden export of the same file and flags.
func TestExportKubernetes(t *testing.T) {
	r := runCLI(t, "", nil, "export", "kubernetes", "-var", "tasks=40", "../../internal/export/kubernetes/testdata/pipeline3.hcl")
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	want, err := os.ReadFile("../../internal/export/kubernetes/testdata/golden/pipeline3.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != string(want) {
		t.Errorf("stdout differs from internal/export/kubernetes/testdata/golden/pipeline3.yaml:\n%s", r.stdout)
	}
	// The file's binds are plaintext on every interface: validate's
	// warning, and nothing else.
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(line, "Error") || strings.HasPrefix(line, "Warning") && line != "Warning: Plaintext bind on a network address" {
			t.Errorf("stderr: %s", r.stderr)
			break
		}
	}
}

// TestExportKubernetesErrors: what cannot run in a pod is refused with
// its file and line, before a source plugin is built.
func TestExportKubernetesErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"source_plugin.hcl", "on ../../internal/export/kubernetes/testdata/invalid/source_plugin.hcl line 1, in plugin \"upper\""},
		{"fixed_bind.hcl", "on ../../internal/export/kubernetes/testdata/invalid/fixed_bind.hcl line 10"},
		{"file_outside.hcl", "on ../../internal/export/kubernetes/testdata/invalid/file_outside.hcl line 2"},
	} {
		r := runCLI(t, "", nil, "export", "kubernetes", "../../internal/export/kubernetes/testdata/invalid/"+tc.file)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: want exit 1, no stdout, %q on stderr; got %v", tc.file, tc.want, r)
		}
	}
	if r := runCLI(t, "", nil, "export", "helm", "f.hcl"); r.code != 1 || !strings.Contains(r.stderr, "topo export kubernetes FILE") {
		t.Errorf("an unknown format: %v", r)
	}
	if r := runCLI(t, "", nil, "export", "kubernetes", "-namespace", "Bad_NS", "../../internal/export/kubernetes/testdata/pipeline3.hcl"); r.code != 1 || !strings.Contains(r.stderr, "Invalid namespace") {
		t.Errorf("a bad namespace: %v", r)
	}
}
