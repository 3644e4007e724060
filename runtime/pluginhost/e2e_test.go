package pluginhost_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/pluginhost"
	"github.com/topo-zmq/topo/topology"
)

// recordingLauncher is a runtime.Launcher that remembers the pid of every
// plugin process it launched, by instance name.
type recordingLauncher struct {
	*pluginhost.Host
	mu   sync.Mutex
	pids map[string][]int
}

func (l *recordingLauncher) Launch(ctx context.Context, p *topology.Plugin, baseDir string, spec plugins.Spec, out io.Writer, log *slog.Logger) (plugins.Actor, error) {
	a, err := l.Host.Launch(ctx, p, baseDir, spec, out, log)
	if err == nil {
		l.mu.Lock()
		l.pids[spec.Name] = append(l.pids[spec.Name], a.(interface{ PID() int }).PID())
		l.mu.Unlock()
	}
	return a, err
}

func (l *recordingLauncher) launched(name string) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.pids[name]...)
}

var _ runtime.Launcher = (*recordingLauncher)(nil)

// TestStreamingPipelineSurvivesWorkerSIGKILL runs generate → text.upper
// (a plugin process: this test binary) → text.collect under the real
// runtime, SIGKILLs the worker's process mid-stream, and checks that the
// runtime restarted it and messages flowed through the new process until
// the sink finished.
func TestStreamingPipelineSurvivesWorkerSIGKILL(t *testing.T) {
	streamingPipelineSurvives(t, pluginhost.Options{}, `type = "text.upper"`, signal(syscall.SIGKILL), "plugin process exited")
}

// TestStreamingPipelineSurvivesWorkerSIGSTOP is the same with a worker that
// is alive but frozen (SIGSTOP): the host's health checks notice, kill it,
// and the runtime restarts it.
func TestStreamingPipelineSurvivesWorkerSIGSTOP(t *testing.T) {
	streamingPipelineSurvives(t,
		pluginhost.Options{HealthInterval: 100 * time.Millisecond, HealthMisses: 3},
		`type = "text.upper"`, signal(syscall.SIGSTOP),
		"plugin stopped answering health checks")
}

// TestStreamingPipelineSurvivesWedgedWorker is the same with a worker whose
// body deadlocks while its process answers (the test plugin's "wedge" kind,
// wedged by creating its marker file): only the node's own Health
// (plugins.HealthChecker) notices; the host kills the process and the
// runtime restarts the node, whose new process carries on.
func TestStreamingPipelineSurvivesWedgedWorker(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "wedge")
	streamingPipelineSurvives(t,
		pluginhost.Options{HealthInterval: 100 * time.Millisecond, HealthMisses: 3},
		fmt.Sprintf("type   = \"text.wedge\"\n  marker = %q", marker),
		func(int) error { return os.WriteFile(marker, nil, 0o644) },
		"node reported unhealthy: 3 checks in a row failed (every 100ms; last: wedged after ")
}

// signal returns a disruption that sends sig to the worker's process.
func signal(sig syscall.Signal) func(pid int) error {
	return func(pid int) error { return syscall.Kill(pid, sig) }
}

// streamingPipelineSurvives runs the worker (its type and attributes in
// HCL) in a plugin process, disrupts it mid-stream (disrupt gets its pid);
// wantErr is in the worker's failure event.
func streamingPipelineSurvives(t *testing.T, o pluginhost.Options, worker string, disrupt func(pid int) error, wantErr string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`
plugin "text" {
  command = %q
}

node "source" {
  type     = "generate"
  messages = 100000
  size     = 8
  rate     = 200
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:0"]
  }
}

node "shout" {
  %s
  restart = "on-failure"
  socket "in" {
    type    = "PULL"
    connect = node.source.out
  }
  socket "out" {
    type    = "PUSH"
    connect = node.collect.in
  }
}

node "collect" {
  type   = "text.collect"
  expect = 400
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:0"]
  }
}
`, self, worker)
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		t.Fatal(err)
	}
	o.Self = []string{self}
	l := &recordingLauncher{Host: pluginhost.New(o), pids: map[string][]int{}}
	defer l.Close()
	var (
		out    lockedbuf.Buffer
		evMu   sync.Mutex
		events []runtime.Event
	)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	rt, err := runtime.Load(ctx, "stream.hcl", []byte(src), runtime.Options{
		Registry: &reg,
		Launcher: l,
		Stdout:   &out,
		OnEvent: func(ev runtime.Event) {
			evMu.Lock()
			events = append(events, ev)
			evMu.Unlock()
			if ev.Instance == "collect" && ev.Kind == runtime.EventFinished {
				stop() // the sink is done: stop the endless source and the worker
			}
		},
		StatsInterval:  100 * time.Millisecond,
		BackoffInitial: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- rt.Run(runCtx) }()

	// Wait until messages flow through the first worker process, then kill it.
	collected := func() int { return strings.Count(out.String(), "collect | ") }
	deadline := time.Now().Add(20 * time.Second)
	for collected() < 50 {
		if time.Now().After(deadline) {
			t.Fatalf("no flow before the kill; output:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	first := l.launched("shout")
	if len(first) != 1 {
		t.Fatalf("shout launched %d times before the kill", len(first))
	}
	before := collected()
	if err := disrupt(first[0]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(first[0], syscall.SIGKILL) })
	t.Logf("disrupted shout's plugin pid %d after %d messages", first[0], before)

	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run: %v\noutput:\n%s", err, out.String())
		}
	case <-ctx.Done():
		t.Fatalf("pipeline did not finish; output:\n%s", out.String())
	}

	if !strings.Contains(out.String(), "Collected 400 messages") {
		t.Errorf("the sink did not finish; output:\n%s", out.String())
	}
	if !strings.Contains(out.String(), ": ABCDEFGH") || strings.Contains(out.String(), "abcdefgh") {
		t.Errorf("messages were not all transformed by the plugin; output:\n%s", out.String())
	}
	pids := l.launched("shout")
	if len(pids) < 2 || pids[1] == pids[0] {
		t.Fatalf("shout was not relaunched in a new process: pids %v", pids)
	}
	if err := syscall.Kill(pids[0], 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("shout's first plugin process %d still exists after the run (kill 0: %v)", pids[0], err)
	}
	var failed, restarted bool
	evMu.Lock()
	for _, ev := range events {
		if ev.Instance != "shout" {
			continue
		}
		switch ev.Kind {
		case runtime.EventFailed:
			failed = true
			if ev.Err == nil || !strings.Contains(ev.Err.Error(), "shout") || !strings.Contains(ev.Err.Error(), wantErr) {
				t.Errorf("failure event error = %v", ev.Err)
			}
		case runtime.EventRestarting:
			restarted = true
		}
	}
	evMu.Unlock()
	if !failed || !restarted {
		t.Errorf("events: failed %v restarted %v", failed, restarted)
	}
	for _, st := range rt.Status() {
		if st.Name == "shout" && st.Restarts < 1 {
			t.Errorf("status of shout: %+v", st)
		}
	}
}
