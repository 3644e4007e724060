package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/topology"
)

// The multi-host examples, which the golden files show.
const (
	mhPipeline = "../../examples/multihost/pipeline.hcl"
	mhWeather  = "../../examples/multihost/weather.hcl"
)

// TestGolden runs validate, plan and graph over testdata inputs and
// compares exit code, stdout and stderr with testdata/golden.
func TestGolden(t *testing.T) {
	cases := []struct {
		golden string
		args   []string
	}{
		{"validate_pipeline.txt", []string{"validate", "testdata/pipeline.hcl"}},
		{"validate_weather.txt", []string{"validate", "testdata/weather.hcl"}},
		{"validate_invalid.txt", []string{"validate", "testdata/invalid.hcl"}},
		{"validate_invalid.json", []string{"validate", "-json", "testdata/invalid.hcl"}},
		{"validate_json_syntax.txt", []string{"validate", "testdata/pipeline.hcl.json"}},
		{"plan_pipeline.txt", []string{"plan", "testdata/pipeline.hcl"}},
		{"plan_pipeline_vars.txt", []string{"plan", "-var", "workers=3", "testdata/pipeline.hcl"}},
		{"plan_pipeline.json", []string{"plan", "-json", "testdata/pipeline.hcl"}},
		{"plan_weather.txt", []string{"plan", "testdata/weather.hcl"}},
		{"plan_invalid.txt", []string{"plan", "testdata/invalid.hcl"}},
		{"graph_pipeline.dot", []string{"graph", "testdata/pipeline.hcl"}},
		{"graph_weather.dot", []string{"graph", "testdata/weather.hcl"}},
		{"graph_weather.mmd", []string{"graph", "-format", "mermaid", "testdata/weather.hcl"}},
		// Many machines: the examples under examples/multihost.
		{"validate_multihost_pipeline.txt", []string{"validate", mhPipeline}},
		{"validate_multihost_weather.json", []string{"validate", "-json", mhWeather}},
		{"validate_multihost_invalid.txt", []string{"validate", "testdata/multihost_invalid.hcl"}},
		{"plan_multihost_pipeline.txt", []string{"plan", mhPipeline}},
		{"plan_multihost_pipeline_workers.txt", []string{"plan", "-host", "workers", mhPipeline}},
		{"plan_multihost_pipeline_all.txt", []string{"plan", "-host", "all", mhPipeline}},
		{"plan_multihost_pipeline_sink.json", []string{"plan", "-json", "-host", "sink", mhPipeline}},
		{"plan_multihost_weather.txt", []string{"plan", mhWeather}},
		{"plan_multihost_weather.json", []string{"plan", "-json", mhWeather}},
		{"plan_multihost_unknown_host.txt", []string{"plan", "-host", "worker", mhPipeline}},
		{"plan_multihost_unknown_host.json", []string{"plan", "-json", "-host", "worker", mhPipeline}},
		{"plan_no_hosts_host.txt", []string{"plan", "-host", "edge", "testdata/pipeline.hcl"}},
		{"graph_multihost_pipeline.dot", []string{"graph", mhPipeline}},
		{"graph_multihost_weather.mmd", []string{"graph", "-format", "mermaid", mhWeather}},
		{"graph_multihost_weather.json", []string{"graph", "-json", mhWeather}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			checkGolden(t, c.golden, runCLI(t, "", nil, c.args...).String())
		})
	}
}

func TestValidateExitCodes(t *testing.T) {
	if r := runCLI(t, "", nil, "validate", "testdata/pipeline.hcl"); r.code != 0 || r.stdout != "The topology is valid.\n" {
		t.Errorf("valid file: %v", r)
	}
	if r := runCLI(t, "", nil, "validate", "testdata/invalid.hcl"); r.code != 1 || !strings.Contains(r.stderr, "invalid.hcl line 2") {
		t.Errorf("invalid file: %v", r)
	}
	if r := runCLI(t, "", nil, "validate"); r.code != 1 || !strings.Contains(r.stderr, "want exactly one FILE") {
		t.Errorf("no file: %v", r)
	}
	if r := runCLI(t, "", nil, "validate", "testdata/nope.hcl"); r.code != 1 || !strings.Contains(r.stderr, "Cannot read testdata/nope.hcl") {
		t.Errorf("missing file: %v", r)
	}
	if r := runCLI(t, "\x00\xff garbage {{{", nil, "validate", "-"); r.code != 1 || !strings.Contains(r.stderr, "<stdin>") {
		t.Errorf("garbage on stdin: %v", r)
	}
	src, _ := os.ReadFile("testdata/pipeline.hcl")
	if r := runCLI(t, string(src), nil, "validate", "-"); r.code != 0 {
		t.Errorf("stdin: %v", r)
	}
}

