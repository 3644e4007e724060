package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/topo-zmq/topo/plugins/builtin"
)

func nodesRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb, stdin: strings.NewReader(""),
		getenv: func(string) string { return "" }, environ: func() []string { return nil }}
	code = dispatch(context.Background(), c, append([]string{"nodes"}, args...))
	return out.String(), errb.String(), code
}

var builtinKindNames = []string{
	"count", "generate", "hello-client", "hello-server", "print", "proxy",
	"sink", "ventilator", "weather-client", "weather-publisher", "worker",
}

func TestNodesListsEveryBuiltinKind(t *testing.T) {
	var names []string
	for _, k := range builtin.Kinds() {
		names = append(names, k.Name)
	}
	if strings.Join(names, ",") != strings.Join(builtinKindNames, ",") {
		t.Fatalf("builtin kinds = %v, want DESIGN.md's %v", names, builtinKindNames)
	}
	out, errOut, code := nodesRun(t)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, n := range builtinKindNames {
		if !strings.Contains(out, "\n"+n+" (") && !strings.HasPrefix(out, n+" (") {
			t.Errorf("kind %s missing from:\n%s", n, out)
		}
	}
	for _, want := range []string{
		"hello-server (service)",
		`reply  string  default "World"`,
		"in  REP|ROUTER",
		"weather-client (task)",
		`max_work  string  default "100ms"`,
		"capture   PUB|PUSH|DEALER|PAIR (optional)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestNodesJSON(t *testing.T) {
	out, errOut, code := nodesRun(t, "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The JSON shape of one kind, as a consumer reads it.
	type kind struct {
		Name   string `json:"name"`
		Source string `json:"source"`
		Life   string `json:"life"`
		Doc    string `json:"doc"`
		Attrs  []struct {
			Name     string          `json:"name"`
			Type     string          `json:"type"`
			Required bool            `json:"required"`
			Default  json.RawMessage `json:"default"`
			Doc      string          `json:"doc"`
		} `json:"attributes"`
		Sockets []struct {
			Name     string   `json:"name"`
			Types    []string `json:"types"`
			Optional bool     `json:"optional"`
			Doc      string   `json:"doc"`
		} `json:"sockets"`
	}
	var doc struct {
		Kinds []kind `json:"kinds"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var got []string
	byName := map[string]kind{}
	for _, k := range doc.Kinds {
		got = append(got, k.Name)
		byName[k.Name] = k
		if k.Doc == "" || k.Source != "builtin" {
			t.Errorf("kind %s: doc %q source %q", k.Name, k.Doc, k.Source)
		}
	}
	if strings.Join(got, ",") != strings.Join(builtinKindNames, ",") {
		t.Fatalf("kinds = %v", got)
	}
	v := byName["ventilator"]
	if v.Life != "task" || len(v.Attrs) != 2 || v.Attrs[0].Name != "tasks" || string(v.Attrs[0].Default) != "100" ||
		v.Attrs[1].Name != "max_work" || string(v.Attrs[1].Default) != `"100ms"` {
		t.Errorf("ventilator = %+v", v)
	}
	if s := byName["proxy"].Sockets; len(s) != 3 || s[2].Name != "capture" || !s[2].Optional {
		t.Errorf("proxy sockets = %+v", s)
	}
}

func TestNodesOneKind(t *testing.T) {
	out, _, code := nodesRun(t, "worker")
	if code != 0 || !strings.HasPrefix(out, "worker (service)") || strings.Contains(out, "sink (") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	_, errOut, code := nodesRun(t, "wroker")
	if code != 1 || !strings.Contains(errOut, `unknown kind "wroker" (did you mean "worker"?)`) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// TestNodesFilePluginKinds: with -file, the kinds of the plugins the file
// declares are listed as PLUGIN.KIND next to the built-ins; a file whose
// plugin block is invalid or cannot start is an error.
func TestNodesFilePluginKinds(t *testing.T) {
	r := runCLI(t, "", nil, "nodes", "-file", "../../examples/plugin/pipeline.hcl", "text.upper", "worker")
	if r.code != 0 || !strings.Contains(r.stdout, "text.upper (service, plugin text)") || !strings.Contains(r.stdout, "worker (service)") {
		t.Fatalf("plugin kinds not listed: %v", r)
	}
	dir := t.TempDir()
	for name, src := range map[string]string{
		"nolocation.hcl": "plugin \"x\" {\n}\n",
		"missing.hcl":    "plugin \"nope\" {\n  command = \"./does-not-exist\"\n}\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, "", nil, "nodes", "-file", path)
		if r.code != 1 || !strings.Contains(r.stderr, name+" line 1") {
			t.Errorf("%s: want exit 1 and a diagnostic at its plugin block: %v", name, r)
		}
	}
}
