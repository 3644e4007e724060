package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/topo-zmq/topo/runtime/socket"
)

// TestKeygen: topo keygen NAME writes a private NAME.key and NAME.pub that
// form a pair, prints the public key, and refuses to overwrite; -seed
// writes a private 40-character Z85 seed of 32 bytes.
func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "sink")
	r := runCLI(t, "", nil, "keygen", name)
	if r.code != 0 {
		t.Fatal(r)
	}
	sec, err := os.ReadFile(name + ".key")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(name + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	sk, err := socket.ParseCurveKey(string(sec))
	if err != nil {
		t.Fatal(err)
	}
	pk, err := socket.ParseCurveKey(string(pub))
	if err != nil {
		t.Fatal(err)
	}
	if socket.CurveKeyPairFromSecret(sk).Public != pk || strings.TrimSpace(r.stdout) != pk.Z85() || len(sec) != 41 {
		t.Fatalf("NAME.key and NAME.pub are not a pair, or stdout is not the public key: %s", r)
	}
	if strings.Contains(r.stdout+r.stderr, sk.Z85()) {
		t.Fatal("keygen printed the secret key")
	}
	if st, _ := os.Stat(name + ".key"); st.Mode().Perm() != 0o600 {
		t.Fatalf("NAME.key mode %v, want 0600", st.Mode().Perm())
	}
	if r := runCLI(t, "", nil, "keygen", name); r.code != 1 || !strings.Contains(r.stderr, "not overwriting") {
		t.Fatalf("second keygen: %s", r)
	}
	if again, _ := os.ReadFile(name + ".key"); string(again) != string(sec) {
		t.Fatal("the secret key was overwritten")
	}
	// Only the .pub exists: nothing is written.
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other+".pub", []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", nil, "keygen", other); r.code != 1 {
		t.Fatalf("keygen over an existing .pub: %s", r)
	}
	if _, err := os.Stat(other + ".key"); err == nil {
		t.Fatal("keygen wrote a .key although the .pub existed")
	}

	seed := filepath.Join(dir, "topology.seed")
	if r := runCLI(t, "", nil, "keygen", "-seed", seed); r.code != 0 {
		t.Fatal(r)
	}
	b, err := os.ReadFile(seed)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := socket.ParseCurveKey(string(b)); err != nil || k.IsZero() || len(b) != 41 {
		t.Fatalf("seed file %q: %v", b, err)
	}
	if st, _ := os.Stat(seed); st.Mode().Perm() != 0o600 {
		t.Fatalf("seed mode %v, want 0600", st.Mode().Perm())
	}
	if r := runCLI(t, "", nil, "keygen", "-seed", seed); r.code != 1 {
		t.Fatalf("second -seed: %s", r)
	}
	if r := runCLI(t, "", nil, "keygen"); r.code != 1 {
		t.Fatalf("keygen without NAME: %s", r)
	}
}

// TestPlanCurve: plan marks every edge curve or plaintext and prints a
// CURVE server's public key, in text and -json, and never a secret key.
func TestPlanCurve(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, "", nil, "keygen", filepath.Join(dir, "sink")); r.code != 0 {
		t.Fatal(r)
	}
	sec, _ := os.ReadFile(filepath.Join(dir, "sink.key"))
	pub := strings.TrimSpace(string(must(os.ReadFile(filepath.Join(dir, "sink.pub")))))
	src := `node "gen" {
  type = "generate"
  messages = 1
  socket "out" {
    type    = "PUSH"
    connect = [node.sink.in]
  }
}
node "gen2" {
  type = "generate"
  messages = 1
  socket "out" {
    type    = "PUSH"
    connect = [node.plain.in]
  }
}
node "sink" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:0"]
    curve {
      secret_key = file("sink.key")
    }
  }
}
node "plain" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:0"]
  }
}
`
	path := filepath.Join(dir, "t.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", nil, "plan", path)
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{"public key " + pub, "gen.out → sink.in  PUSH→PULL  via tcp://127.0.0.1:0  curve", "gen2.out → plain.in  PUSH→PULL  via tcp://127.0.0.1:0  plaintext", "socket in PULL curve=server", "socket out PUSH curve=client"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	j := runCLI(t, "", nil, "plan", "-json", path)
	if j.code != 0 {
		t.Fatal(j)
	}
	var plan struct {
		Instances []struct {
			Sockets []struct {
				C string `json:"curve"`
				P string `json:"public_key"`
			} `json:"sockets"`
		} `json:"instances"`
		Edges []struct {
			Security string `json:"security"`
		} `json:"edges"`
	}
	if err := json.Unmarshal([]byte(j.stdout), &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Edges) != 2 || plan.Edges[0].Security != "curve" || plan.Edges[1].Security != "plaintext" {
		t.Errorf("-json edges: %+v", plan.Edges)
	}
	if plan.Instances[2].Sockets[0].C != "server" || plan.Instances[2].Sockets[0].P != pub {
		t.Errorf("-json sink.in: %+v", plan.Instances[2].Sockets[0])
	}
	secret := strings.TrimSpace(string(sec))
	for _, out := range []string{r.stdout, r.stderr, j.stdout, j.stderr} {
		if strings.Contains(out, secret) {
			t.Fatalf("plan printed the secret key:\n%s", out)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestValidateCurveSecret: validate's diagnostics about a curve block,
// text and -json, give the line but neither the source nor the value.
func TestValidateCurveSecret(t *testing.T) {
	const secret = "yzPxwcFmB-whu<@0No*?L2Bb/rI/@l<<5a^W82Hlx" // 41 characters: invalid
	src := `node "sink" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:0"]
    curve {
      secret_key = "` + secret + `"
    }
  }
}
`
	for _, args := range [][]string{{"validate", "-no-color", "-"}, {"validate", "-json", "-"}} {
		r := runCLI(t, src, nil, args...)
		if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "Invalid CURVE key") {
			t.Fatalf("%v: %s", args, r)
		}
		if strings.Contains(r.stdout+r.stderr, secret[:20]) {
			t.Fatalf("%v shows the secret:\n%s", args, r)
		}
		if args[1] == "-no-color" && !strings.Contains(r.stderr, "line 7") {
			t.Fatalf("no line in:\n%s", r.stderr)
		}
	}
}
