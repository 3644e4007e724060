package builtin

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

func proxyKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "proxy",
		Doc: "zmq_proxy: moves whole multipart messages from frontend to backend and, where the types " +
			"allow, back. XSUB/XPUB is a forwarder (subscriptions flow upstream), ROUTER/DEALER a " +
			"queue (replies flow back), PULL/PUSH a streamer. The optional capture socket gets a copy " +
			"of every message moved in either direction.",
		Life: plugins.Service,
		Sockets: []plugins.SocketDecl{
			{Name: "frontend", Types: []socket.Type{socket.XSUB, socket.SUB, socket.ROUTER, socket.DEALER, socket.PULL, socket.PAIR},
				Doc: "Faces the publishers, clients or upstream pushers. A SUB frontend without `subscribe` takes everything."},
			{Name: "backend", Types: []socket.Type{socket.XPUB, socket.PUB, socket.DEALER, socket.ROUTER, socket.PUSH, socket.PAIR},
				Doc: "Faces the subscribers, workers or downstream pullers."},
			{Name: "capture", Types: []socket.Type{socket.PUB, socket.PUSH, socket.DEALER, socket.PAIR}, Optional: true,
				Doc: "Receives a copy of every message the proxy moves."},
		},
		New: func(cfg plugins.Config) (plugins.Node, error) { return proxy{}, nil },
	}
}

type proxy struct{}

// Subscriptions makes a SUB frontend take every message, as a forwarder must.
func (proxy) Subscriptions() map[string][]string {
	return map[string][]string{"frontend": {""}}
}

// Run moves messages until ctx is done or a socket fails. It runs one
// goroutine per direction (each socket is received from by one goroutine
// and sent on by the other) and returns after both have stopped.
func (proxy) Run(ctx context.Context, env plugins.Env) error {
	front, err := need(env, "frontend")
	if err != nil {
		return err
	}
	back, err := need(env, "backend")
	if err != nil {
		return err
	}
	capture := env.Socket("capture")
	forward := front.Type().CanRecv() && back.Type().CanSend()
	backward := back.Type().CanRecv() && front.Type().CanSend()
	if !forward && !backward {
		return fmt.Errorf("socket types %s (frontend) and %s (backend) cannot move messages either way", front.Type(), back.Type())
	}
	var capMu sync.Mutex // two directions share the capture socket
	pump := func(ctx context.Context, from *socket.Socket, fromName string, to *socket.Socket, toName string) error {
		for {
			m, err := recv(ctx, from, fromName)
			if err != nil {
				return err
			}
			if capture != nil {
				c := clone(m)
				capMu.Lock()
				err := send(ctx, capture, "capture", c)
				capMu.Unlock()
				if err != nil {
					return err
				}
			}
			if err := send(ctx, to, toName, m); err != nil {
				return err
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	if forward {
		g.Go(func() error { return pump(gctx, front, "frontend", back, "backend") })
	}
	if backward {
		g.Go(func() error { return pump(gctx, back, "backend", front, "frontend") })
	}
	return g.Wait()
}

// clone copies a message into one allocation, for a second receiver.
func clone(m socket.Msg) socket.Msg {
	n := 0
	for _, f := range m {
		n += len(f)
	}
	buf := make([]byte, 0, n)
	out := make(socket.Msg, len(m))
	for i, f := range m {
		start := len(buf)
		buf = append(buf, f...)
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out
}
