package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"

	"go.uber.org/goleak"

	"github.com/topo-zmq/topo/runtime/socket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func funcKind(name string, run NodeFunc) *Kind {
	return &Kind{Name: name, New: func(Config) (Node, error) { return run, nil }}
}

func runActor(t *testing.T, k *Kind, spec Spec, ctx context.Context, log *slog.Logger) error {
	t.Helper()
	var sc socket.Context
	defer sc.Close()
	a, err := NewActor(k, spec, &sc, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	return a.Run(ctx)
}

func TestActorRecoversPanic(t *testing.T) {
	var logs lockedbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	k := funcKind("boom", func(context.Context, Env) error {
		var m map[string]int
		m["x"] = 1 // nil map write: a runtime panic
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := runActor(t, k, Spec{Name: "boom[3]"}, ctx, log)
	if !errors.Is(err, ErrPanic) {
		t.Fatalf("err = %v, want ErrPanic", err)
	}
	if !strings.HasPrefix(err.Error(), "boom[3]: node panicked: assignment to entry in nil map") {
		t.Fatalf("err = %q", err)
	}
	got := logs.String()
	if !strings.Contains(got, "node=boom[3]") || !strings.Contains(got, "actor_test.go") {
		t.Fatalf("log lacks the node name or the panic site:\n%s", got)
	}
}

func TestActorCancelIsCleanStop(t *testing.T) {
	for _, ret := range []string{"ctx.Err", "wrapped", "nil"} {
		t.Run(ret, func(t *testing.T) {
			k := funcKind("svc", func(ctx context.Context, env Env) error {
				<-ctx.Done()
				switch ret {
				case "ctx.Err":
					return ctx.Err()
				case "wrapped":
					return fmt.Errorf("socket %q: recv: %w", "in", ctx.Err())
				}
				return nil
			})
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			if err := runActor(t, k, Spec{Name: "svc"}, ctx, nil); err != nil {
				t.Fatalf("cancel gave %v, want a clean stop", err)
			}
		})
	}
}

func TestActorRunErrorNamesInstance(t *testing.T) {
	sentinel := errors.New("kaput")
	k := funcKind("t", func(context.Context, Env) error { return fmt.Errorf("socket %q: %w", "in", sentinel) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := runActor(t, k, Spec{Name: "t[0]"}, ctx, nil)
	if !errors.Is(err, sentinel) || err.Error() != `t[0]: socket "in": kaput` {
		t.Fatalf("err = %v", err)
	}
	// A failure while ctx is done but not caused by it is still a failure.
	k = funcKind("t", func(ctx context.Context, _ Env) error { <-ctx.Done(); return sentinel })
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := runActor(t, k, Spec{Name: "t[1]"}, ctx2, nil); !errors.Is(err, sentinel) {
		t.Fatalf("err = %v", err)
	}
}

func TestActorLifecycleMisuse(t *testing.T) {
	var sc socket.Context
	defer sc.Close()
	k := funcKind("t", func(context.Context, Env) error { return nil })
	a, err := NewActor(k, Spec{Name: "t"}, &sc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Bind(ctx); err == nil {
		t.Fatal("second Bind succeeded")
	}
	if err := a.Connect(ctx, map[string][]string{"nope": {"inproc://x"}}); err == nil || !strings.Contains(err.Error(), `t: socket "nope": connect: no such socket`) {
		t.Fatalf("connect unknown socket: %v", err)
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx); err == nil {
		t.Fatal("second Run succeeded")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := a.Bind(ctx); err == nil {
		t.Fatal("Bind after Close succeeded")
	}
}
