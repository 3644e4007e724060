package socket

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestSmoke(t *testing.T) {
	for _, ep := range []string{"tcp://127.0.0.1:0", "inproc://smoke"} {
		var c Context
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		pull, _ := c.NewSocket(PULL, Options{})
		push, _ := c.NewSocket(PUSH, Options{})
		if err := pull.Bind(ep); err != nil {
			t.Fatal(err)
		}
		if err := push.Connect(pull.Endpoints()[0]); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			if err := push.Send(ctx, Msg{[]byte(fmt.Sprint(i))}); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 100; i++ {
			m, err := pull.Recv(ctx)
			if err != nil || string(m[0]) != fmt.Sprint(i) {
				t.Fatal(m, err)
			}
		}
		push.Close()
		pull.Close()
		cancel()
	}
}

func TestSmokeCloseTiming(t *testing.T) {
	var c Context
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pull, _ := c.NewSocket(PULL, Options{})
	push, _ := c.NewSocket(PUSH, Options{})
	pull.Bind("tcp://127.0.0.1:0")
	push.Connect(pull.Endpoints()[0])
	push.Send(ctx, Msg{[]byte("x")})
	pull.Recv(ctx)
	t0 := time.Now()
	push.Close()
	t.Log("push close", time.Since(t0))
	t0 = time.Now()
	pull.Close()
	t.Log("pull close", time.Since(t0))
}
