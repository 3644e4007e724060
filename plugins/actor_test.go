package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
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

// checkedNode is a service whose Health the test steers.
type checkedNode struct {
	mu     sync.Mutex
	health func(context.Context) error
}

func (n *checkedNode) Run(ctx context.Context, _ Env) error { <-ctx.Done(); return nil }
func (n *checkedNode) Health(ctx context.Context) error {
	n.mu.Lock()
	h := n.health
	n.mu.Unlock()
	return h(ctx)
}
func (n *checkedNode) set(h func(context.Context) error) { n.mu.Lock(); n.health = h; n.mu.Unlock() }

// TestActorHealth: the Actor has Health only when the node does; it asks
// the node only while Run is in flight; it returns the node's verdict, a
// panic as a failure, and gives up on a Health that ignores ctx at the
// deadline, failing later checks at once until that call returns.
func TestActorHealth(t *testing.T) {
	var sc socket.Context
	defer sc.Close()
	plain, err := NewActor(funcKind("plain", func(context.Context, Env) error { return nil }), Spec{Name: "plain"}, &sc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, ok := plain.(HealthChecker); ok {
		t.Error("the Actor of a node without Health implements HealthChecker")
	}

	node := &checkedNode{health: func(context.Context) error { return errors.New("never asked before Run") }}
	k := &Kind{Name: "checked", New: func(Config) (Node, error) { return node, nil }}
	a, err := NewActor(k, Spec{Name: "checked[1]"}, &sc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	hc, ok := a.(HealthChecker)
	if !ok {
		t.Fatal("the Actor of a node with Health does not implement HealthChecker")
	}
	check := func(d time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return hc.Health(ctx)
	}
	if err := check(time.Second); err != nil {
		t.Errorf("Health before Run = %v, want nil", err)
	}
	if _, err := a.Bind(context.Background()); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	node.set(func(context.Context) error { return nil })
	go func() { ran <- a.Run(runCtx) }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		a.(*healthActor).mu.Lock()
		running := a.(*healthActor).running
		a.(*healthActor).mu.Unlock()
		if running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not start")
		}
	}

	if err := check(time.Second); err != nil {
		t.Errorf("healthy node: Health = %v", err)
	}
	node.set(func(context.Context) error { return errors.New("stuck on message 7") })
	if err := check(time.Second); err == nil || err.Error() != "stuck on message 7" {
		t.Errorf("unhealthy node: Health = %v, want its verdict as is", err)
	}
	node.set(func(context.Context) error { panic("oops") })
	if err := check(time.Second); err == nil || err.Error() != "Health panicked: oops" {
		t.Errorf("panicking Health = %v", err)
	}

	release := make(chan struct{})
	node.set(func(context.Context) error { <-release; return nil }) // ignores ctx
	start := time.Now()
	err = check(100 * time.Millisecond)
	if took := time.Since(start); took > time.Second {
		t.Errorf("Health of a node ignoring ctx returned after %v, deadline 100ms", took)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "Health has not returned after ") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hung Health = %v", err)
	}
	start = time.Now()
	err = check(time.Second)
	if err == nil || !strings.HasPrefix(err.Error(), "Health has not returned after ") || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Health while an earlier call hangs = %v, want an immediate failure", err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("Health while an earlier call hangs took %v, want at once", took)
	}
	node.set(func(context.Context) error { return nil })
	close(release)
	for deadline := time.Now().Add(5 * time.Second); check(time.Second) != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Health stayed failed after the hung call returned")
		}
	}

	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	node.set(func(context.Context) error { return errors.New("never asked after Run") })
	if err := check(time.Second); err != nil {
		t.Errorf("Health after Run = %v, want nil", err)
	}
}
