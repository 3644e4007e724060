package health

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestWatch: failures in a row make a verdict, a healthy check in between
// starts the count again, ErrGone and ctx end the watch without one.
func TestWatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answers := []error{errors.New("a"), nil, errors.New("b"), errors.New("c"), errors.New("d")}
	calls, missed := 0, 0
	f := Watcher{Interval: time.Millisecond, Misses: 3, Check: func(context.Context) error {
		calls++
		return answers[calls-1]
	}, Missed: func(int, error) { missed++ }}.Watch(ctx)
	if f == nil || f.Failed != 3 || f.Last.Error() != "d" || calls != 5 || missed != 4 {
		t.Fatalf("Watch = %+v after %d calls, %d missed", f, calls, missed)
	}
	sentinel := errors.New("node reported unhealthy")
	v := f.Verdict(sentinel)
	if want := "node reported unhealthy: 3 checks in a row failed (every 1ms; last: d)"; v.Error() != want || !errors.Is(v, sentinel) {
		t.Errorf("Verdict = %q, want %q", v, want)
	}
	gone := Watcher{Interval: time.Millisecond, Misses: 1, Check: func(context.Context) error {
		return fmt.Errorf("exited: %w", ErrGone)
	}}.Watch(ctx)
	if gone != nil {
		t.Errorf("Watch after ErrGone = %+v, want nil", gone)
	}
	cctx, ccancel := context.WithCancel(ctx)
	stopped := Watcher{Interval: time.Millisecond, Misses: 1, Check: func(context.Context) error {
		ccancel()
		return errors.New("x")
	}}.Watch(cctx)
	if stopped != nil {
		t.Errorf("Watch after ctx done = %+v, want nil", stopped)
	}
}
