package topology

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// expectation is one "# ERROR: text" or "# WARNING: text" comment: a
// diagnostic of that severity whose summary contains text must start on
// that line.
type expectation struct {
	line    int
	sev     hcl.DiagnosticSeverity
	summary string
}

var expectRE = regexp.MustCompile(`#\s*(ERROR|WARNING):\s*([^#]+?)\s*(?:#|$)`)

func readExpectations(t *testing.T, src []byte) []expectation {
	t.Helper()
	var out []expectation
	sc := bufio.NewScanner(bytes.NewReader(src))
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		for {
			loc := expectRE.FindStringSubmatchIndex(text)
			if loc == nil {
				break
			}
			sev := hcl.DiagError
			if text[loc[2]:loc[3]] == "WARNING" {
				sev = hcl.DiagWarning
			}
			out = append(out, expectation{line: line, sev: sev, summary: text[loc[4]:loc[5]]})
			text = text[loc[5]:]
		}
	}
	return out
}

func sevName(s hcl.DiagnosticSeverity) string {
	if s == hcl.DiagError {
		return "ERROR"
	}
	return "WARNING"
}

// checkFixture loads a fixture and compares its diagnostics with the
// comments in it, both ways.
func checkFixture(t *testing.T, path string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := readExpectations(t, src)
	_, _, diags := Load(path, src, Options{Schemas: testSchemas()})
	matched := make([]bool, len(want))
	for _, d := range diags {
		if d.Subject == nil {
			t.Errorf("%s: diagnostic without a range: %s", path, d.Error())
			continue
		}
		ok := false
		for i, w := range want {
			if w.line == d.Subject.Start.Line && w.sev == d.Severity && strings.Contains(strings.ToLower(d.Summary), strings.ToLower(w.summary)) {
				matched[i], ok = true, true
			}
		}
		if !ok {
			t.Errorf("%s:%d: unexpected %s %q: %s", path, d.Subject.Start.Line, sevName(d.Severity), d.Summary, d.Detail)
		}
	}
	for i, w := range want {
		if !matched[i] {
			t.Errorf("%s:%d: missing %s %q", path, w.line, sevName(w.sev), w.summary)
		}
	}
}

func fixtures(t testing.TB, dir string) []string {
	var out []string
	for _, pat := range []string{"*.hcl", "*.hcl.json"} {
		m, err := filepath.Glob(filepath.Join("testdata", dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
	return out
}

// TestValidFixtures: every file in testdata/valid decodes without errors;
// the only diagnostics are the warnings its comments announce.
func TestValidFixtures(t *testing.T) {
	for _, path := range fixtures(t, "valid") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			checkFixture(t, path)
			src, _ := os.ReadFile(path)
			if tp, _, diags := Load(path, src, Options{Schemas: testSchemas()}); diags.HasErrors() || tp == nil {
				t.Fatalf("errors: %v", diags)
			}
		})
	}
}

// TestInvalidFixtures: every file in testdata/invalid reports exactly the
// errors its comments announce, on those lines.
func TestInvalidFixtures(t *testing.T) {
	// curve.hcl expects a warning about this key file; a checkout under
	// umask 077 would have made it private.
	if err := os.Chmod("testdata/invalid/keys/open.key", 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range fixtures(t, "invalid") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, _ := os.ReadFile(path)
			if len(readExpectations(t, src)) == 0 {
				t.Fatal("fixture announces no error")
			}
			checkFixture(t, path)
		})
	}
}
