package builtin

import (
	"context"
	"time"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

type helloServerConfig struct {
	Reply string `cty:"reply"`
	Work  string `cty:"work"`
}

func helloServerKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "hello-server",
		Doc:  "The zguide Hello World server: prints each request, works for `work`, answers `reply`.",
		Life: plugins.Service,
		Attrs: []plugins.Attr{
			strAttr("reply", "World", "The reply sent for every request."),
			strAttr("work", "0s", "How long to \"work\" on each request before replying (a duration, e.g. \"1s\")."),
		},
		Sockets: []plugins.SocketDecl{
			{Name: "in", Types: []socket.Type{socket.REP, socket.ROUTER}, Doc: "Requests arrive here; replies leave here."},
		},
		Check: checkOf(decodeHelloServer),
		New: func(cfg plugins.Config) (plugins.Node, error) {
			h, err := decodeHelloServer(cfg)
			if err != nil {
				return nil, err
			}
			return h, nil
		},
	}
}

func decodeHelloServer(cfg plugins.Config) (*helloServer, error) {
	var c helloServerConfig
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	work, err := plugins.ParseDuration("work", c.Work)
	if err != nil {
		return nil, err
	}
	return &helloServer{reply: []byte(c.Reply), work: work}, nil
}

type helloServer struct {
	reply []byte
	work  time.Duration
}

// Run answers requests until ctx is done. On a ROUTER it keeps each
// request's routing envelope and replies through it.
func (h *helloServer) Run(ctx context.Context, env plugins.Env) error {
	in, err := need(env, "in")
	if err != nil {
		return err
	}
	router := in.Type() == socket.ROUTER
	for {
		m, err := recv(ctx, in, "in")
		if err != nil {
			return err
		}
		var envelope, body socket.Msg = nil, m
		if router {
			envelope, body = splitEnvelope(m)
		}
		line(env, "Received request: %s", frames(body))
		if err := sleep(ctx, h.work); err != nil {
			return err
		}
		reply := make(socket.Msg, 0, len(envelope)+1)
		reply = append(reply, envelope...)
		reply = append(reply, h.reply)
		if err := send(ctx, in, "in", reply); err != nil {
			return err
		}
	}
}

type helloClientConfig struct {
	Message  string `cty:"message"`
	Requests int    `cty:"requests"`
}

func helloClientKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "hello-client",
		Doc:  "The zguide Hello World client: sends `requests` requests one at a time and prints each reply.",
		Life: plugins.Task,
		Attrs: []plugins.Attr{
			strAttr("message", "Hello", "The request sent."),
			numAttr("requests", 10, "How many request/reply round trips to make before finishing."),
		},
		Sockets: []plugins.SocketDecl{
			{Name: "out", Types: []socket.Type{socket.REQ, socket.DEALER}, Doc: "Requests leave here; replies arrive here."},
		},
		Check: checkOf(decodeHelloClient),
		New: func(cfg plugins.Config) (plugins.Node, error) {
			c, err := decodeHelloClient(cfg)
			if err != nil {
				return nil, err
			}
			return &helloClient{message: []byte(c.Message), requests: c.Requests}, nil
		},
	}
}

func decodeHelloClient(cfg plugins.Config) (helloClientConfig, error) {
	var c helloClientConfig
	if err := cfg.Decode(&c); err != nil {
		return c, err
	}
	if c.Requests < 1 {
		return c, attrErr("requests", "must be at least 1, got %d", c.Requests)
	}
	return c, nil
}

type helloClient struct {
	message  []byte
	requests int
}

// Run makes the round trips, printing `Received reply N [ World ]` for each
// (N from 0, as the zguide's hwclient counts). On a DEALER it adds and
// strips the empty delimiter a REQ socket would.
func (h *helloClient) Run(ctx context.Context, env plugins.Env) error {
	out, err := need(env, "out")
	if err != nil {
		return err
	}
	dealer := out.Type() == socket.DEALER
	for i := range h.requests {
		req := socket.Msg{h.message}
		if dealer {
			req = socket.Msg{{}, h.message}
		}
		if err := send(ctx, out, "out", req); err != nil {
			return err
		}
		m, err := recv(ctx, out, "out")
		if err != nil {
			return err
		}
		if dealer && len(m) > 0 && len(m[0]) == 0 {
			m = m[1:]
		}
		line(env, "Received reply %d [ %s ]", i, frames(m))
	}
	return nil
}
