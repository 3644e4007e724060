// Package health is the one health watcher of topo's runtime: the
// supervisor checks goroutine nodes (package runtime) and the plugin host
// checks process nodes (runtime/pluginhost) with the same loop, Watch.
// What a check asks differs (a node's plugins.HealthChecker in-process,
// the plugin protocol's Health call across it); how often, how long each
// may take, how many misses make a verdict and how it reads do not.
package health

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrGone is what a Check returns (wrapped or not) when there is nothing
// left to check, e.g. the process exited on its own: Watch then returns
// without a verdict.
var ErrGone = errors.New("health: nothing left to check")

// Watcher checks one node every Interval; Misses failed checks in a row
// are a verdict. The zero Misses counts as 1.
type Watcher struct {
	Interval time.Duration
	Misses   int
	// Check asks once, within the deadline of its ctx (Interval from the
	// tick): nil is healthy, an error a failed check (or ErrGone).
	Check func(ctx context.Context) error
	// Missed, if set, is called after each failed check with how many
	// failed in a row so far and the check's error.
	Missed func(failed int, err error)
}

// Failure is a Watcher's verdict: Failed checks in a row failed, every
// Interval, the last with Last.
type Failure struct {
	Failed   int
	Interval time.Duration
	Last     error
}

// Verdict is the error the node fails with, wrapping sentinel (such as
// plugins.ErrUnhealthy): "node reported unhealthy: 3 checks in a row
// failed (every 1s; last: ...)".
func (f *Failure) Verdict(sentinel error) error {
	return fmt.Errorf("%w: %d checks in a row failed (every %s; last: %v)", sentinel, f.Failed, f.Interval, f.Last)
}

// Watch checks every Interval until ctx is done or Check says ErrGone
// (nil), or until Misses checks in a row failed (their Failure). It
// blocks; the caller owns the goroutine it runs on.
func (w Watcher) Watch(ctx context.Context) *Failure {
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	failed := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, w.Interval)
		err := w.Check(cctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			failed = 0
			continue
		case errors.Is(err, ErrGone):
			return nil
		}
		failed++
		if w.Missed != nil {
			w.Missed(failed, err)
		}
		if failed >= w.Misses {
			return &Failure{Failed: failed, Interval: w.Interval, Last: err}
		}
	}
}
