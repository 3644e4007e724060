// Command embed runs a topo topology inside a Go program: it registers a
// node kind of its own ("reverse", a REP service that answers every request
// with its text reversed) next to the built-in kinds, loads a topology held
// in the binary, runs it until its task is done and prints a summary.
//
//	go run ./examples/embed
//	go run ./examples/embed -requests 5
//	go run ./examples/embed -isolation process   # the reverse node in a subprocess
//
// With -isolation process the runtime starts this program again to run the
// reverse node in a process of its own; main's first call,
// runtime.ServeIfChild, makes that process serve the node.
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/socket"
)

//go:embed reverse.hcl
var topologySrc []byte

// reverseKind is the program's own kind: the same plugins.Kind a built-in
// or a plugin kind is.
func reverseKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "reverse",
		Doc:  "Replies to every request with its first frame reversed.",
		Life: plugins.Service,
		Sockets: []plugins.SocketDecl{
			{Name: "in", Types: []socket.Type{socket.REP}, Doc: "Requests in, replies out."},
		},
		New: func(cfg plugins.Config) (plugins.Node, error) {
			return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
				in := env.Socket("in")
				for {
					m, err := in.Recv(ctx)
					if err != nil {
						return err
					}
					var text []byte
					if len(m) > 0 {
						text = reverse(m[0])
					}
					if err := in.Send(ctx, socket.Msg{text}); err != nil {
						return err
					}
				}
			}), nil
		},
	}
}

func reverse(b []byte) []byte {
	r := []rune(string(b))
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return []byte(string(r))
}

func main() {
	// A registry is a value: the built-in kinds plus ours.
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := reg.Register(reverseKind()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// isolation = "process" runs this program again to serve one node in
	// a subprocess: in that process, serve and stop here.
	if runtime.ServeIfChild(&reg) {
		return
	}

	requests := flag.Int("requests", 3, "how many requests the client sends")
	isolation := flag.String("isolation", "goroutine", `how the reverse node runs: "goroutine" or "process" (a subprocess: this program again)`)
	flag.Parse()
	if err := run(&reg, *requests, *isolation); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(reg *plugins.Registry, requests int, isolation string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// One Options value loads the topology and runs it: the registry is
	// given once, variables as Go values.
	rt, err := runtime.Load(ctx, "reverse.hcl", topologySrc, runtime.Options{
		Registry: reg,
		Vars:     map[string]any{"requests": requests, "isolation": isolation},
		Stdout:   os.Stdout,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnEvent: func(ev runtime.Event) {
			if ev.Kind == runtime.EventFailed {
				fmt.Fprintf(os.Stderr, "%s failed: %v\n", ev.Instance, ev.Err)
			}
		},
	})
	if err != nil {
		return err // a *runtime.DiagnosticsError renders with file:line
	}
	if err := rt.Run(ctx); err != nil {
		return err
	}
	for _, st := range rt.Status() {
		fmt.Printf("%s (%s): %s, %d messages in, %d out\n", st.Name, st.Kind, st.State, st.MsgsIn, st.MsgsOut)
	}
	return nil
}
