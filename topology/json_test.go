package topology

import (
	"strings"
	"testing"
)

// TestJSONDiagnostics: the JSON form reports the same mistakes, at the
// right line.
func TestJSONDiagnostics(t *testing.T) {
	src := `{
  "node": {
    "a": {
      "type": "count",
      "depends_on": ["node.b"],
      "socket": {
        "in": {"type": "PULL", "bnd": "tcp://127.0.0.1:7500"}
      }
    },
    "b": {
      "type": "sink",
      "tasks": "many",
      "socket": {
        "in": {"type": "PULL", "connect": "${node.nope.out}"}
      }
    }
  }
}`
	_, _, diags := Load("t.hcl.json", []byte(src), Options{Schemas: testSchemas()})
	want := map[string]int{
		"Extraneous JSON object property": 7,
		"Incorrect attribute value type":  12,
		"Reference to undeclared node":    14,
	}
	for _, d := range diags {
		if d.Subject == nil {
			t.Errorf("no range: %v", d)
			continue
		}
		if line, ok := want[d.Summary]; ok {
			if d.Subject.Start.Line != line {
				t.Errorf("%s at line %d, want %d", d.Summary, d.Subject.Start.Line, line)
			}
			delete(want, d.Summary)
		}
	}
	for s := range want {
		t.Errorf("missing %q in %v", s, diags)
	}
	if !strings.Contains(diags.Error(), "t.hcl.json") {
		t.Error(diags.Error())
	}
}