// TestValidateVariables: -var, -var-file and TOPO_VAR_ reach the topology.
func TestValidateVariables(t *testing.T) {
	vf := filepath.Join(t.TempDir(), "w.tfvars")
	os.WriteFile(vf, []byte("workers = 5\n"), 0o644)
	count := func(r cliResult) int { return strings.Count(r.stdout, "]: worker (") }
	if r := runCLI(t, "", nil, "plan", "-var", "workers=3", "testdata/pipeline.hcl"); count(r) != 3 {
		t.Errorf("-var: %d workers\n%v", count(r), r)
	}
	if r := runCLI(t, "", []string{"TOPO_VAR_workers=4"}, "plan", "testdata/pipeline.hcl"); count(r) != 4 {
		t.Errorf("env: %d workers", count(r))
	}
	if r := runCLI(t, "", []string{"TOPO_VAR_workers=4"}, "plan", "-var-file", vf, "testdata/pipeline.hcl"); count(r) != 5 {
		t.Errorf("-var-file over env: %d workers", count(r))
	}
	if r := runCLI(t, "", nil, "plan", "-var-file", vf, "-var", "workers=1", "testdata/pipeline.hcl"); count(r) != 1 {
		t.Errorf("-var after -var-file: %d workers", count(r))
	}
	if r := runCLI(t, "", nil, "validate", "-var", "wrkers=1", "testdata/pipeline.hcl"); r.code != 1 || !strings.Contains(r.stderr, `Did you mean "workers"?`) {
		t.Errorf("undeclared -var: %v", r)
	}
}

// TestValidateJSONShape: `validate -json` prints one JSON object, in
// Terraform's shape, and nothing on stderr, for an invalid file, a valid
// one, a missing one and a syntax error.
func TestValidateJSONShape(t *testing.T) {
	type diag struct {
		Severity, Summary, Detail string
		Range                     *struct {
			Filename   string
			Start, End struct{ Line, Column, Byte int }
		}
	}
	type out struct {
		FormatVersion string `json:"format_version"`
		Valid         *bool
		ErrorCount    *int `json:"error_count"`
		WarningCount  *int `json:"warning_count"`
		Diagnostics   []diag
	}
	decode := func(t *testing.T, r cliResult) out {
		t.Helper()
		var o out
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("%v\n%s", err, r.stdout)
		}
		if dec.More() {
			t.Fatalf("more than one JSON value on stdout:\n%s", r.stdout)
		}
		if r.stderr != "" {
			t.Errorf("stderr is not empty:\n%s", r.stderr)
		}
		if o.FormatVersion != "1.0" || o.Valid == nil || o.ErrorCount == nil || o.WarningCount == nil || o.Diagnostics == nil {
			t.Fatalf("missing fields: %s", r.stdout)
		}
		e, w := 0, 0
		for _, d := range o.Diagnostics {
			switch d.Severity {
			case "error":
				e++
			case "warning":
				w++
			default:
				t.Errorf("severity %q", d.Severity)
			}
		}
		if e != *o.ErrorCount || w != *o.WarningCount || *o.Valid != (e == 0) {
			t.Errorf("counts do not match the diagnostics: %s", r.stdout)
		}
		return o
	}
	r := runCLI(t, "", nil, "validate", "-json", "testdata/invalid.hcl")
	o := decode(t, r)
	if r.code != 1 || *o.Valid || len(o.Diagnostics) == 0 {
		t.Fatalf("invalid file: exit %d, %s", r.code, r.stdout)
	}
	for _, d := range o.Diagnostics {
		if d.Summary == "" || d.Range == nil || d.Range.Start.Line == 0 {
			t.Errorf("bad diagnostic %+v", d)
		}
	}
	r = runCLI(t, "", nil, "validate", "-json", "testdata/pipeline.hcl")
	if o := decode(t, r); r.code != 0 || !*o.Valid || *o.ErrorCount != 0 || len(o.Diagnostics) != *o.WarningCount {
		t.Errorf("valid -json: %v", r)
	}
	r = runCLI(t, "", nil, "validate", "-json", filepath.Join(t.TempDir(), "missing.hcl"))
	if o := decode(t, r); r.code != 1 || *o.Valid {
		t.Errorf("missing file: %v", r)
	}
	r = runCLI(t, "node \"x\" {\n", nil, "validate", "-json", "-")
	if o := decode(t, r); r.code != 1 || *o.Valid {
		t.Errorf("syntax error on stdin: %v", r)
	}
}

