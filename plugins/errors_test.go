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
// gives the host back the NodeError, its BindError (socket and endpoint),
// its text and socket.ErrAddrInUse; an ordinary error is no bind error,
// and a transport failure no node error at all.
func TestAddrInUseCrossesTheProtocol(t *testing.T) {
	orig := &NodeError{Node: "w[1]", Op: "bind", Err: &BindError{Socket: "out", Endpoint: "ipc:///tmp/x",
		Err: fmt.Errorf("socket PUSH: bind ipc:///tmp/x: %w: listen unix /tmp/x: bind: address already in use", socket.ErrAddrInUse)}}
	ne, ok := FromWire(fmt.Errorf("call: %w", toWire(orig)), "w[1]", "bind")
	if !ok {
		t.Fatal("FromWire: not a node error")
	}
	var be *BindError
	if !errors.As(ne, &be) || be.Socket != "out" || be.Endpoint != "ipc:///tmp/x" {
		t.Errorf("BindError = %+v", be)
	}
	if ne.Node != "w[1]" || ne.Op != "bind" || !errors.Is(ne, socket.ErrAddrInUse) {
		t.Errorf("NodeError = %+v (Is ErrAddrInUse: %v)", ne, errors.Is(ne, socket.ErrAddrInUse))
	}
	if want := `w[1]: socket "out": bind ipc:///tmp/x: address already in use`; ne.Error() != want || orig.Error() != want {
		t.Errorf("text = %q (was %q), want %q", ne.Error(), orig.Error(), want)
	}
	plain, ok := FromWire(toWire(errors.New("address already in use")), "w[1]", "bind")
	if !ok || errors.As(plain, &be) || errors.Is(plain, socket.ErrAddrInUse) {
		t.Errorf("a plain error was taken for an address in use: %#v", plain)
	}
	if _, ok := FromWire(errors.New("connection refused"), "w[1]", "bind"); ok {
		t.Error("a transport error was taken for a node error")
	}
}

// TestSentinelsRoundTrip: every sentinel of the wire table, wrapped in a
// NodeError, comes back from the wire as itself, with the same text,
// node and op; errors of plugins built before NodeError crossed the
// protocol keep their text without naming the node twice.
func TestSentinelsRoundTrip(t *testing.T) {
	for _, s := range wireSentinels() {
		orig := &NodeError{Node: "n", Op: "run", Err: fmt.Errorf("doing it: %w", s.err)}
		got, ok := FromWire(toWire(orig), "host-name", "host-op")
		if !ok || !errors.Is(got, s.err) || got.Error() != orig.Error() || got.Node != "n" || got.Op != "run" {
			t.Errorf("%s: got %#v (%v), want %q wrapping %v", s.reason, got, got, orig, s.err)
		}
		for _, o := range wireSentinels() {
			if o.err != s.err && errors.Is(got, o.err) && !errors.Is(orig, o.err) {
				t.Errorf("%s: also is %v", s.reason, o.err)
			}
		}
	}
	legacy := []struct {
		err  error
		want string
		is   error
	}{
		{pluginproto.StatusError(`w: socket "out": bind tcp://x:1: address already in use`,
			&pluginproto.ErrorInfo{Reason: pluginproto.ReasonAddrInUse, Metadata: map[string]string{"socket": "out", "endpoint": "tcp://x:1"}}),
			`w: socket "out": bind tcp://x:1: address already in use`, socket.ErrAddrInUse},
		{pluginproto.StatusError("w: boom", nil), "w: boom", nil},
		{pluginproto.StatusError("no node instance: Bind was not called", nil), "w: no node instance: Bind was not called", nil},
	}
	for _, c := range legacy {
		got, ok := FromWire(c.err, "w", "bind")
		if !ok || got.Error() != c.want || (c.is != nil && !errors.Is(got, c.is)) || got.Node != "w" || got.Op != "bind" {
			t.Errorf("legacy %v: got %#v, want %q", c.err, got, c.want)
		}
	}
}
