package pluginproto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/topo-zmq/topo/runtime/socket"
)

// ServiceName is the gRPC service of a plugin process.
const ServiceName = "topo.plugin.v1.Node"

// Server is what a plugin process implements: the lifecycle of one node
// instance, mirroring plugins.Actor, plus Describe and Stop. go-plugin's
// gRPC server calls the methods concurrently; Stop and Stats may arrive
// while Run is in flight.
type Server interface {
	// Describe lists the kinds the plugin serves. It needs no Bind.
	Describe(ctx context.Context) (*Description, error)
	// Bind builds the instance from spec, creates and binds its sockets,
	// and returns the endpoints bound per socket name.
	Bind(ctx context.Context, spec *Spec) (map[string][]string, error)
	Connect(ctx context.Context, endpoints map[string][]string) error
	Ready(ctx context.Context) error
	// Run runs the node's body, writing its user-visible output to out.
	// It returns when the body returns, when Stop is called (nil for a
	// clean stop), or when ctx is done (the host went away).
	Run(ctx context.Context, out io.Writer) error
	// Stop asks a running body to stop (cancels its context).
	Stop(ctx context.Context) error
	// Health is the node's own verdict (plugins.HealthChecker): nil when
	// healthy or when the node has no health hook, else what is wrong.
	// It must return by ctx's deadline, whatever the node does; the
	// service sets that deadline a little before the host's (see the
	// package doc, Health).
	Health(ctx context.Context) error
	// Check runs the kinds' own configuration checks (plugins.Kind.Check)
	// on req's configurations; it needs no Bind and builds nothing. A
	// configuration of an unknown kind gets a problem saying so.
	Check(ctx context.Context, req *CheckRequest) (*CheckReply, error)
	Stats(ctx context.Context) (map[string]socket.Stats, error)
	// Tap (revision 3) taps the socket req names: it sends one TapEvent
	// with Attached once the tap is installed, then the messages it copies
	// (and the counts of those it skipped) until ctx is done. A send that
	// fails ends it.
	Tap(ctx context.Context, req *TapRequest, send func(*TapEvent) error) error
	// Close closes the instance's sockets.
	Close(ctx context.Context) error
}

// GRPCPlugin plugs Server into go-plugin. A plugin process sets Impl; a host
// leaves it nil and gets a *Client from Dispense.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Server
}

var (
	_ plugin.GRPCPlugin = (*GRPCPlugin)(nil)
	_ plugin.Plugin     = (*GRPCPlugin)(nil)
)

// GRPCServer registers Impl on s.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("pluginproto: GRPCPlugin has no Impl")
	}
	s.RegisterService(&serviceDesc, p.Impl)
	return nil
}

// GRPCClient returns a *Client over cc.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return &Client{cc: cc}, nil
}

// The service descriptor, written by hand: every message is a well-known type.
var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*Server)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Describe", Handler: unary(func(ctx context.Context, s Server, _ *emptypb.Empty) (any, error) {
			d, err := s.Describe(ctx)
			if err != nil {
				return nil, err
			}
			return encode(d)
		})},
		{MethodName: "Bind", Handler: jsonUnary("bind: decode spec", func(ctx context.Context, s Server, spec *Spec) (map[string][]string, error) {
			return s.Bind(ctx, spec)
		})},
		{MethodName: "Connect", Handler: unary(func(ctx context.Context, s Server, in *wrapperspb.BytesValue) (any, error) {
			var eps map[string][]string
			if err := json.Unmarshal(in.GetValue(), &eps); err != nil {
				return nil, fmt.Errorf("connect: decode endpoints: %w", err)
			}
			return &emptypb.Empty{}, s.Connect(ctx, eps)
		})},
		{MethodName: "Ready", Handler: unary(func(ctx context.Context, s Server, _ *emptypb.Empty) (any, error) {
			return &emptypb.Empty{}, s.Ready(ctx)
		})},
		{MethodName: "Health", Handler: unary(func(ctx context.Context, s Server, _ *emptypb.Empty) (any, error) {
			hctx, cancel := healthContext(ctx)
			defer cancel()
			var st HealthStatus
			if err := s.Health(hctx); err != nil {
				st.Error = err.Error()
				if st.Error == "" {
					st.Error = "unhealthy"
				}
			}
			return encode(st)
		})},
		{MethodName: "Check", Handler: jsonUnary("check: decode request", func(ctx context.Context, s Server, req *CheckRequest) (*CheckReply, error) {
			return s.Check(ctx, req)
		})},
		{MethodName: "Stop", Handler: unary(func(ctx context.Context, s Server, _ *emptypb.Empty) (any, error) {
			return &emptypb.Empty{}, s.Stop(ctx)
		})},
		{MethodName: "Stats", Handler: unary(func(ctx context.Context, s Server, _ *emptypb.Empty) (any, error) {
			st, err := s.Stats(ctx)
			if err != nil {
				return nil, err
			}
			return encode(st)
		})},
		{MethodName: "Close", Handler: unary(func(ctx context.Context, s Server, _ *emptypb.Empty) (any, error) {
			return &emptypb.Empty{}, s.Close(ctx)
		})},
	},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Run",
		ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			if err := stream.RecvMsg(&emptypb.Empty{}); err != nil {
				return err
			}
			w := &streamWriter{stream: stream}
			defer w.close()
			return srv.(Server).Run(stream.Context(), w)
		},
	}, {
		StreamName:    "Tap",
		ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			in := &wrapperspb.BytesValue{}
			if err := stream.RecvMsg(in); err != nil {
				return err
			}
			var req TapRequest
			if err := json.Unmarshal(in.GetValue(), &req); err != nil {
				return fmt.Errorf("tap: decode request: %w", err)
			}
			return srv.(Server).Tap(stream.Context(), &req, func(ev *TapEvent) error {
				b, err := encode(ev)
				if err != nil {
					return err
				}
				return stream.SendMsg(b)
			})
		},
	}},
	Metadata: "topo/plugin/v1",
}

