package topology

import (
	"fmt"
	"strings"
	"testing"
)

// genTopology writes a topology of n nodes: pipelines of generate → print
// pairs, half of them through references, plus one counted group, so that
// references, edges and duplicate-bind checks all scale with n.
func genTopology(n int) []byte {
	var b strings.Builder
	b.WriteString("variable \"base\" {\n  type    = number\n  default = 20000\n}\n\n")
	for i := 0; i < n/2; i++ {
		fmt.Fprintf(&b, `node "src%d" {
  type     = "generate"
  messages = %d
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:${var.base + %d}"]
  }
}

node "dst%d" {
  type   = "count"
  expect = %d
  socket "in" {
    type    = "PULL"
    connect = [node.src%d.out]
  }
}

`, i, i+1, i, i, i+1, i)
	}
	return []byte(b.String())
}

// BenchmarkValidate1000Nodes measures Load (parse, evaluate, validate) of
// a generated 1,000-node topology. Target: under 1 s per validate.
func BenchmarkValidate1000Nodes(b *testing.B) {
	src := genTopology(1000)
	opts := Options{Schemas: testSchemas()}
	tp, _, diags := Load("big.hcl", src, opts)
	if diags.HasErrors() || len(tp.Instances) != 1000 || len(tp.Edges) != 500 {
		b.Fatalf("bad generated topology: %d instances, %d edges, %v", len(tp.Instances), len(tp.Edges), diags)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, diags := Load("big.hcl", src, opts); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}

// TestGenerated1000Nodes keeps the generator honest in plain test runs.
func TestGenerated1000Nodes(t *testing.T) {
	tp, _, diags := Load("big.hcl", genTopology(1000), Options{Schemas: testSchemas()})
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	if len(tp.Instances) != 1000 || len(tp.Edges) != 500 || len(tp.StartOrder) != 1000 {
		t.Fatalf("%d instances, %d edges, %d ordered", len(tp.Instances), len(tp.Edges), len(tp.StartOrder))
	}
	if tp.StartOrder[0] != "src0" || tp.StartOrder[1] != "dst0" {
		t.Errorf("start order begins %v", tp.StartOrder[:4])
	}
}