// TestHelp: every command of this file answers -help with its usage and
// exit 0.
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"validate", "plan", "graph", "fmt", "version"} {
		r := runCLI(t, "", nil, cmd, "-help")
		if r.code != 0 || !strings.Contains(r.stderr, "Usage: topo "+cmd) {
			t.Errorf("%s -help: %v", cmd, r)
		}
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, "", nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "topo "+version+"\ngo") {
		t.Errorf("version: %v", r)
	}
	if r := runCLI(t, "", nil, "-version"); r.code != 0 || !strings.HasPrefix(r.stdout, "topo v") {
		t.Errorf("-version: %v", r)
	}
}

func TestGraphBadFormat(t *testing.T) {
	if r := runCLI(t, "", nil, "graph", "-format", "svg", "testdata/pipeline.hcl"); r.code != 1 || !strings.Contains(r.stderr, "dot or mermaid") {
		t.Errorf("%v", r)
	}
}

// TestExamplesValidate: every topology under examples/ validates against
// the built-in kinds (plugin kinds validate with a warning). A file next
// to Go code that registers kinds of its own (examples/embed) may use
// those kinds: the only errors allowed there are "Unknown node kind" for
// a kind that the Go code in the same directory names.
func TestExamplesValidate(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../../examples", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".hcl") || strings.HasSuffix(path, ".hcl.json")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	t.Logf("%d example files", len(files))
	schemas, err := builtinSchemas()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			own := kindsNamedInGo(t, filepath.Dir(f))
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, _, diags := topology.Load(f, src, topology.Options{Schemas: schemas})
			for _, d := range diags {
				if d.Severity != hcl.DiagError {
					continue
				}
				if d.Summary == "Unknown node kind" && d.Subject != nil {
					kind := strings.Trim(string(d.Subject.SliceBytes(src)), `"`)
					if own[kind] {
						continue
					}
				}
				t.Errorf("%s: %s", f, d.Error())
			}
		})
	}
}

// kindsNamedInGo returns the kind names (Name: "x" in a plugins.Kind
// literal) that the Go files of dir register.
func kindsNamedInGo(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	gofiles, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	re := regexp.MustCompile(`Name:\s*"([^"]+)"`)
	for _, g := range gofiles {
		src, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(src, -1) {
			out[string(m[1])] = true
		}
	}
	return out
}

// TestValidateColor: colour only on a terminal, and never with -no-color.
func TestValidateColor(t *testing.T) {
	run := func(args ...string) string {
		var out, errb strings.Builder
		c := &cli{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), isTTY: true,
			getenv: func(string) string { return "" }, environ: func() []string { return nil }}
		dispatch(t.Context(), c, args)
		return out.String() + errb.String()
	}
	if got := run("validate", "testdata/invalid.hcl"); !strings.Contains(got, "\x1b[") {
		t.Errorf("no colour on a terminal:\n%s", got)
	}
	if got := run("validate", "-no-color", "testdata/invalid.hcl"); strings.Contains(got, "\x1b[") {
		t.Errorf("colour despite -no-color:\n%q", got)
	}
	if got := run("validate", "testdata/pipeline.hcl"); !strings.Contains(got, "\x1b[32mThe topology is valid.") {
		t.Errorf("success not green: %q", got)
	}
}

