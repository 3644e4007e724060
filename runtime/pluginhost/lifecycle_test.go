package pluginhost

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/internal/lockedbuf"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/topology"
)

// TestCancelDuringStart: a plugin that hangs before serving is killed and
// reaped when the ctx of Launch or Kinds is cancelled, and the call returns
// promptly with an error naming the node (or plugin) and wrapping
// context.Canceled — long before Options.StartTimeout.
func TestCancelDuringStart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		call  func(ctx context.Context, h *Host) error
		label string
	}{
		{"Launch", func(ctx context.Context, h *Host) error {
			a, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "stall[0]", Kind: "block"}, io.Discard, nil)
			if err == nil {
				a.Close()
			}
			return err
		}, "stall[0]: self"},
		{"Launch plugin", func(ctx context.Context, h *Host) error {
			p := &topology.Plugin{Name: "slow", Command: selfExe(t)}
			a, err := h.Launch(ctx, p, "", plugins.Spec{Name: "stall[1]", Kind: "block"}, io.Discard, nil)
			if err == nil {
				a.Close()
			}
			return err
		}, `stall[1]: plugin "slow"`},
		{"Kinds", func(ctx context.Context, h *Host) error {
			_, err := h.Kinds(ctx, &topology.Plugin{Name: "slow", Command: selfExe(t)}, "")
			return err
		}, `plugin "slow"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			h := newHost(t, Options{
				StartTimeout: time.Minute,
				Env:          []string{envMode + "=stall", envPIDFile + "=" + pidFile},
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- tc.call(ctx, h) }()

			pid := waitPIDFile(t, pidFile, 20*time.Second)
			t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
			time.Sleep(100 * time.Millisecond) // stalled in its "init"
			cancel()
			cancelled := time.Now()
			var err error
			select {
			case err = <-errc:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s did not return 10s after its ctx was cancelled", tc.name)
			}
			if took := time.Since(cancelled); took > 3*time.Second {
				t.Errorf("%s took %v to return after cancel", tc.name, took)
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v does not wrap context.Canceled", err)
			}
			for _, w := range []string{tc.label + " (", "start abandoned", "pid " + strconv.Itoa(pid) + " killed"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !reaped(pid) {
				t.Errorf("plugin pid %d still exists (running or zombie) after %s returned", pid, tc.name)
			}
		})
	}

	t.Run("already cancelled", func(t *testing.T) {
		h := newHost(t, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "n", Kind: "block"}, io.Discard, nil)
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "n: self (") {
			t.Fatalf("Launch = %v", err)
		}
	})
}

// TestHealthKillsStoppedPlugin: a healthy plugin node keeps running under
// frequent health checks; SIGSTOPped, it stops answering them, the host
// kills it, and Run returns an error naming the node and wrapping
// ErrUnresponsive within a bounded time.
func TestHealthKillsStoppedPlugin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const interval = 100 * time.Millisecond
	h := newHost(t, Options{HealthInterval: interval, HealthMisses: 3})
	var out lockedbuf.Buffer
	a, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "frozen[2]", Kind: "block"}, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	pid := a.(*actor).PID()
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	runErr := make(chan error, 1)
	go func() { runErr <- a.Run(ctx) }()

	// Healthy: ten check intervals pass without a verdict.
	select {
	case err := <-runErr:
		t.Fatalf("Run of a healthy plugin returned %v", err)
	case <-time.After(10 * interval):
	}
	if !strings.Contains(out.String(), "blocking") {
		t.Fatalf("the node body is not running; output %q", out.String())
	}

	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	select {
	case err = <-runErr:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return 10s after the plugin was stopped")
	}
	t.Logf("Run returned %v after SIGSTOP: %v", time.Since(stopped).Round(time.Millisecond), err)
	if took := time.Since(stopped); took > 5*time.Second {
		t.Errorf("took %v to notice a stopped plugin (3 misses at %v)", took, interval)
	}
	if !errors.Is(err, ErrUnresponsive) {
		t.Fatalf("Run error %v does not wrap ErrUnresponsive", err)
	}
	for _, w := range []string{"frozen[2]: run: ", "plugin stopped answering health checks", "3 checks in a row", "killed pid " + strconv.Itoa(pid)} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close of the killed plugin did not return")
	}
	if !reaped(pid) {
		t.Errorf("plugin pid %d still exists after Close", pid)
	}
}

// TestHealthKillsWedgedNode: a plugin node whose body wedges while its
// process keeps answering is caught by its own Health (plugins.HealthChecker),
// whether that Health reports the problem or itself hangs: the host kills
// the process and Run returns an error naming the node, wrapping
// plugins.ErrUnhealthy and quoting what the node's Health returned.
func TestHealthKillsWedgedNode(t *testing.T) {
	const interval = 100 * time.Millisecond
	for _, tc := range []struct {
		health string
		want   string // what the node's Health returned, as quoted
	}{
		{"error", "last: wedged after "},
		{"hang", "last: Health has not returned after "},
	} {
		t.Run(tc.health, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			h := newHost(t, Options{HealthInterval: interval, HealthMisses: 3})
			marker := filepath.Join(t.TempDir(), "wedge")
			var out lockedbuf.Buffer
			a, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "wedged[1]", Kind: "wedge",
				Attrs: cty.ObjectVal(map[string]cty.Value{"marker": cty.StringVal(marker), "health": cty.StringVal(tc.health)}),
			}, &out, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if _, err := a.Bind(ctx); err != nil {
				t.Fatal(err)
			}
			pid := a.(*actor).PID()
			runErr := make(chan error, 1)
			go func() { runErr <- a.Run(ctx) }()

			// Healthy: ten check intervals pass without a verdict.
			select {
			case err := <-runErr:
				t.Fatalf("Run of a healthy node returned %v", err)
			case <-time.After(10 * interval):
			}
			if err := os.WriteFile(marker, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			wedged := time.Now()
			select {
			case err = <-runErr:
			case <-time.After(10 * time.Second):
				t.Fatalf("Run did not return 10s after the node wedged; output %q", out.String())
			}
			t.Logf("Run returned %v after the wedge: %v", time.Since(wedged).Round(time.Millisecond), err)
			if took := time.Since(wedged); took > 5*time.Second {
				t.Errorf("took %v to notice a wedged node (3 misses at %v)", took, interval)
			}
			if !strings.Contains(out.String(), "wedged after ") {
				t.Errorf("the node did not wedge; output %q", out.String())
			}
			if !errors.Is(err, plugins.ErrUnhealthy) || errors.Is(err, ErrUnresponsive) {
				t.Fatalf("Run error %v does not wrap plugins.ErrUnhealthy (only)", err)
			}
			for _, w := range []string{"wedged[1]: run: ", "node reported unhealthy", "3 checks in a row", tc.want, "killed pid " + strconv.Itoa(pid)} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if err := a.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if !reaped(pid) {
				t.Errorf("plugin pid %d still exists after Close", pid)
			}
		})
	}
}

// TestCloseStoppedPluginIsBounded: with health checks off, closing the
// Actor of a SIGSTOPped plugin (whose go-plugin shutdown call never
// answers) still kills and reaps it in bounded time.
func TestCloseStoppedPluginIsBounded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := newHost(t, Options{HealthInterval: -1, StopTimeout: 300 * time.Millisecond})
	a, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "frozen", Kind: "block"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	pid := a.(*actor).PID()
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	select {
	case <-closed:
	case <-time.After(15 * time.Second):
		syscall.Kill(pid, syscall.SIGKILL) // lets Close return before the leak check
		<-closed
		t.Fatal("Close of a stopped plugin did not return within 15s")
	}
	if took := time.Since(start); took > killGrace+5*time.Second {
		t.Errorf("Close took %v", took)
	}
	if !reaped(pid) {
		t.Errorf("plugin pid %d still exists after Close", pid)
	}
}
