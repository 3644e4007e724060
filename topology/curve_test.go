package topology

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/internal/curvekey"
)

const (
	testSecret = "yzPxwcFmB-whu<@0No*?L2Bb/rI/@l<<5a^W82Hl"
	testPublic = "lmPj7m4%xohgTFD:%4iWUzf5yfnziJa17}fo(SJV" // of testSecret (zmq_curve_public)
)

func mustLoadCurve(t *testing.T, path string) *Topology {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tp, _, diags := Load(path, src, Options{Schemas: testSchemas()})
	if diags.HasErrors() {
		t.Fatalf("%s: %v", path, diags)
	}
	return tp
}

func TestCurveDecode(t *testing.T) {
	tp := mustLoadCurve(t, "testdata/valid/curve.hcl")
	byName := map[string]*Instance{}
	for _, in := range tp.Instances {
		byName[in.Name] = in
	}
	vent := byName["ventilator"].Socket("out")
	if vent.Curve == nil || vent.CurveRole != "server" || vent.Curve.HasServerKey() {
		t.Fatalf("ventilator.out: curve %+v role %q, want a server", vent.Curve, vent.CurveRole)
	}
	if _, _, known := tp.CurveKeyPair(byName["ventilator"], vent); known {
		t.Error("ventilator.out: curve {} without seed has a key before apply")
	}
	sink := byName["sink"].Socket("in")
	pub, sec, known := tp.CurveKeyPair(byName["sink"], sink)
	if !known || curvekey.KeyString(pub) != testPublic || curvekey.KeyString(sec) != testSecret {
		t.Errorf("sink.in key pair: known %v, public %s", known, curvekey.KeyString(pub))
	}
	if len(sink.Curve.Allow) != 1 || sink.Curve.AllowRange.Start.Line != 40 {
		t.Errorf("sink.in allow: %d keys at %v", len(sink.Curve.Allow), sink.Curve.AllowRange)
	}
	w := byName["worker[1]"].Socket("out")
	if w.CurveRole != "client" || curvekey.KeyString(w.Curve.ServerKey) != testPublic {
		t.Errorf("worker[1].out: role %q, server key from file %s", w.CurveRole, curvekey.KeyString(w.Curve.ServerKey))
	}
	if in := byName["worker[0]"].Socket("in"); in.Curve != nil || in.CurveRole != "client" {
		t.Errorf("worker[0].in (connects to a curve {} server): curve %v role %q, want a client without a block", in.Curve, in.CurveRole)
	}
	if s := byName["ventilator"].Socket("sink"); s.CurveRole != "client" {
		t.Errorf("ventilator.sink: role %q", s.CurveRole)
	}
	out := byName["outside"].Socket("in")
	if out.CurveRole != "client" || len(out.Curve.ServerKeys) != 2 {
		t.Errorf("outside.in: role %q, %d server keys", out.CurveRole, len(out.Curve.ServerKeys))
	}
	curve := 0
	for _, e := range tp.Edges {
		if !e.Curve {
			t.Errorf("edge %s → %s is plaintext; every edge of curve.hcl is CURVE", e.Connect, e.Bind)
		}
		curve++
	}
	if curve != 6 { // worker[0..1].in, worker[0..1].out, ventilator.sink, reporter.out
		t.Errorf("%d edges, want 6", curve)
	}
	if c, r := byName["collector"].Socket("in"), byName["reporter"].Socket("out"); c.CurveRole != "client" || r.CurveRole != "server" {
		t.Errorf("binding client %q, connecting server %q", c.CurveRole, r.CurveRole)
	}
}

// TestCurveSeedDerivation: two separate loads of a file with a seed give
// every socket the same key pair (the derivation is deterministic), a
// different one per socket name, and a plaintext file none.
func TestCurveSeedDerivation(t *testing.T) {
	a := mustLoadCurve(t, "testdata/valid/curve_seed.hcl")
	b := mustLoadCurve(t, "testdata/valid/curve_seed.hcl")
	if a.Curve == nil || len(a.Curve.Seed) != 32 {
		t.Fatalf("seed: %+v", a.Curve)
	}
	pa, sa, ka := a.CurveKeyPair(a.Instances[0], a.Instances[0].Sockets[0])
	pb, sb, kb := b.CurveKeyPair(b.Instances[0], b.Instances[0].Sockets[0])
	if !ka || !kb || pa != pb || sa != sb || pa.IsZero() {
		t.Fatalf("derived pairs differ between loads (known %v %v)", ka, kb)
	}
	want, err := curvekey.DeriveKeyPair(a.Curve.Seed, "publisher.out")
	if err != nil || CurveKey(want.Public) != pa {
		t.Fatalf("publisher.out is not derived under the name \"publisher.out\": %v", err)
	}
	pc, _, _ := a.CurveKeyPair(a.Instances[1], a.Instances[1].Sockets[0])
	if pc == pa {
		t.Fatal("two sockets derive the same key")
	}
	if !a.Edges[0].Curve {
		t.Fatal("the seeded edge is not CURVE")
	}
}

