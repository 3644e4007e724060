package plugins

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"

	"github.com/topo-zmq/topo/runtime/socket"
)

var pushPullKind = &Kind{
	Name: "pp",
	Sockets: []SocketDecl{
		{Name: "out", Types: []socket.Type{socket.PUSH}, Optional: true},
		{Name: "in", Types: []socket.Type{socket.PULL}, Optional: true},
	},
	New: func(Config) (Node, error) {
		return NodeFunc(func(ctx context.Context, env Env) error {
			if out := env.Socket("out"); out != nil {
				return out.Send(ctx, socket.Msg{[]byte("hi")})
			}
			m, err := env.Socket("in").Recv(ctx)
			if err != nil {
				return err
			}
			_, err = env.Out.Write(append(m[0], '\n'))
			return err
		}), nil
	},
}

func TestActorBindErrorNamesSocketAndEndpoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var sc socket.Context
	defer sc.Close()
	a, err := NewActor(pushPullKind, Spec{Name: "a", Sockets: []SocketSpec{{Name: "out", Type: socket.PUSH, Bind: []string{"tcp://127.0.0.1:0"}}}}, &sc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	eps, err := a.Bind(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(eps["out"]) != 1 || strings.HasSuffix(eps["out"][0], ":0") {
		t.Fatalf("bound endpoints = %v", eps)
	}
	ep := eps["out"][0]
	b, err := NewActor(pushPullKind, Spec{Name: "b[1]", Sockets: []SocketSpec{{Name: "out", Type: socket.PUSH, Bind: []string{ep}}}}, &sc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = b.Bind(ctx)
	want := `b[1]: socket "out": bind ` + ep + ": "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, socket.ErrAddrInUse) {
		t.Fatalf("err = %v, want prefix %q wrapping ErrAddrInUse", err, want)
	}
	// The failed actor released what it made: a fresh one on another port binds.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestActorReadyWaitsForPeersAndMovesAMessage(t *testing.T) {
	for _, ep := range []string{"inproc://actor-ready", "tcp://127.0.0.1:0"} {
		t.Run(strings.SplitN(ep, ":", 2)[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var sc socket.Context
			defer sc.Close()
			var out lockedbuf.Buffer
			pull, err := NewActor(pushPullKind, Spec{Name: "pull", Sockets: []SocketSpec{{Name: "in", Type: socket.PULL, Bind: []string{ep}, Expect: 1}}}, &sc, &out, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer pull.Close()
			eps, err := pull.Bind(ctx)
			if err != nil {
				t.Fatal(err)
			}
			short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
			err = pull.Ready(short)
			cancelShort()
			if err == nil || !strings.Contains(err.Error(), `pull: not ready: socket "in" is still waiting for 1 of 1 peers`) ||
				!errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Ready without peers: %v", err)
			}

			push, err := NewActor(pushPullKind, Spec{Name: "push", Sockets: []SocketSpec{{Name: "out", Type: socket.PUSH, Expect: 1}}}, &sc, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer push.Close()
			if _, err := push.Bind(ctx); err != nil {
				t.Fatal(err)
			}
			if err := push.Connect(ctx, map[string][]string{"out": eps["in"]}); err != nil {
				t.Fatal(err)
			}
			for _, a := range []Actor{pull, push} {
				if err := a.Ready(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := push.Run(ctx); err != nil {
				t.Fatal(err)
			}
			if err := pull.Run(ctx); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != "hi\n" {
				t.Fatalf("output %q", got)
			}
			if st := pull.Stats()["in"]; st.MsgsIn != 1 || st.Peers != 1 {
				t.Fatalf("pull stats %+v", st)
			}
			if st := push.Stats()["out"]; st.MsgsOut != 1 {
				t.Fatalf("push stats %+v", st)
			}
		})
	}
}

// A node subscribing through Subscriber gets its prefix when the topology
// gives none, and the topology's list when it gives one.
func TestActorSubscriberDefaults(t *testing.T) {
	for _, tt := range []struct {
		name string
		subs []string
		want string
	}{
		{"kind's own", nil, "b-msg"},
		{"topology's", []string{"c"}, "c-msg"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var sc socket.Context
			defer sc.Close()
			var out lockedbuf.Buffer
			k := &Kind{
				Name:    "sub",
				Sockets: []SocketDecl{{Name: "in", Types: []socket.Type{socket.SUB}}},
				New:     func(Config) (Node, error) { return subNode{}, nil },
			}
			ep := "tcp://127.0.0.1:0"
			sub, err := NewActor(k, Spec{Name: "s", Sockets: []SocketSpec{{Name: "in", Type: socket.SUB, Bind: []string{ep}, Subscribe: tt.subs}}}, &sc, &out, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			eps, err := sub.Bind(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ep = eps["in"][0]
			pub, err := sc.NewSocket(socket.PUB, socket.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()
			if err := pub.Connect(ep); err != nil {
				t.Fatal(err)
			}
			if err := pub.WaitPeers(ctx, 1); err != nil {
				t.Fatal(err)
			}
			for _, m := range []string{"a-msg", "b-msg", "c-msg"} {
				if err := pub.Send(ctx, socket.Msg{[]byte(m)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := sub.Run(ctx); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != tt.want+"\n" {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

type subNode struct{}

func (subNode) Subscriptions() map[string][]string { return map[string][]string{"in": {"b"}} }

func (subNode) Run(ctx context.Context, env Env) error {
	m, err := env.Socket("in").Recv(ctx)
	if err != nil {
		return err
	}
	_, err = env.Out.Write(append(m[0], '\n'))
	return err
}
