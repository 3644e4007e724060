package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/topo-zmq/topo/plugins/pluginproto"
	"github.com/topo-zmq/topo/runtime/socket"
)

// NodeError is a failure of one node instance, shaped like os.PathError:
// the instance (Node), the lifecycle step that failed (Op: "new",
// "config", "launch", "bind", "connect", "ready", "run", "health",
// "close") and the cause (Err), to which it unwraps. It is built once,
// where the failure happens, by NewActor and its Actor, Config.Decode, a
// plugin host's Actor, and the runtime's supervisor; the runtime passes it
// on as is. It reads "Node: Err" ("worker[2]: socket \"in\": bind
// tcp://*:5557: address already in use"): unlike os.PathError it does not
// print Op, which Err's own words say where it helps.
//
// A plugin node's NodeError crosses the plugin boundary with its fields
// and its sentinel intact: in the host it is again a *NodeError (and its
// Err a *BindError for a failed bind), with the same text, and errors.Is
// holds for the sentinels the protocol carries — socket.ErrAddrInUse and
// the socket layer's other Err values, context.Canceled and
// context.DeadlineExceeded, ErrPanic and ErrUnhealthy.
type NodeError struct {
	Node string // the instance name ("worker[2]")
	Op   string // the step that failed ("bind")
	Err  error
}

func (e *NodeError) Error() string { return e.Node + ": " + e.Err.Error() }

func (e *NodeError) Unwrap() error { return e.Err }

// nodeErrorf returns a NodeError of node and op whose Err is
// fmt.Errorf(format, args...).
func nodeErrorf(node, op, format string, args ...any) error {
	return &NodeError{Node: node, Op: op, Err: fmt.Errorf(format, args...)}
}

// BindError is a socket of a node that could not bind an endpoint. It
// reads `socket "out": bind tcp://127.0.0.1:5558: address already in use`
// (the NodeError around it adds the instance name in front) and unwraps to
// the socket layer's error, so errors.Is(err, socket.ErrAddrInUse) holds,
// also for a plugin node (see NodeError).
type BindError struct {
	Socket   string // the socket's name in the node ("out")
	Endpoint string // the endpoint as given to Bind
	Err      error
}

func (e *BindError) Error() string {
	if errors.Is(e.Err, socket.ErrAddrInUse) {
		return fmt.Sprintf("socket %q: bind %s: address already in use", e.Socket, e.Endpoint)
	}
	msg := e.Err.Error()
	// The socket layer names its type and the endpoint again: say it once.
	if rest, ok := strings.CutPrefix(msg, "socket "); ok {
		if _, after, ok := strings.Cut(rest, ": bind "+e.Endpoint+": "); ok {
			msg = after
		} else if _, after, ok := strings.Cut(rest, ": bind: "); ok {
			msg = after
		}
	}
	return fmt.Sprintf("socket %q: bind %s: %s", e.Socket, e.Endpoint, msg)
}

func (e *BindError) Unwrap() error { return e.Err }

// wireSentinel is a sentinel error and its ErrorInfo reason on the wire.
type wireSentinel struct {
	reason string
	err    error
}

// wireSentinels is the one table of the sentinels that keep their identity
// across the plugin boundary, in the order a reason is looked for (the
// first the error wraps wins).
func wireSentinels() []wireSentinel {
	return []wireSentinel{
		{pluginproto.ReasonAddrInUse, socket.ErrAddrInUse},
		{"BAD_ENDPOINT", socket.ErrBadEndpoint},
		{"NO_SUCH_ADDRESS", socket.ErrNoSuchAddress},
		{"SOCKET_CLOSED", socket.ErrClosed},
		{"UNROUTABLE", socket.ErrUnroutable},
		{"SOCKET_STATE", socket.ErrState},
		{"NOT_SUPPORTED", socket.ErrNotSupported},
		{"TOO_LARGE", socket.ErrTooLarge},
		{"SUB_LIMIT", socket.ErrSubLimit},
		{"NODE_PANICKED", ErrPanic},
		{"NODE_UNHEALTHY", ErrUnhealthy},
		{"CANCELED", context.Canceled},
		{"DEADLINE_EXCEEDED", context.DeadlineExceeded},
	}
}

// toWire is the status error a plugin answers a failed call with: err's
// text as the message, and an ErrorInfo with the reason of the sentinel
// err wraps and, for a NodeError, its fields (see pluginproto.ErrorInfo).
func toWire(err error) error {
	if err == nil {
		return nil
	}
	info := &pluginproto.ErrorInfo{Reason: pluginproto.ReasonNone, Metadata: map[string]string{}}
	for _, s := range wireSentinels() {
		if errors.Is(err, s.err) {
			info.Reason = s.reason
			break
		}
	}
	md := info.Metadata
	md[pluginproto.MetaText] = err.Error()
	if ne, ok := err.(*NodeError); ok {
		md[pluginproto.MetaNode], md[pluginproto.MetaOp], md[pluginproto.MetaText] = ne.Node, ne.Op, ne.Err.Error()
		if be, ok := ne.Err.(*BindError); ok {
			md[pluginproto.MetaSocket], md[pluginproto.MetaEndpoint], md[pluginproto.MetaCause] = be.Socket, be.Endpoint, be.Err.Error()
		}
	}
	return pluginproto.StatusError(err.Error(), info)
}

// FromWire rebuilds the NodeError a plugin process answered a call with,
// for a plugin host (runtime/pluginhost): err is what the pluginproto
// Client call returned, node and op the instance and step the host called.
// ok is false when err is not an answer of the plugin's node or Actor (a
// transport failure, a dead process): the host says what went wrong then.
// The rebuilt error has the plugin's fields, text and sentinel (see
// NodeError); from a plugin built before NodeError crossed the protocol,
// it has the text, the host's node and op, and only socket.ErrAddrInUse.
func FromWire(err error, node, op string) (_ *NodeError, ok bool) {
	msg, info, ok := pluginproto.ErrorDetails(err)
	if !ok {
		return nil, false
	}
	if info == nil {
		info = &pluginproto.ErrorInfo{}
	}
	md := info.Metadata
	var is error
	for _, s := range wireSentinels() {
		if s.reason == info.Reason {
			is = s.err
			break
		}
	}
	ne := &NodeError{Node: node, Op: op}
	text, named := md[pluginproto.MetaText], md[pluginproto.MetaNode] != ""
	if named {
		ne.Node = md[pluginproto.MetaNode]
		if o := md[pluginproto.MetaOp]; o != "" {
			ne.Op = o
		}
	} else {
		// A plugin that predates the details (or an error of no node):
		// its message is the whole text, which may name the instance.
		text, _ = strings.CutPrefix(msg, node+": ")
	}
	ne.Err = &wireError{text: text, is: is}
	if sock, ep := md[pluginproto.MetaSocket], md[pluginproto.MetaEndpoint]; sock != "" && ep != "" {
		ne.Err = &BindError{Socket: sock, Endpoint: ep, Err: &wireError{text: md[pluginproto.MetaCause], is: is}}
	}
	return ne, true
}

// wireError is an error rebuilt from the wire: the text it had in the
// plugin process, unwrapping to its sentinel (nil if none).
type wireError struct {
	text string
	is   error
}

func (e *wireError) Error() string { return e.text }

func (e *wireError) Unwrap() error { return e.is }