// TestValidatePluginKinds: validate starts the declared plugin (built from
// source) and checks its nodes against the kinds it serves; with
// -plugins=false it only warns.
func TestValidatePluginKinds(t *testing.T) {
	const file = "../../examples/plugin/pipeline.hcl"
	r := runCLI(t, "", nil, "validate", file)
	if r.code != 0 || strings.Contains(r.stderr, "not checked") || !strings.Contains(r.stdout, "The topology is valid") {
		t.Fatalf("with plugins: %v", r)
	}
	r = runCLI(t, "", nil, "validate", "-plugins=false", file)
	if r.code != 0 || !strings.Contains(r.stderr, "Plugin kind not checked") {
		t.Errorf("-plugins=false: %v", r)
	}
	// A plugin kind's attributes are checked once the plugin is known.
	dir := t.TempDir()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("../../examples/plugin")
	bad := strings.Replace(string(src), `source = "./"`, `source = "`+abs+`"`, 1)
	bad = strings.Replace(bad, `"text.upper"`, `"text.uper"`, 1)
	if !strings.Contains(bad, "text.uper") || !strings.Contains(bad, abs) {
		t.Fatal("example changed shape; update this test")
	}
	path := filepath.Join(dir, "bad.hcl")
	os.WriteFile(path, []byte(bad), 0o644)
	r = runCLI(t, "", nil, "validate", path)
	if r.code != 1 || !strings.Contains(r.stderr, `Did you mean "text.upper"?`) {
		t.Errorf("misspelt plugin kind: %v", r)
	}
	// A plugin that cannot start is an error at its block.
	os.WriteFile(path, []byte("plugin \"nope\" {\n  command = \"./does-not-exist\"\n}\nnode \"a\" {\n  type = \"nope.x\"\n}\n"), 0o644)
	r = runCLI(t, "", nil, "validate", path)
	if r.code != 1 || !strings.Contains(r.stderr, `Cannot start plugin "nope"`) || !strings.Contains(r.stderr, "line 1") {
		t.Errorf("missing plugin: %v", r)
	}
}

// TestJSONOutputsAreOneValue: every -json output is exactly one JSON
// value on stdout, whether the file is valid or not.
func TestJSONOutputsAreOneValue(t *testing.T) {
	for _, args := range [][]string{
		{"validate", "-json", "testdata/pipeline.hcl"},
		{"validate", "-json", "testdata/invalid.hcl"},
		{"plan", "-json", "testdata/pipeline.hcl"},
		{"plan", "-json", "testdata/invalid.hcl"},
		{"plan", "-json", "testdata/missing.hcl"},
		{"nodes", "-json"},
	} {
		r := runCLI(t, "", nil, args...)
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			t.Errorf("%v: stdout is not JSON: %v\n%s", args, err, r)
			continue
		}
		if dec.More() {
			t.Errorf("%v: more than one JSON value:\n%s", args, r)
		}
		if r.code != 0 && r.stderr != "" {
			t.Errorf("%v: exit %d with text on stderr:\n%s", args, r.code, r.stderr)
		}
	}
}

