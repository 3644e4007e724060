package topology

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// TestCheckNameNonASCII: a name of non-ASCII letters is measured in bytes
// (MaxNameLength), and the diagnostic says so truthfully and stays valid
// UTF-8 however the name is cut.
func TestCheckNameNonASCII(t *testing.T) {
	name := "a" + strings.Repeat("é", 40) // 41 characters, 81 bytes
	d := checkName("node", name, hcl.Range{}, "")
	if d == nil {
		t.Fatalf("checkName(%d bytes) = nil, want an error", len(name))
	}
	if !utf8.ValidString(d.Detail) || strings.Contains(d.Detail, `\x`) {
		t.Errorf("detail cuts a character in half: %q", d.Detail)
	}
	if !strings.Contains(d.Detail, "is 41 characters (81 bytes) long; names are at most 64 bytes.") {
		t.Errorf("detail = %q, want the length in characters and bytes", d.Detail)
	}
	if d := checkName("node", strings.Repeat("é", 32), hcl.Range{}, ""); d != nil {
		t.Errorf("a 64-byte name was refused: %s", d.Detail)
	}
	// ASCII names keep the message the CLI tests expect.
	d = checkName("node", strings.Repeat("n", 65), hcl.Range{}, "")
	if d == nil || !strings.Contains(d.Detail, "is 65 characters long; names are at most 64.") {
		t.Errorf("ASCII detail = %v", d)
	}
}