// jsonUnary is a unary handler whose request and reply are JSON documents
// in BytesValues; what prefixes a request that does not decode.
func jsonUnary[Req, Reply any](what string, f func(context.Context, Server, *Req) (Reply, error)) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return unary(func(ctx context.Context, s Server, in *wrapperspb.BytesValue) (any, error) {
		var req Req
		if err := json.Unmarshal(in.GetValue(), &req); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		r, err := f(ctx, s, &req)
		if err != nil {
			return nil, err
		}
		return encode(r)
	})
}

// unary adapts a typed handler to grpc.MethodDesc's Handler.
func unary[In any, PIn interface {
	*In
	proto.Message
}](f func(context.Context, Server, PIn) (any, error)) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		in := PIn(new(In))
		if err := dec(in); err != nil {
			return nil, err
		}
		if interceptor == nil {
			return f(ctx, srv.(Server), in)
		}
		info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + ServiceName}
		return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
			return f(ctx, srv.(Server), req.(PIn))
		})
	}
}

// healthContext gives Server.Health four fifths of the time left before
// the caller's deadline, so that even a verdict of "did not return in time"
// reaches the host before it gives up on the call: the host can tell a
// node that is stuck from a process that does not answer.
func healthContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Until(d)*4/5)
}

func encode(v any) (*wrapperspb.BytesValue, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return wrapperspb.Bytes(b), nil
}

// streamWriter turns Writes into Run stream messages. Safe for concurrent
// use; a Write after Run returned fails with io.ErrClosedPipe.
type streamWriter struct {
	mu     sync.Mutex
	stream grpc.ServerStream
	done   bool
}

