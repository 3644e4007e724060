package plugins

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/topo-zmq/topo/runtime/socket"
)

// readyWithin runs a.Ready for d: nil when it returned ready, else the
// error (context.DeadlineExceeded when it was still waiting).
func readyWithin(a Actor, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return a.Ready(ctx)
}

// TestReadyNamedPeersConnectedNow: with SocketSpec.Peers a socket is
// ready when each named peer of the same topology is connected right now.
// An outside client (another run, or none), a peer of another topology
// with the right name, and a peer that connected and left count for
// nothing on a sending socket (PUSH); on a receiving one (PULL) a peer
// that sent and left was wired.
func TestReadyNamedPeersConnectedNow(t *testing.T) {
	const run = "0123456789abcdef/edge"
	newActor := func(t *testing.T, sc *socket.Context, typ socket.Type, ep string) Actor {
		t.Helper()
		k := &Kind{Name: "k", Sockets: []SocketDecl{{Name: "s", Types: []socket.Type{typ}}},
			New: func(Config) (Node, error) { return NodeFunc(func(context.Context, Env) error { return nil }), nil }}
		a, err := NewActor(k, Spec{Name: "self", Run: run, Sockets: []SocketSpec{{Name: "s", Type: typ, Bind: []string{ep},
			Expect: 2, Peers: []string{"w[0].in", "w[1].in"}}}}, sc, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		bound, err := a.Bind(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Connect(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		return &boundActor{Actor: a, ep: bound["s"][0]}
	}
	peer := func(t *testing.T, sc *socket.Context, typ socket.Type, ep, run, name string) *socket.Socket {
		t.Helper()
		s, err := sc.NewSocket(typ, socket.Options{Run: run, Name: name, Linger: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Connect(ep); err != nil {
			t.Fatal(err)
		}
		if err := s.WaitPeers(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		return s
	}
	short := 300 * time.Millisecond

	t.Run("PUSH", func(t *testing.T) {
		var sc socket.Context
		defer sc.Close()
		a := newActor(t, &sc, socket.PUSH, "tcp://127.0.0.1:0")
		ep := a.(*boundActor).ep
		peer(t, &sc, socket.PULL, ep, "", "w[0].in")                      // announces no run: outside
		peer(t, &sc, socket.PULL, ep, "fedcba9876543210/edge", "w[1].in") // another topology
		peer(t, &sc, socket.PULL, ep, run, "other.in")                    // of the run, not expected
		left := peer(t, &sc, socket.PULL, ep, "0123456789abcdef/workers", "w[0].in")
		left.Close() // connected and left
		err := readyWithin(a, short)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Ready = %v, want still waiting", err)
		}
		if !strings.Contains(err.Error(), "w[0].in, w[1].in") {
			t.Errorf("the error does not name both missing peers: %v", err)
		}
		peer(t, &sc, socket.PULL, ep, "0123456789abcdef/workers", "w[0].in")
		if err := readyWithin(a, short); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "1 of 2") {
			t.Fatalf("Ready = %v, want still waiting for 1 of 2", err)
		}
		peer(t, &sc, socket.PULL, ep, "0123456789abcdef/workers", "w[1].in")
		if err := readyWithin(a, 5*time.Second); err != nil {
			t.Fatalf("Ready with both peers connected: %v", err)
		}
	})

	t.Run("PULL", func(t *testing.T) {
		var sc socket.Context
		defer sc.Close()
		a := newActor(t, &sc, socket.PULL, "tcp://127.0.0.1:0")
		ep := a.(*boundActor).ep
		peer(t, &sc, socket.PUSH, ep, "", "w[0].in")
		left := peer(t, &sc, socket.PUSH, ep, "0123456789abcdef/workers", "w[0].in")
		left.Close() // sent what it had and left: wired
		if err := readyWithin(a, short); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "(w[1].in)") {
			t.Fatalf("Ready = %v, want still waiting for w[1].in only", err)
		}
		peer(t, &sc, socket.PUSH, ep, "0123456789abcdef/sink", "w[1].in")
		if err := readyWithin(a, 5*time.Second); err != nil {
			t.Fatalf("Ready: %v", err)
		}
	})
}

// boundActor keeps the endpoint an actor bound.
type boundActor struct {
	Actor
	ep string
}

func TestSameTopology(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"", "", false},
		{"t/edge", "t/sink", true},
		{"t/edge", "u/edge", false},
		{"t/edge", "t", false},
		{"/edge", "/sink", false},
	} {
		if got := SameTopology(c.a, c.b); got != c.want {
			t.Errorf("SameTopology(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