// TestValidateKindChecks: validate, plan and apply reject what the kinds
// themselves reject (issue 11 item 5: size = 1e12, size = -1, rate = -5,
// max_work = "soon"), each at the attribute's file and line, before
// anything runs.
func TestValidateKindChecks(t *testing.T) {
	const file = "testdata/kind_checks.hcl"
	want := []struct {
		line   int
		attr   string
		detail string
	}{
		{6, "size", `Kind "generate" rejects size of node "big": must be at most 64 MiB (67108864), got 1000000000000.`},
		{15, "size", `Kind "generate" rejects size of node "neg": must not be negative, got -1.`},
		{16, "rate", `Kind "generate" rejects rate of node "neg": must not be negative, got -5.`},
		{25, "max_work", `Kind "ventilator" rejects max_work of node "vent": invalid duration "soon" (want a number with a unit, e.g. "100ms", "2s").`},
	}
	r := runCLI(t, "", nil, "validate", file)
	if r.code != 1 || strings.Contains(r.stdout, "valid") {
		t.Fatalf("validate: %v", r)
	}
	for _, w := range want {
		where := fmt.Sprintf("on %s line %d, in node", file, w.line)
		if !strings.Contains(r.stderr, `Error: Invalid value for "`+w.attr+`"`) || !strings.Contains(r.stderr, where) || !strings.Contains(r.stderr, w.detail) {
			t.Errorf("validate: want %q at %q:\n%s", w.detail, where, r.stderr)
		}
	}
	if n := strings.Count(r.stderr, "Error: "); n != len(want) {
		t.Errorf("validate: %d errors, want %d:\n%s", n, len(want), r.stderr)
	}

	r = runCLI(t, "", nil, "validate", "-json", file)
	var diags []struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
		Detail   string `json:"detail"`
		Range    struct {
			Start struct{ Line, Column int } `json:"start"`
		} `json:"range"`
	}
	if err := unmarshalDiagnostics(r.stdout, &diags); err != nil || r.code != 1 || len(diags) != len(want) {
		t.Fatalf("validate -json: %v: %v", err, r)
	}
	for i, w := range want {
		d := diags[i]
		if d.Severity != "error" || d.Summary != `Invalid value for "`+w.attr+`"` || d.Detail != w.detail || d.Range.Start.Line != w.line {
			t.Errorf("validate -json [%d] = %+v, want line %d: %q", i, d, w.line, w.detail)
		}
	}

	for _, cmd := range []string{"plan", "apply"} {
		r := runCLI(t, "", nil, cmd, file)
		if r.code != 1 || !strings.Contains(r.stderr, fmt.Sprintf("on %s line 6", file)) || strings.Contains(r.stdout, "Sent") {
			t.Errorf("%s: %v", cmd, r)
		}
	}
}

// TestValidatePluginKindChecks: a plugin's own checks run in validate
// across the plugin boundary (the example plugin, built from source, with
// collect's expect = 0), located at the attribute; a plugin built before
// the check existed is skipped with a warning at its block, in -json too.
func TestValidatePluginKindChecks(t *testing.T) {
	const file = "../../examples/plugin/pipeline.hcl"
	r := runCLI(t, "", nil, "validate", "-var", "messages=0", file)
	if r.code != 1 || !strings.Contains(r.stderr, `Error: Invalid value for "expect"`) ||
		!strings.Contains(r.stderr, "on "+file+" line 49, in node \"collect\"") ||
		!strings.Contains(r.stderr, `Kind "text.collect" rejects expect of node "collect": must be at least 1, got 0.`) {
		t.Errorf("example plugin: %v", r)
	}

	dir := t.TempDir()
	old, err := filepath.Abs("testdata/oldplugin")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "old.hcl")
	src := fmt.Sprintf("plugin \"old\" {\n  source = %q\n}\n\nnode \"c\" {\n  type   = \"old.collect\"\n  expect = 0\n"+
		"  socket \"in\" {\n    type = \"PULL\"\n    bind = \"tcp://127.0.0.1:0\"\n  }\n}\n", old)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "", nil, "validate", "-json", path)
	var diags []struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
		Detail   string `json:"detail"`
		Range    struct {
			Start struct{ Line int } `json:"start"`
		} `json:"range"`
	}
	if err := unmarshalDiagnostics(r.stdout, &diags); err != nil || r.code != 0 || len(diags) != 1 {
		t.Fatalf("older plugin, -json: %v: %v", err, r)
	}
	if d := diags[0]; d.Severity != "warning" || d.Summary != `Plugin "old" cannot check attribute values` ||
		d.Range.Start.Line != 1 || !strings.Contains(d.Detail, "(kinds old.collect)") {
		t.Errorf("older plugin, -json: %+v", d)
	}
	r = runCLI(t, "", nil, "validate", path)
	if r.code != 0 || !strings.Contains(r.stdout, "valid, with 1 warning") || !strings.Contains(r.stderr, `Warning: Plugin "old" cannot check attribute values`) {
		t.Errorf("older plugin: %v", r)
	}
}

// unmarshalDiagnostics decodes the diagnostics of `validate -json`'s one
// object into diags.
func unmarshalDiagnostics(stdout string, diags any) error {
	var v struct {
		Diagnostics json.RawMessage `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		return err
	}
	return json.Unmarshal(v.Diagnostics, diags)
}