func (w *streamWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return 0, io.ErrClosedPipe
	}
	// SendMsg serializes before returning, so p may be reused afterwards.
	if err := w.stream.SendMsg(wrapperspb.Bytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *streamWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// Client is the host's handle on one plugin process's Server. Safe for
// concurrent use.
type Client struct {
	cc *grpc.ClientConn
}

func (c *Client) call(ctx context.Context, method string, in, out any) error {
	return c.cc.Invoke(ctx, "/"+ServiceName+"/"+method, in, out)
}

func (c *Client) callJSON(ctx context.Context, method string, in any, into any) error {
	var req any = &emptypb.Empty{}
	if in != nil {
		b, err := encode(in)
		if err != nil {
			return err
		}
		req = b
	}
	if into == nil {
		return c.call(ctx, method, req, &emptypb.Empty{})
	}
	out := &wrapperspb.BytesValue{}
	if err := c.call(ctx, method, req, out); err != nil {
		return err
	}
	if err := json.Unmarshal(out.GetValue(), into); err != nil {
		return fmt.Errorf("%s: decode reply: %w", method, err)
	}
	return nil
}

// Describe calls Server.Describe.
func (c *Client) Describe(ctx context.Context) (*Description, error) {
	var d Description
	if err := c.callJSON(ctx, "Describe", nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Bind calls Server.Bind.
func (c *Client) Bind(ctx context.Context, spec *Spec) (map[string][]string, error) {
	var eps map[string][]string
	if err := c.callJSON(ctx, "Bind", spec, &eps); err != nil {
		return nil, err
	}
	return eps, nil
}

// Connect calls Server.Connect.
func (c *Client) Connect(ctx context.Context, endpoints map[string][]string) error {
	if endpoints == nil {
		endpoints = map[string][]string{}
	}
	return c.callJSON(ctx, "Connect", endpoints, nil)
}

// Ready calls Server.Ready.
func (c *Client) Ready(ctx context.Context) error { return c.callJSON(ctx, "Ready", nil, nil) }

// Stop calls Server.Stop.
func (c *Client) Stop(ctx context.Context) error { return c.callJSON(ctx, "Stop", nil, nil) }

// Health calls Server.Health. A failed call (the plugin did not answer
// in time, or its process is gone) is an error; the node's verdict is in
// the HealthStatus. A plugin built before Health existed answers
// codes.Unimplemented, which is reported as healthy: its process answered,
// and it has no node health hook to ask.
func (c *Client) Health(ctx context.Context) (HealthStatus, error) {
	var st HealthStatus
	err := c.callJSON(ctx, "Health", nil, &st)
	if status.Code(err) == codes.Unimplemented {
		return HealthStatus{}, nil
	}
	return st, err
}

// ErrUnsupported is returned by a Client call the plugin does not know:
// it was built before the call was added to the protocol (it answered
// codes.Unimplemented).
var ErrUnsupported = errors.New("the plugin was built before this call existed")

// Check calls Server.Check. A plugin built before Check existed answers
// codes.Unimplemented: Check then returns an error wrapping
// ErrUnsupported, and the caller skips the check. A reply with another
// number of answers than req has configurations is an error.
func (c *Client) Check(ctx context.Context, req *CheckRequest) (*CheckReply, error) {
	var r CheckReply
	err := c.callJSON(ctx, "Check", req, &r)
	if status.Code(err) == codes.Unimplemented {
		return nil, fmt.Errorf("Check: %w", ErrUnsupported)
	}
	if err != nil {
		return nil, err
	}
	if len(r.Problems) != len(req.Configs) {
		return nil, fmt.Errorf("Check: %d answers for %d configurations", len(r.Problems), len(req.Configs))
	}
	return &r, nil
}

// Close calls Server.Close.
func (c *Client) Close(ctx context.Context) error { return c.callJSON(ctx, "Close", nil, nil) }

// Stats calls Server.Stats.
func (c *Client) Stats(ctx context.Context) (map[string]socket.Stats, error) {
	var st map[string]socket.Stats
	if err := c.callJSON(ctx, "Stats", nil, &st); err != nil {
		return nil, err
	}
	return st, nil
}

// Tap calls Server.Tap and gives f every event of the stream, in order,
// until ctx is done (then it returns nil) or the stream fails. A plugin
// built before Tap existed answers codes.Unimplemented: Tap then returns
// an error wrapping ErrUnsupported (a host checks Description.Revision
// first and does not ask).
func (c *Client) Tap(ctx context.Context, req *TapRequest, f func(*TapEvent)) error {
	stream, err := c.cc.NewStream(ctx, &serviceDesc.Streams[1], "/"+ServiceName+"/Tap")
	if err != nil {
		return c.tapErr(ctx, err)
	}
	b, err := encode(req)
	if err != nil {
		return err
	}
	if err := stream.SendMsg(b); err != nil {
		return c.tapErr(ctx, err)
	}
	if err := stream.CloseSend(); err != nil {
		return c.tapErr(ctx, err)
	}
	for {
		m := &wrapperspb.BytesValue{}
		err := stream.RecvMsg(m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return c.tapErr(ctx, err)
		}
		var ev TapEvent
		if err := json.Unmarshal(m.GetValue(), &ev); err != nil {
			return fmt.Errorf("Tap: decode event: %w", err)
		}
		f(&ev)
	}
}

func (c *Client) tapErr(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return nil
	case status.Code(err) == codes.Unimplemented:
		return fmt.Errorf("Tap: %w", ErrUnsupported)
	}
	return err
}

// Run calls Server.Run and copies the output it streams to out, in order,
// until the body returns; it then returns the body's result. Cancelling ctx
// abandons the call (the plugin sees its stream cancelled).
func (c *Client) Run(ctx context.Context, out io.Writer) error {
	stream, err := c.cc.NewStream(ctx, &serviceDesc.Streams[0], "/"+ServiceName+"/Run")
	if err != nil {
		return err
	}
	if err := stream.SendMsg(&emptypb.Empty{}); err != nil {
		return err
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	for {
		m := &wrapperspb.BytesValue{}
		err := stream.RecvMsg(m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if out != nil {
			if _, werr := out.Write(m.GetValue()); werr != nil {
				// Keep draining so the body is not blocked on us.
				out = nil
			}
		}
	}
}
