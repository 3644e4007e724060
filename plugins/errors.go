package plugins

import (
	"errors"
	"fmt"
	"strings"

	"github.com/topo-zmq/topo/runtime/socket"
)

// BindError is a socket of a node that could not bind an endpoint. It
// reads `socket "out": bind tcp://127.0.0.1:5558: address already in use`
// (an Actor's error adds the instance name in front) and unwraps to the
// socket layer's error, so errors.Is(err, socket.ErrAddrInUse) holds. A
// plugin node's BindError is rebuilt on the host side of the protocol with
// the same text.
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
