package runtime_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/socket"
)

// An embedding program registers its own kind next to the built-in ones,
// loads a topology from bytes and runs it until its task is done.
func ExampleRuntime() {
	upper := &plugins.Kind{
		Name:    "upper",
		Life:    plugins.Service,
		Sockets: []plugins.SocketDecl{{Name: "in", Types: []socket.Type{socket.REP}}},
		New: func(cfg plugins.Config) (plugins.Node, error) {
			return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
				for {
					m, err := env.Socket("in").Recv(ctx)
					if err != nil {
						return err
					}
					if err := env.Socket("in").Send(ctx, socket.Msg{[]byte(strings.ToUpper(string(m[0])))}); err != nil {
						return err
					}
				}
			}), nil
		},
	}
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		panic(err)
	}
	reg.MustRegister(upper)

	src := []byte(`
node "shout" {
  type = "upper"
  socket "in" {
    type = "REP"
    bind = ["inproc://shout"]
  }
}
node "client" {
  type     = "hello-client"
  requests = 2
  socket "out" {
    type    = "REQ"
    connect = [node.shout.in]
  }
}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// One Options value loads and runs: the registry is given once.
	rt, err := runtime.Load(ctx, "example.hcl", src, runtime.Options{Registry: &reg, Stdout: os.Stdout})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := rt.Run(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// client | Received reply 0 [ HELLO ]
	// client | Received reply 1 [ HELLO ]
}

// Load reports an invalid topology as a *DiagnosticsError that renders
// with file, line and source snippet.
func ExampleLoad() {
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		panic(err)
	}
	_, err := runtime.Load(context.Background(), "bad.hcl", []byte(`node "x" { type = "hello-clint" }`), runtime.Options{Registry: &reg})
	fmt.Println(strings.Contains(err.Error(), "on bad.hcl line 1"), strings.Contains(err.Error(), `"hello-client"`))
	// Output: true true
}
