package topology

import (
	"fmt"
	"os"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestKindCheckDiagnostics: what a kind's check finds is one error per
// node and attribute, at the attribute's value, with a detail naming the
// kind, the node and each distinct message (with its replicas when not
// every replica has it).
func TestKindCheckDiagnostics(t *testing.T) {
	path := "testdata/invalid/kind_checks.hcl"
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, _, diags := Load(path, src, Options{Schemas: testSchemas()})
	want := []struct {
		line, col int
		summary   string
		detail    string
	}{
		{6, 10, `Invalid value for "size"`, `Kind "generate" rejects size of node "big": must be at most 64 MiB (67108864), got 1000000000000.`},
		{15, 10, `Invalid value for "size"`, `Kind "generate" rejects size of node "neg": must not be negative, got -1.`},
		{16, 10, `Invalid value for "rate"`, `Kind "generate" rejects rate of node "neg": must not be negative, got -5.`},
		{25, 14, `Invalid value for "max_work"`, `Kind "ventilator" rejects max_work of node "vent": invalid duration "soon".`},
		{41, 11, `Invalid value for "size"`, `Kind "generate" rejects size of node "gens": must not be negative, got -1 (gens[2]); must not be negative, got -2 (gens[3]).`},
		{48, 1, `Invalid node configuration`, `Kind "print" rejects node "p": printing nothing is not printing.`},
	}
	byLine := map[int]*hcl.Diagnostic{}
	for _, d := range diags {
		if d.Subject != nil {
			byLine[d.Subject.Start.Line] = d
		}
	}
	for _, w := range want {
		d := byLine[w.line]
		if d == nil {
			t.Errorf("line %d: no diagnostic, want %q", w.line, w.summary)
			continue
		}
		if d.Severity != hcl.DiagError || d.Summary != w.summary || d.Detail != w.detail || d.Subject.Start.Column != w.col {
			t.Errorf("line %d: got %s at column %d: %q: %q\nwant error at column %d: %q: %q",
				w.line, sevName(d.Severity), d.Subject.Start.Column, d.Summary, d.Detail, w.col, w.summary, w.detail)
		}
	}
}

// TestCheckDiagnosticsReplicas: many replicas with many messages give one
// diagnostic of bounded size; a message every replica has lists none; a
// problem with an attribute the block does not write points at the node.
func TestCheckDiagnosticsReplicas(t *testing.T) {
	size := hcl.Range{Filename: "f.hcl", Start: hcl.Pos{Line: 3, Column: 3}}
	block := hcl.Range{Filename: "f.hcl", Start: hcl.Pos{Line: 1, Column: 1}}
	replicas := func(n *Node, msg func(i int) string) []InstanceProblem {
		var ps []InstanceProblem
		for i := range n.Count {
			inst := &Instance{Name: fmt.Sprintf("%s[%d]", n.Name, i), Node: n, Index: i}
			ps = append(ps, InstanceProblem{Instance: inst, AttrProblem: AttrProblem{Attr: "size", Msg: msg(i)}})
		}
		return ps
	}
	g := &Node{Name: "g", Kind: "generate", Count: 100, DeclRange: block, AttrRanges: map[string]hcl.Range{"size": size}}
	d := CheckDiagnostics(replicas(g, func(i int) string { return fmt.Sprintf("bad %d", i%10) }))
	if len(d) != 1 || d[0].Subject.Start.Line != 3 {
		t.Fatalf("got %v", d)
	}
	if want := `Kind "generate" rejects size of node "g": bad 0 (g[0], g[10], g[20] and 7 more); bad 1 (g[1], g[11], g[21] and 7 more); ` +
		`bad 2 (g[2], g[12], g[22] and 7 more); bad 3 (g[3], g[13], g[23] and 7 more); bad 4 (g[4], g[14], g[24] and 7 more); and 5 more.`; d[0].Detail != want {
		t.Errorf("detail %q\nwant   %q", d[0].Detail, want)
	}
	h := &Node{Name: "h", Kind: "generate", Count: 3, DeclRange: block}
	d = CheckDiagnostics(replicas(h, func(int) string { return "same." }))
	if len(d) != 1 || d[0].Detail != `Kind "generate" rejects size of node "h": same.` || *d[0].Subject != block {
		t.Errorf("got %v", d)
	}
}
