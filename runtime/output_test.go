package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// fakeClock is a settable time source.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// jsonRecords parses a JSON log strictly, one object a line.
func jsonRecords(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil || dec.More() {
			t.Fatalf("log line %q is not one JSON object: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestWarnLimiter(t *testing.T) {
	var buf bytes.Buffer
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	l := newWarnLimiter(slog.NewJSONHandler(&buf, nil), "client", clock.now)
	log := slog.New(l.handler()).With("node", "client")
	sub := log.With("socket", "in") // derived loggers share the count
	for i := range 1000 {
		sub.Warn("malformed update", "i", i)
		log.Info("info is never limited")
	}
	log.Warn("another warning")
	l.tick() // the window is not over: nothing to report yet
	recs := jsonRecords(t, buf.Bytes())
	if n := count(recs, "malformed update"); n != warnBurst {
		t.Errorf("%d malformed-update lines, want %d", n, warnBurst)
	}
	if n := count(recs, "info is never limited"); n != 1000 {
		t.Errorf("%d info lines, want 1000", n)
	}
	if n := count(recs, "another warning"); n != 1 {
		t.Errorf("%d lines of another warning, want 1", n)
	}
	if n := count(recs, "suppressed 995 similar warnings"); n != 0 {
		t.Fatalf("suppressed reported before the window is over")
	}

	clock.add(warnWindow)
	l.tick()
	recs = jsonRecords(t, buf.Bytes())
	var got map[string]any
	for _, r := range recs {
		if r["msg"] == "suppressed 995 similar warnings" {
			got = r
		}
	}
	if got == nil {
		t.Fatalf("no suppressed line in:\n%s", buf.String())
	}
	if got["node"] != "client" || got["warning"] != "malformed update" || got["suppressed"] != json.Number("995") || got["level"] != "WARN" {
		t.Errorf("suppressed record %v", got)
	}

	// A new window writes warnings again; flush reports the rest at once.
	buf.Reset()
	for range 7 {
		sub.Warn("malformed update")
	}
	l.flush()
	recs = jsonRecords(t, buf.Bytes())
	if n := count(recs, "malformed update"); n != warnBurst {
		t.Errorf("new window: %d lines, want %d", n, warnBurst)
	}
	if n := count(recs, "suppressed 2 similar warnings"); n != 1 {
		t.Errorf("flush did not report 2 suppressed:\n%s", buf.String())
	}
	buf.Reset()
	l.flush()
	if buf.Len() != 0 {
		t.Errorf("second flush wrote %q", buf.String())
	}
}

func count(recs []map[string]any, msg string) int {
	n := 0
	for _, r := range recs {
		if r["msg"] == msg {
			n++
		}
	}
	return n
}

// TestNodeLogsLimitedAndTaggedOnce runs a node that logs the same warning
// 2,000 times through the real in-process actor: the log holds a few of
// them and one line saying how many were suppressed, and every line names
// the node once.
func TestNodeLogsLimitedAndTaggedOnce(t *testing.T) {
	var reg plugins.Registry
	reg.MustRegister(&plugins.Kind{Name: "noisy", Life: plugins.Task, New: func(plugins.Config) (plugins.Node, error) {
		return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
			for i := range 2000 {
				env.Log.Warn("malformed weather update skipped", "i", i)
			}
			return nil
		}), nil
	}})
	var logs lockedbuf.Buffer
	topo := mkTopo(tnode{name: "client", kind: "noisy"})
	rt := New(topo, Options{Registry: &reg, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err := rt.Run(testCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	b := []byte(logs.String())
	recs := jsonRecords(t, b)
	if n := count(recs, "malformed weather update skipped"); n != warnBurst {
		t.Errorf("%d warnings written, want %d", n, warnBurst)
	}
	if n := count(recs, fmt.Sprintf("suppressed %d similar warnings", 2000-warnBurst)); n != 1 {
		t.Errorf("no line saying %d were suppressed:\n%s", 2000-warnBurst, b)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.Count(line, `"node":`) > 1 {
			t.Errorf("node key twice: %s", line)
		}
	}
}

// blockingLauncher starts nothing: Launch waits for ctx, as a plugin slow
// to start would, and fails the way pluginhost does.
type blockingLauncher struct{ launching chan struct{} }

func (l *blockingLauncher) Kinds(context.Context, *topology.Plugin, string) ([]*plugins.Kind, error) {
	return nil, errors.New("no plugins")
}
func (l *blockingLauncher) Launch(ctx context.Context, _ *topology.Plugin, _ string, spec plugins.Spec, _ io.Writer, _ *slog.Logger) (plugins.Actor, error) {
	close(l.launching)
	<-ctx.Done()
	return nil, fmt.Errorf("%s: start abandoned, no plugin process was started: %w", spec.Name, ctx.Err())
}
func (l *blockingLauncher) Close() error { return nil }

// TestInterruptDuringStartIsNotFailure: ctx done while a process node is
// still starting stops everything; Run returns nil and no node failed.
func TestInterruptDuringStartIsNotFailure(t *testing.T) {
	reg := kindsRegistry(t)
	topo := mkTopo(tnode{name: "early", kind: "service"}, tnode{name: "slow", kind: "service"})
	topo.Instances[1].Node.Isolation = "process"
	ev := &eventLog{}
	l := &blockingLauncher{launching: make(chan struct{})}
	o := fastOpts(reg, ev)
	o.Launcher = l
	rt := New(topo, o)
	ctx, cancel := context.WithCancel(testCtx(t, 10*time.Second))
	go func() { <-l.launching; cancel() }()
	if err := rt.Run(ctx); err != nil {
		t.Fatalf("Run after an interrupted start-up: %v, want nil", err)
	}
	for _, st := range rt.Status() {
		if st.State != StateStopped || st.Err != nil {
			t.Errorf("%s: state %s, err %v; want stopped, no error", st.Name, st.State, st.Err)
		}
		if f := ev.of(st.Name, EventFailed); len(f) > 0 {
			t.Errorf("%s: failed event %v", st.Name, f[0].Err)
		}
	}
}

// growingActor's counters grow at every Stats call, as a busy node's do.
type growingActor struct {
	fakeActor
	n atomic.Uint64
}

func (a *growingActor) Stats() map[string]socket.Stats {
	n := a.n.Add(1000)
	return map[string]socket.Stats{"x": {MsgsIn: n, MsgsOut: n}}
}

// TestNoRateWhenNotRunning: an instance that failed and waits for its
// restart reports no rate, though its last stats interval had one.
func TestNoRateWhenNotRunning(t *testing.T) {
	reg := kindsRegistry(t)
	topo := mkTopo(tnode{name: "w", kind: "service"})
	o := fastOpts(reg, &eventLog{})
	o.StatsInterval = 300 * time.Millisecond
	o.BackoffInitial, o.BackoffMax = 2*time.Second, 2*time.Second
	failAt := make(chan struct{})
	var once sync.Once
	rt := New(topo, o)
	rt.opts.NewActor = func(k *plugins.Kind, spec plugins.Spec, sc *socket.Context, out io.Writer, log *slog.Logger) (plugins.Actor, error) {
		a := &growingActor{}
		a.spec = spec
		a.run = func(ctx context.Context) error {
			select {
			case <-failAt:
				return errBoom
			case <-ctx.Done():
				return nil
			}
		}
		return a, nil
	}
	ctx, cancel := context.WithCancel(testCtx(t, 20*time.Second))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	sawRate := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		st := rt.Status()
		if len(st) == 0 {
			continue
		}
		s := st[0]
		switch {
		case s.State == StateRunning && s.RateIn > 0:
			sawRate = true
			once.Do(func() { close(failAt) })
			continue
		case !sawRate || s.State == StateRunning:
			continue
		}
		if s.RateIn != 0 || s.RateOut != 0 {
			t.Errorf("%s: state %s, rate in %v out %v; want 0", s.Name, s.State, s.RateIn, s.RateOut)
		}
		if s.State == StateRestarting {
			break
		}
	}
	if !sawRate {
		t.Fatal("the node never showed a rate while running")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
