package topology_test

import (
	"fmt"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/topology"
)

// kinds is a minimal Schemas: in topo, the caller adapts its registry.
type kinds map[string]*topology.KindSchema

func (k kinds) Schema(name string) (*topology.KindSchema, bool) { s, ok := k[name]; return s, ok }
func (k kinds) Kinds() []string                                 { return []string{"count", "generate"} }

func ExampleLoad() {
	src := []byte(`
variable "consumers" {
  default = 2
  type    = number
}

node "source" {
  type     = "generate"
  messages = 10
  socket "out" {
    type = "PUSH"
    bind = ["tcp://*:7400"]
  }
}

node "sink" {
  type  = "count"
  count = var.consumers
  socket "in" {
    type    = "PULL"
    connect = [node.source.out]
  }
}
`)
	schemas := kinds{
		"generate": {Name: "generate", Task: true,
			Attrs:   []topology.AttrSchema{{Name: "messages", Type: cty.Number, Default: cty.NumberIntVal(0)}},
			Sockets: []topology.SocketSchema{{Name: "out", Types: []string{"PUSH", "PUB"}}}},
		"count": {Name: "count", Task: true,
			Sockets: []topology.SocketSchema{{Name: "in", Types: []string{"PULL", "SUB"}}}},
	}
	t, _, diags := topology.Load("example.hcl", []byte(src), topology.Options{
		Schemas: schemas,
		Args:    []topology.VarArg{{Flag: "var", Value: "consumers=3"}},
	})
	for _, d := range diags {
		fmt.Printf("%s: %s\n", d.Subject, d.Summary)
	}
	for _, e := range t.Edges {
		from, to, label := e.Flow()
		fmt.Printf("%s -> %s %s via %s\n", from, to, label, e.Endpoint)
	}
	fmt.Println(t.StartOrder)
	// Output:
	// example.hcl:12,13-27: Bind on all interfaces
	// source.out -> sink[0].in PUSH→PULL via tcp://127.0.0.1:7400
	// source.out -> sink[1].in PUSH→PULL via tcp://127.0.0.1:7400
	// source.out -> sink[2].in PUSH→PULL via tcp://127.0.0.1:7400
	// [source sink[0] sink[1] sink[2]]
}
