package builtin

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

// A forwarder proxy passes a downstream peer's subscriptions upstream and,
// when that peer is disconnected for subscribing past its budget (as when
// it leaves), the matching cancels, so the upstream publisher forgets them
// too; the subscription past the budget never goes upstream.
func TestProxyForwarderCancelsUpstream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var reg plugins.Registry
	if err := Register(&reg); err != nil {
		t.Fatal(err)
	}
	k, _ := reg.Lookup("proxy")
	zctx := &socket.Context{}
	defer zctx.Close()

	up, err := zctx.NewSocket(socket.XPUB, socket.Options{RecvHWM: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	if err := up.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	a, err := plugins.NewActor(k, plugins.Spec{Name: "proxy", Kind: "proxy", Sockets: []plugins.SocketSpec{
		sock("frontend", socket.XSUB, "", 0), sock("backend", socket.XPUB, "tcp://127.0.0.1:0", 0),
	}}, zctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	eps, err := a.Bind(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(ctx, map[string][]string{"frontend": up.Endpoints()}); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- a.Run(runCtx) }()
	defer func() { stop(); <-ran }()

	// No reconnect within the test: a reconnecting peer resends all its
	// subscriptions (and is cut off again).
	down, err := zctx.NewSocket(socket.XSUB, socket.Options{ReconnectIvl: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	if err := down.Connect(eps["backend"][0]); err != nil {
		t.Fatal(err)
	}
	// One more than the default budget of 100,000 prefixes per peer: the
	// proxy's backend disconnects the peer at the last one.
	const n = 100_000
	for i := 0; i <= n; i++ {
		if err := down.Send(ctx, socket.Msg{fmt.Appendf(nil, "\x01topic-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	recv := func(what string) socket.Msg {
		t.Helper()
		m, err := up.Recv(ctx)
		if err != nil {
			t.Fatalf("upstream XPUB: %s: %v (proxy stats %+v)", what, err, a.Stats())
		}
		return m
	}
	subs := map[string]bool{}
	for i := 0; i < n; i++ {
		m := recv(fmt.Sprintf("subscription %d", i))
		if m[0][0] != 1 {
			t.Fatalf("upstream got %q, want a subscription", m[0])
		}
		subs[string(m[0][1:])] = true
	}
	for {
		st := a.Stats()["backend"]
		if st.SubLimited == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the peer past its budget was not disconnected: backend %+v", st)
		case <-time.After(5 * time.Millisecond):
		}
	}
	for i := 0; i < n; i++ {
		m := recv(fmt.Sprintf("cancel %d", i))
		if m[0][0] != 0 || !subs[string(m[0][1:])] {
			t.Fatalf("upstream got %q, want a cancel of a subscribed topic", m[0])
		}
		delete(subs, string(m[0][1:]))
	}
	ectx, ecancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer ecancel()
	if m, err := up.Recv(ectx); err == nil {
		t.Fatalf("upstream got %q after the cancels", m[0])
	}
}
