package plugins_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime/socket"
)

// A kind of one's own, registered beside the built-ins and run in-process
// with NewActor against a built-in hello-client, the way the runtime drives
// actors: bind everything, connect, wait until ready, run.
func ExampleNewActor() {
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		panic(err)
	}
	reg.MustRegister(&plugins.Kind{
		Name:    "shout",
		Doc:     "Answers every request in capitals.",
		Life:    plugins.Service,
		Sockets: []plugins.SocketDecl{{Name: "in", Types: []socket.Type{socket.REP}}},
		New: func(cfg plugins.Config) (plugins.Node, error) {
			return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
				in := env.Socket("in")
				for {
					m, err := in.Recv(ctx)
					if err != nil {
						return err
					}
					if err := in.Send(ctx, socket.Msg{[]byte(strings.ToUpper(string(m[0])))}); err != nil {
						return err
					}
				}
			}), nil
		},
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var sc socket.Context
	defer sc.Close()

	shoutKind, _ := reg.Lookup("shout")
	server, err := plugins.NewActor(shoutKind, plugins.Spec{Name: "shout",
		Sockets: []plugins.SocketSpec{{Name: "in", Type: socket.REP, Bind: []string{"inproc://shout"}}}}, &sc, nil, nil)
	if err != nil {
		panic(err)
	}
	defer server.Close()
	clientKind, _ := reg.Lookup("hello-client")
	client, err := plugins.NewActor(clientKind, plugins.Spec{Name: "client",
		Attrs:   cty.ObjectVal(map[string]cty.Value{"requests": cty.NumberIntVal(2), "message": cty.StringVal("hello")}),
		Sockets: []plugins.SocketSpec{{Name: "out", Type: socket.REQ, Expect: 1}}}, &sc, os.Stdout, nil)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	eps, err := server.Bind(ctx)
	if err != nil {
		panic(err)
	}
	if _, err := client.Bind(ctx); err != nil {
		panic(err)
	}
	if err := client.Connect(ctx, map[string][]string{"out": eps["in"]}); err != nil {
		panic(err)
	}
	if err := client.Ready(ctx); err != nil {
		panic(err)
	}

	svcCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- server.Run(svcCtx) }()
	if err := client.Run(ctx); err != nil { // a task: returns when finished
		panic(err)
	}
	stop()                     // services stop through ctx...
	fmt.Println(<-done == nil) // ...and that is a clean stop
	// Output:
	// Received reply 0 [ HELLO ]
	// Received reply 1 [ HELLO ]
	// true
}
