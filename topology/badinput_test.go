package topology

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/topo-zmq/topo/internal/endpoint"
)

// checkNoPanicAllRanged loads src and checks the result has errors, each
// with a source range. A panic fails the test by itself.
func checkErrorsRanged(t testing.TB, name string, src []byte) {
	t.Helper()
	_, _, diags := Load(name, src, Options{Schemas: testSchemas()})
	for _, d := range diags {
		if d.Severity == 'E' && d.Subject == nil {
			t.Errorf("%s: error without a range: %s: %s", name, d.Summary, d.Detail)
		}
	}
	if !diags.HasErrors() {
		t.Errorf("%s: no error for bad input", name)
	}
}

// TestBadInput: hostile or mistaken files give clear, ranged errors and
// never a panic.
func TestBadInput(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	garbage := make([]byte, 4096)
	rng.Read(garbage)
	huge := bytes.Repeat([]byte("# a comment line that goes on and on\n"), 11<<20/37)
	cases := []struct {
		name, file string
		src        []byte
		want       string
	}{
		{"empty", "empty.hcl", nil, "Empty topology"},
		{"empty json", "empty.hcl.json", []byte("{}"), "Empty topology"},
		{"whitespace", "ws.hcl", []byte("\n\n   \n"), "Empty topology"},
		{"binary garbage", "garbage.hcl", garbage, ""},
		{"binary garbage json", "garbage.hcl.json", garbage, ""},
		{"nul bytes", "nul.hcl", []byte("node \"a\" {\x00\x00}"), ""},
		{"10 MB", "huge.hcl", huge, "File too large"},
		{"deep nesting", "deep.hcl", []byte("locals {\n a = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n}\n"), "Nesting too deep"},
		{"deep nesting json", "deep.hcl.json", []byte(strings.Repeat("[", 100000)), "Nesting too deep"},
		{"deep braces", "deep2.hcl", []byte(strings.Repeat("node \"a\" {\n", 5000)), "Nesting too deep"},
		{"local cycle", "cycle.hcl", []byte("locals {\n a = local.a\n}\nnode \"n\" {\n type = \"print\"\n socket \"in\" {\n type = \"PULL\"\n bind = local.a\n }\n}\n"), "Cycle in local values"},
		{"unknown block", "unknown.hcl", []byte("service \"x\" {}\n"), "Unsupported block type"},
		{"wrong types", "types.hcl", []byte("node \"a\" {\n type = [\"x\"]\n count = {}\n}\n"), "must be a string"},
		{"json wrong shape", "shape.hcl.json", []byte(`{"node": ["a", "b"]}`), ""},
		{"json node not object", "shape2.hcl.json", []byte(`{"node": {"a": 3}}`), ""},
		{"unterminated string", "str.hcl", []byte("node \"a"), ""},
		{"unterminated template", "tmpl.hcl", []byte("locals {\n a = \"${\"\n}\n"), ""},
		{"invalid utf8", "utf8.hcl", []byte("node \"\xff\xfe\" {}"), ""},
		{"too many instances", "many.hcl", []byte(strings.Repeat("node \"a\" {\n type = \"count\"\n count = 10000\n}\n", 1) +
			"node \"b\" {\n type = \"count\"\n count = 10000\n}\nnode \"c\" {\n type = \"count\"\n count = 10000\n}\n"), "Too many instances"},
		{"edge explosion", "fan.hcl", []byte("node \"a\" {\n type = \"generate\"\n count = 400\n socket \"out\" {\n type = \"PUSH\"\n bind = \"tcp://127.0.0.1:0\"\n }\n}\n" +
			"node \"b\" {\n type = \"count\"\n count = 300\n socket \"in\" {\n type = \"PULL\"\n connect = node.a.out\n }\n}\n"), "Too many edges"},
		{"huge format width", "fmtw.hcl", []byte("locals {\n a = format(\"%999999999d\", 1)\n}\nnode \"n\" {\n type = \"print\"\n socket \"in\" {\n type = \"PULL\"\n bind = local.a\n }\n}\n"), "limited to 999"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, f, diags := Load(c.file, c.src, Options{Schemas: testSchemas()})
			checkErrorsRanged(t, c.file, c.src)
			var all []string
			for _, d := range diags {
				all = append(all, d.Error())
			}
			if c.want != "" && !strings.Contains(strings.Join(all, "\n"), c.want) {
				t.Errorf("diagnostics %q do not mention %q", all, c.want)
			}
			if f == nil || f.Sources() == nil {
				t.Error("no File for rendering")
			}
		})
	}
}

