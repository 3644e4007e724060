package topology

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

const varsSrc = `
variable "workers" {
  type    = number
  default = 1
}
variable "name" {
  default = "x"
}
variable "ports" {
  type    = list(number)
  default = [1]
}
variable "tags" {
  type    = list(string)
  default = []
}
variable "debug" {
  type    = bool
  default = false
}
node "w" {
  type  = "count"
  count = var.workers
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:${7200 + var.ports[0] + count.index}"]
  }
}
`

func loadVars(t *testing.T, opts Options) (*Topology, string) {
	t.Helper()
	opts.Schemas = testSchemas()
	tp, _, diags := Load("vars.hcl", []byte(varsSrc), opts)
	if len(diags) == 0 {
		return tp, ""
	}
	return tp, diags.Error()
}

func varValue(tp *Topology, name string) (cty.Value, string) {
	for _, v := range tp.Variables {
		if v.Name == name {
			return v.Value, v.Source
		}
	}
	return cty.NilVal, ""
}

// TestVariablePrecedence: default < TOPO_VAR_ < -var-file/-var in
// command-line order, later wins (Terraform's rule).
func TestVariablePrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.tfvars")
	if err := os.WriteFile(file, []byte("workers = 3\nports = [5, 6]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		opts     Options
		workers  int64
		source   string
		nameWant string
	}{
		{"default", Options{}, 1, "default", "x"},
		{"env", Options{Environ: []string{"TOPO_VAR_workers=2", "TOPO_VAR_name=env", "OTHER=1"}}, 2, "env", "env"},
		{"var-file over env", Options{Environ: []string{"TOPO_VAR_workers=2"}, Args: []VarArg{{"var-file", file}}}, 3, "-var-file", "x"},
		{"var after file", Options{Args: []VarArg{{"var-file", file}, {"var", "workers=4"}}}, 4, "-var", "x"},
		{"file after var", Options{Args: []VarArg{{"var", "workers=4"}, {"var-file", file}}}, 3, "-var-file", "x"},
		{"later var wins", Options{Args: []VarArg{{"var", "workers=4"}, {"var", "workers=5"}, {"var", "name=a=b"}}}, 5, "-var", "a=b"},
		{"values over env", Options{Environ: []string{"TOPO_VAR_workers=2"}, Values: map[string]cty.Value{"workers": cty.StringVal("6"), "name": cty.StringVal("go")}}, 6, "program", "go"},
		{"var over values", Options{Values: map[string]cty.Value{"workers": cty.NumberIntVal(6)}, Args: []VarArg{{"var", "workers=7"}}}, 7, "-var", "x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp, errs := loadVars(t, c.opts)
			if errs != "" {
				t.Fatal(errs)
			}
			v, src := varValue(tp, "workers")
			if !v.RawEquals(cty.NumberIntVal(c.workers)) || src != c.source {
				t.Errorf("workers = %#v from %s, want %d from %s", v, src, c.workers, c.source)
			}
			if n, _ := varValue(tp, "name"); n.AsString() != c.nameWant {
				t.Errorf("name = %q, want %q", n.AsString(), c.nameWant)
			}
			if len(tp.Instances) != int(c.workers) {
				t.Errorf("%d instances, want %d", len(tp.Instances), c.workers)
			}
		})
	}
}

func TestVariableErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.tfvars")
	os.WriteFile(bad, []byte("workers = \"many\"\n"), 0o644)
	syntax := filepath.Join(dir, "syntax.tfvars")
	os.WriteFile(syntax, []byte("workers = = 3\n"), 0o644)
	extra := filepath.Join(dir, "extra.tfvars")
	os.WriteFile(extra, []byte("wrkers = 3\n"), 0o644)
	cases := []struct {
		name   string
		args   []VarArg
		env    []string
		want   string
		values map[string]cty.Value
	}{
		{"undeclared value", nil, nil, `Did you mean "workers"?`, map[string]cty.Value{"wrkers": cty.NumberIntVal(3)}},
		{"value of wrong type", nil, nil, "is not a valid number", map[string]cty.Value{"workers": cty.StringVal("many")}},
		{"no equals", []VarArg{{"var", "workers"}}, nil, "Invalid -var option", nil},
		{"undeclared", []VarArg{{"var", "wrkers=3"}}, nil, `Did you mean "workers"?`, nil},
		{"bad number", []VarArg{{"var", "workers=many"}}, nil, `Variable "workers" is of type number, and the value "many" given with -var workers=many is not a number.`, nil},
		{"bad number expr", []VarArg{{"var", "workers=1+"}}, nil, `"1+" given with -var workers=1+ is not a number`, nil},
		{"bad list", []VarArg{{"var", "tags=[a]"}}, nil, `Variable "tags" is of type list(string), and the value "[a]" given with -var tags=[a] is not a constant HCL value`, nil},
		{"bad list syntax", []VarArg{{"var", "tags=[1"}}, nil, `given with -var tags=[1 is not an HCL value`, nil},
		{"bad bool", []VarArg{{"var", "debug=yes"}}, nil, `Variable "debug" is of type bool, and the value "yes" given with -var debug=yes is not true or false.`, nil},
		{"bad env", nil, []string{"TOPO_VAR_workers=[1"}, `given with the environment variable TOPO_VAR_workers is not a number`, nil},
		{"missing file", []VarArg{{"var-file", filepath.Join(dir, "nope")}}, nil, "Cannot read variables file " + filepath.Join(dir, "nope") + ": no such file or directory", nil},
		{"bad type in file", []VarArg{{"var-file", bad}}, nil, "Invalid value for variable", nil},
		{"syntax in file", []VarArg{{"var-file", syntax}}, nil, "syntax.tfvars:1", nil},
		{"undeclared in file", []VarArg{{"var-file", extra}}, nil, "Value for undeclared variable", nil},
		{"bad flag", []VarArg{{"vars", "x"}}, nil, "Unknown variable option", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, diags := Load("vars.hcl", []byte(varsSrc), Options{Schemas: testSchemas(), Args: c.args, Environ: c.env, Values: c.values})
			var all []string
			for _, d := range diags {
				// A value from the command line or the environment has no
				// source, nor does one a program gave; a value from a -var-file does.
				if (d.Subject == nil) != (c.env != nil || c.values != nil || c.args[0].Flag != "var-file" || c.name == "missing file") {
					t.Errorf("diagnostic range %v for a value from %v %v", d.Subject, c.args, c.env)
				}
				all = append(all, d.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), c.want) {
				t.Errorf("diagnostics %q do not mention %q", all, c.want)
			}
		})
	}
}

// TestVarFileSourcesRendered: diagnostics in a -var-file point into it and
// File.Sources holds it for snippets.
func TestVarFileSourcesRendered(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.tfvars")
	os.WriteFile(bad, []byte("workers = \"many\"\n"), 0o644)
	_, f, diags := Load("vars.hcl", []byte(varsSrc), Options{Args: []VarArg{{"var-file", bad}}})
	if !diags.HasErrors() {
		t.Fatal("want an error")
	}
	if _, ok := f.Sources()[bad]; !ok {
		t.Errorf("Sources lacks %s: %v", bad, f.Sources())
	}
}

// FuzzVarValue: any -var or TOPO_VAR_ value, for variables of every type,
// yields a value or an error diagnostic naming the variable, never a panic.
func FuzzVarValue(f *testing.F) {
	for _, s := range []string{"4", "abc", "1+", "[1", "[\"a\"]", "{a=1}", "true", "yes", "", " 7 ", "${x}", "var.workers", "1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, name := range []string{"workers", "name", "ports", "tags", "debug"} {
			_, _, diags := Load("vars.hcl", []byte(varsSrc), Options{Schemas: testSchemas(), Args: []VarArg{{"var", name + "=" + raw}}})
			for _, d := range diags {
				if d.Severity == hcl.DiagError && !strings.Contains(d.Detail+d.Summary, `"`+name+`"`) && d.Subject == nil {
					t.Errorf("-var %s=%q: error that does not name the variable: %v", name, raw, d)
				}
			}
			_, _, _ = Load("vars.hcl", []byte(varsSrc), Options{Schemas: testSchemas(), Environ: []string{"TOPO_VAR_" + name + "=" + raw}})
		}
	})
}