// TestCurveSensitiveDiagnostics: a diagnostic about a curve attribute has
// its file and line but no snippet and no value, in text and in -json's
// shape; one outside a curve block keeps its snippet.
func TestCurveSensitiveDiagnostics(t *testing.T) {
	src := `node "s" {
  type = "sink"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7700"]
    curve {
      secret_key = "` + testSecret + `x"
      allow      = ["` + testPublic + `"]
      bogus      = "` + testSecret + `"
    }
  }
  bogus_attr = 1
}
`
	_, f, diags := Load("s.hcl", []byte(src), Options{Schemas: testSchemas()})
	var buf bytes.Buffer
	if err := WriteDiagnostics(&buf, f.Sources(), diags, 0, false); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{testSecret, testPublic, "secret_key ="} {
		if strings.Contains(out, secret) {
			t.Errorf("rendered diagnostics contain %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"Invalid CURVE key", "on s.hcl line 7:", "Unsupported argument", "on s.hcl line 9:", "curve settings are secret", "12:   bogus_attr = 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered diagnostics lack %q:\n%s", want, out)
		}
	}
	sensitive := 0
	for _, d := range diags {
		if IsSensitive(d) {
			sensitive++
			if strings.Contains(d.Detail, testSecret) || d.Expression != nil {
				t.Errorf("sensitive diagnostic keeps a value: %+v", d)
			}
		}
	}
	if sensitive < 2 {
		t.Errorf("%d sensitive diagnostics, want the key's and the bogus argument's: %v", sensitive, diags)
	}
}

// TestCurveSensitiveJSON: in a one-line JSON file every snippet would show
// the curve block's line, so every diagnostic of the file is sensitive.
func TestCurveSensitiveJSON(t *testing.T) {
	src := `{"node":{"s":{"type":"sink","bogus":1,"socket":{"in":{"type":"PULL","bind":"tcp://127.0.0.1:7","curve":{"secret_key":"` + testSecret + `"}}}}}}`
	_, f, diags := Load("s.hcl.json", []byte(src), Options{Schemas: testSchemas()})
	if len(diags) == 0 {
		t.Fatal("no diagnostic for the bogus attribute")
	}
	var buf bytes.Buffer
	if err := WriteDiagnostics(&buf, f.Sources(), diags, 0, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), testSecret) {
		t.Fatalf("a snippet shows the secret:\n%s", buf.String())
	}
}

func TestFileFunction(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), b, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("keys/s.key", []byte(testSecret+"\n"), 0o600)
	write("keys/open.key", []byte(testSecret+"\n"), 0o640)
	write("big.txt", bytes.Repeat([]byte("x"), MaxReadFileSize+1), 0o600)
	write("bin.dat", []byte{0xff, 0xfe}, 0o600)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func(expr string) (*Topology, hcl.Diagnostics) {
		src := `node "s" {
  type = "sink"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7700"]
    curve {
      secret_key = ` + expr + `
    }
  }
}
`
		path := filepath.Join(dir, "t.hcl")
		write("t.hcl", []byte(src), 0o600)
		tp, _, diags := Load(path, []byte(src), Options{Schemas: testSchemas()})
		return tp, diags
	}
	tp, diags := load(`file("keys/s.key")`)
	if diags.HasErrors() || len(diags) != 0 {
		t.Fatalf("a private key file relative to the topology: %v", diags)
	}
	if k := tp.Instances[0].Sockets[0].Curve.SecretKey; curvekey.KeyString(k) != testSecret {
		t.Fatal("secret_key read from the file differs")
	}
	_, diags = load(`file("keys/open.key")`)
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || !strings.Contains(diags[0].Summary, "readable by others") || !strings.Contains(diags[0].Detail, "0640") {
		t.Fatalf("a group-readable key file: %v", diags)
	}
	for expr, want := range map[string]string{
		`file("keys/none.key")`: "no such file",
		`file("big.txt")`:       "larger than",
		`file("bin.dat")`:       "not UTF-8",
		`file("keys")`:          "not a regular file",
		`file("fifo")`:          "not a regular file",
	} {
		_, diags := load(expr)
		if !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Start.Line != 7 || !strings.Contains(diags[0].Detail, want) {
			t.Errorf("%s: want a located error with %q, got %v", expr, want, diags)
		}
	}
}