func TestParseFileErrors(t *testing.T) {
	dir := t.TempDir()
	// A file that cannot be read has no source to point into: one line
	// naming it, no range (a range would render as "source code not
	// available").
	missing := filepath.Join(dir, "missing.hcl")
	if _, diags := ParseFile(missing); len(diags) != 1 || diags[0].Subject != nil || diags[0].Detail != "" ||
		diags[0].Summary != "Cannot read "+missing+": no such file or directory" {
		t.Errorf("missing file: %#v", diags)
	}
	if _, diags := ParseFile(dir); !diags.HasErrors() || !strings.Contains(diags.Error(), "directory") {
		t.Errorf("directory: %v", diags)
	}
	big := filepath.Join(dir, "big.hcl")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#\n"), MaxFileSize), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, diags := ParseFile(big); !strings.Contains(diags.Error(), "File too large") {
		t.Errorf("big file: %v", diags)
	}
}

// FuzzParse feeds arbitrary bytes to Load in both syntaxes: it must never
// panic, and every error must carry a source range.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		for _, pat := range []string{"*.hcl", "*.hcl.json"} {
			files, _ := filepath.Glob(filepath.Join("testdata", dir, pat))
			for _, path := range files {
				src, err := os.ReadFile(path)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(src, strings.HasSuffix(path, ".json"))
			}
		}
	}
	f.Add([]byte{}, false)
	f.Add([]byte("{}"), true)
	f.Add([]byte(`host "a" { address = "10.0.0.1" }
host "b" { address = "fd00::2" }
node "s" {
  type  = "count"
  count = 2
  host  = "${count.index == 0 ? "a" : "b"}"
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:6000", "ipc:///tmp/x"]
  }
}
node "g" {
  type = "generate"
  host = "a"
  socket "out" {
    type    = "PUSH"
    connect = [node.s.in, node.s[1].in, "tcp://[fd00::2]:6000"]
  }
}`), false)
	f.Add([]byte(`host "all" { address = "*" }
host "x" {}
node "n" {
  type = "generate"
  host = "y"
}`), false)
	f.Add([]byte(`{"host": {"a": {"address": "10.0.0.1"}}, "node": {"g": {"type": "generate", "host": "a", "socket": {"out": {"type": "PUSH", "bind": "tcp://*:6000"}}}}}`), true)
	f.Fuzz(func(t *testing.T, src []byte, json bool) {
		name := "fuzz.hcl"
		if json {
			name = "fuzz.hcl.json"
		}
		tp, _, diags := Load(name, src, Options{Schemas: testSchemas()})
		if tp != nil && len(tp.Hosts) > 0 {
			// The same file as `topo apply -host all` decodes it.
			lt, _, ldiags := Load(name, src, Options{Schemas: testSchemas(), LoopbackHosts: true})
			if lt != nil && !ldiags.HasErrors() {
				for _, e := range lt.Edges {
					if _, err := endpoint.Parse(e.Endpoint, true); e.CrossHost && err != nil {
						t.Fatalf("cross-host edge %s→%s on %q: %v", e.Connect, e.Bind, e.Endpoint, err)
					}
				}
			}
		}
		for _, d := range diags {
			if d.Severity == 'E' && d.Subject == nil {
				t.Fatalf("error without a range: %s: %s", d.Summary, d.Detail)
			}
		}
		if tp != nil && !diags.HasErrors() {
			for _, e := range tp.CrossHostEdges() {
				if ep, err := endpoint.Parse(e.Endpoint, false); err != nil || ep.Transport != "tcp" {
					t.Fatalf("cross-host edge %s→%s on %q: %v", e.Connect, e.Bind, e.Endpoint, err)
				}
			}
			for _, in := range tp.Instances {
				if tp.Host(in.Host) == nil && len(tp.Hosts) > 0 {
					t.Fatalf("%s placed on undeclared host %q", in.Name, in.Host)
				}
			}
			if len(tp.StartOrder) != len(tp.Instances) {
				t.Fatalf("start order has %d of %d instances", len(tp.StartOrder), len(tp.Instances))
			}
			var b strings.Builder
			if err := tp.WriteDOT(&b); err != nil {
				t.Fatal(err)
			}
			if err := tp.WriteMermaid(&b); err != nil {
				t.Fatal(err)
			}
		}
	})
}
