package socket_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/topo-zmq/topo/runtime/socket"
)

// A PUSH socket hands work to a PULL socket over tcp; the PULL binds an
// ephemeral port and the PUSH connects to the endpoint read back.
func ExampleContext_NewSocket() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var zctx socket.Context
	defer zctx.Close()

	pull, _ := zctx.NewSocket(socket.PULL, socket.Options{})
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		fmt.Println(err)
		return
	}
	push, _ := zctx.NewSocket(socket.PUSH, socket.Options{})
	_ = push.Connect(pull.Endpoints()[0])

	_ = push.Send(ctx, socket.Msg{[]byte("task"), []byte("42")})
	m, err := pull.Recv(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %s\n", m[0], m[1])
	// Output: task 42
}

// A SUB receives only the topics it subscribed to; WaitPeers on the PUB
// returns once the subscription has arrived, so nothing is lost to the
// slow-joiner race.
func ExampleSocket_Subscribe() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var zctx socket.Context
	defer zctx.Close()

	pub, _ := zctx.NewSocket(socket.PUB, socket.Options{})
	_ = pub.Bind("inproc://weather")
	sub, _ := zctx.NewSocket(socket.SUB, socket.Options{})
	_ = sub.Subscribe([]byte("10001 "))
	_ = sub.Connect("inproc://weather")
	_ = pub.WaitPeers(ctx, 1)

	for _, s := range []string{"90210 70", "10001 42", "10002 50"} {
		_ = pub.Send(ctx, socket.Msg{[]byte(s)})
	}
	m, _ := sub.Recv(ctx)
	fmt.Println(string(m[0]))
	// Output: 10001 42
}

// CURVE: the server has a long-term key pair and accepts only the clients
// it lists; the client names the server's public key (which makes it the
// client, whichever side binds). Everything on the wire is encrypted.
func ExampleCurve() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var zctx socket.Context
	defer zctx.Close()

	server, _ := socket.NewCurveKeyPair(nil) // or CurveKeyPairFromSecret(ParseCurveKey(file))
	client, _ := socket.NewCurveKeyPair(nil)

	pull, _ := zctx.NewSocket(socket.PULL, socket.Options{
		Security: socket.Curve{Key: server, Allow: []socket.CurveKey{client.Public}},
	})
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		fmt.Println(err)
		return
	}
	push, _ := zctx.NewSocket(socket.PUSH, socket.Options{
		Security: socket.Curve{Key: client, ServerKey: server.Public},
	})
	_ = push.Connect(pull.Endpoints()[0])

	_ = push.Send(ctx, socket.Msg{[]byte("sealed")})
	m, err := pull.Recv(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s (server key %d characters of Z85)\n", m[0], len(server.Public.Z85()))
	// Output: sealed (server key 40 characters of Z85)
}

// A sender that reuses its buffers: each message's frame comes from
// AllocFrame and is filled with fresh data; SendRelease gives it back to
// the Context's pool once the connection has written it. The receiver
// gives each message back with Release once it has read it, so its next
// large frames are read into the same buffers.
func ExampleSocket_SendRelease() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var sctx, rctx socket.Context // two Contexts: as two programs would
	defer sctx.Close()
	defer rctx.Close()

	pull, _ := rctx.NewSocket(socket.PULL, socket.Options{})
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		fmt.Println(err)
		return
	}
	push, _ := sctx.NewSocket(socket.PUSH, socket.Options{})
	_ = push.Connect(pull.Endpoints()[0])

	payload := make([]byte, 64<<10)
	go func() {
		for i := 0; i < 100; i++ {
			b := push.AllocFrame(len(payload))
			copy(b, payload)
			b[0] = byte(i)
			if err := push.SendRelease(ctx, socket.Msg{b}); err != nil {
				return
			}
			// b is the socket's now: not touched again.
		}
	}()
	sum := 0
	for i := 0; i < 100; i++ {
		m, err := pull.Recv(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		sum += int(m[0][0])
		pull.Release(m) // m is not used after this
	}
	fmt.Println(sum)
	// Output: 4950
}

// A sender that keeps one buffer: it rewrites the buffer for each message
// and sends it with SendCopy, which copies what the socket keeps (here,
// over tcp, into the outbound queue's own memory), so the loop allocates
// nothing per message and may refill the buffer at once.
func ExampleSocket_SendCopy() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var sctx, rctx socket.Context
	defer sctx.Close()
	defer rctx.Close()

	pull, _ := rctx.NewSocket(socket.PULL, socket.Options{})
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		fmt.Println(err)
		return
	}
	push, _ := sctx.NewSocket(socket.PUSH, socket.Options{})
	_ = push.Connect(pull.Endpoints()[0])

	buf := make([]byte, 16)
	go func() {
		for seq := uint64(0); seq < 100; seq++ {
			binary.BigEndian.PutUint64(buf[2:10], seq) // one buffer, rewritten each message
			if err := push.SendCopy(ctx, socket.Msg{buf}); err != nil {
				return
			}
		}
	}()
	var sum uint64
	for i := 0; i < 100; i++ {
		m, err := pull.Recv(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		sum += binary.BigEndian.Uint64(m[0][2:10])
	}
	fmt.Println(sum)
	// Output: 4950
}
