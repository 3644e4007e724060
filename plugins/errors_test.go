package plugins

import (
	"errors"
	"fmt"
	"testing"

	"github.com/topo-zmq/topo/plugins/pluginproto"
	"github.com/topo-zmq/topo/runtime/socket"
)

func TestBindErrorSaysItOnce(t *testing.T) {
	ep := "tcp://127.0.0.1:5558"
	inUse := fmt.Errorf("socket PUSH: bind %s: %w: listen tcp 127.0.0.1:5558: bind: address already in use", ep, socket.ErrAddrInUse)
	other := fmt.Errorf("socket PUSH: bind %s: listen tcp 10.9.9.9:5558: bind: cannot assign requested address", ep)
	parse := fmt.Errorf("socket PUSH: bind: %w: %q", socket.ErrBadEndpoint, "tcp://x")
	for _, c := range []struct {
		err  error
		want string
	}{
		{inUse, `socket "out": bind tcp://127.0.0.1:5558: address already in use`},
		{other, `socket "out": bind tcp://127.0.0.1:5558: listen tcp 10.9.9.9:5558: bind: cannot assign requested address`},
		{parse, `socket "out": bind tcp://127.0.0.1:5558: socket: invalid endpoint: "tcp://x"`},
	} {
		be := &BindError{Socket: "out", Endpoint: ep, Err: c.err}
		if be.Error() != c.want {
			t.Errorf("Error() =\n  %s\nwant\n  %s", be.Error(), c.want)
		}
		if !errors.Is(be, c.err) {
			t.Errorf("%v does not unwrap to its cause", be)
		}
	}
}

// TestAddrInUseCrossesTheProtocol: the status a plugin answers Bind with
// tells the host the socket and endpoint; an ordinary error does not.
func TestAddrInUseCrossesTheProtocol(t *testing.T) {
	err := pluginproto.AddrInUseError(`w[1]: socket "out": bind ipc:///tmp/x: address already in use`, "out", "ipc:///tmp/x")
	sock, ep, ok := pluginproto.AddrInUse(fmt.Errorf("call: %w", err))
	if !ok || sock != "out" || ep != "ipc:///tmp/x" {
		t.Errorf("AddrInUse = %q, %q, %v", sock, ep, ok)
	}
	if _, _, ok := pluginproto.AddrInUse(errors.New("address already in use")); ok {
		t.Error("a plain error was taken for an AddrInUseError")
	}
}
