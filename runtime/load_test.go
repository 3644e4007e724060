package runtime

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/topology"
)

const varsTopo = `
variable "requests" {
  type    = number
  default = 1
}
variable "names" {
  type    = list(string)
  default = []
}
variable "tags" {
  type    = map(string)
  default = {}
}
node "server" {
  type = "hello-server"
  socket "in" {
    type = "REP"
    bind = ["inproc://load-vars"]
  }
}
node "client" {
  type     = "hello-client"
  requests = var.requests
  socket "out" {
    type    = "REQ"
    connect = [node.server.in]
  }
}
`

// TestLoadVarsGoValues: Options.Vars takes Go values and cty values,
// converted to each variable's type; VarArgs (the CLI's flags) win over them.
func TestLoadVarsGoValues(t *testing.T) {
	reg := builtinRegistry(t)
	varOf := func(tp *topology.Topology, name string) (cty.Value, string) {
		for _, v := range tp.Variables {
			if v.Name == name {
				return v.Value, v.Source
			}
		}
		t.Fatalf("no variable %q", name)
		return cty.NilVal, ""
	}
	rt, err := Load(context.Background(), "vars.hcl", []byte(varsTopo), Options{
		Registry: reg,
		Vars: map[string]any{
			"requests": 3,
			"names":    []any{"a", "b"},
			"tags":     cty.MapVal(map[string]cty.Value{"k": cty.StringVal("v")}),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tp := rt.Topology()
	if v, src := varOf(tp, "requests"); !v.RawEquals(cty.NumberIntVal(3)) || src != "program" {
		t.Errorf("requests = %#v from %s", v, src)
	}
	if v, _ := varOf(tp, "names"); !v.RawEquals(cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})) {
		t.Errorf("names = %#v", v)
	}
	if v, _ := varOf(tp, "tags"); v.LengthInt() != 1 {
		t.Errorf("tags = %#v", v)
	}
	if got := tp.Instances[1].Attrs.GetAttr("requests"); !got.RawEquals(cty.NumberIntVal(3)) {
		t.Errorf("client requests = %#v", got)
	}

	rt, err = Load(context.Background(), "vars.hcl", []byte(varsTopo), Options{
		Registry: reg,
		Vars:     map[string]any{"requests": 3},
		VarArgs:  []topology.VarArg{{Flag: "var", Value: "requests=5"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, src := varOf(rt.Topology(), "requests"); !v.RawEquals(cty.NumberIntVal(5)) || src != "-var" {
		t.Errorf("requests = %#v from %s, want 5 from -var", v, src)
	}
}

func TestLoadVarsErrors(t *testing.T) {
	reg := builtinRegistry(t)
	for _, c := range []struct {
		name string
		vars map[string]any
		want string
		diag bool
	}{
		{"undeclared", map[string]any{"requsts": 3}, `Did you mean "requests"?`, true},
		{"wrong type", map[string]any{"requests": "many"}, "not a valid number", true},
		{"not a value", map[string]any{"requests": make(chan int)}, `Options.Vars["requests"]: cannot use a chan int`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(context.Background(), "vars.hcl", []byte(varsTopo), Options{Registry: reg, Vars: c.vars})
			var d *DiagnosticsError
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.As(err, &d) != c.diag {
				t.Fatalf("err = %v, want one mentioning %q (diagnostics: %v)", err, c.want, c.diag)
			}
		})
	}
}
