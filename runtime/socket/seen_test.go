package socket_test

import (
	"context"
	"testing"
	"time"

	"github.com/topo-zmq/topo/runtime/socket"
)

// TestPeersSeenSubscribedWaitUntil: PeerInfo.Subscribed follows a PUB's
// peer's first subscription; PeersSeen keeps a named peer after it left;
// WaitUntil wakes on connects, subscriptions and disconnects, over tcp,
// ipc and inproc.
func TestPeersSeenSubscribedWaitUntil(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var sc socket.Context
			defer sc.Close()
			pub, err := sc.NewSocket(socket.PUB, socket.Options{Run: "r", Name: "p.out"})
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()
			ep := map[string]string{"tcp": "tcp://127.0.0.1:0", "ipc": "ipc://" + t.TempDir() + "/s", "inproc": "inproc://seen-" + t.Name()}[tr]
			if err := pub.Bind(ep); err != nil {
				t.Fatal(err)
			}
			ep = pub.Endpoints()[0]
			sub, err := sc.NewSocket(socket.SUB, socket.Options{Run: "r", Name: "c[0].in"})
			if err != nil {
				t.Fatal(err)
			}
			if err := sub.Connect(ep); err != nil {
				t.Fatal(err)
			}
			conns := func(st socket.Stats) bool { return len(st.Conns) == 1 }
			if err := pub.WaitUntil(ctx, conns); err != nil {
				t.Fatal(err)
			}
			if c := pub.Stats().Conns[0]; c.Subscribed || c.Name != "c[0].in" {
				t.Fatalf("before any subscription: %+v, want c[0].in not subscribed", c)
			}
			if err := sub.Subscribe([]byte("")); err != nil {
				t.Fatal(err)
			}
			if err := pub.WaitUntil(ctx, func(st socket.Stats) bool { return len(st.Conns) == 1 && st.Conns[0].Subscribed }); err != nil {
				t.Fatal(err)
			}
			sub.Close()
			if err := pub.WaitUntil(ctx, func(st socket.Stats) bool { return len(st.Conns) == 0 }); err != nil {
				t.Fatal(err)
			}
			seen := pub.PeersSeen()
			if len(seen) != 1 || seen[0].Name != "c[0].in" || seen[0].Run != "r" {
				t.Fatalf("PeersSeen after the peer left = %+v, want c[0].in of run r", seen)
			}
			short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancelShort()
			if err := pub.WaitUntil(short, conns); err != context.DeadlineExceeded {
				t.Fatalf("WaitUntil with nobody there = %v, want context.DeadlineExceeded", err)
			}
		})
	}
}
