package main

// Plugin lifecycle through the real binary, where users meet it: Ctrl-C
// while a plugin starts, wrapper scripts (#!/bin/sh without exec) around
// plugins, a killed wrapper, a plugin command relative to the topology file.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"
)

// lifeBuild builds the package pkg (an import path) into dir/name.
func lifeBuild(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// topoProc is a running topo command.
type topoProc struct {
	cmd          *exec.Cmd
	stdout       lockedbuf.Buffer
	stderr       lockedbuf.Buffer
	done         chan struct{}
	code         int
	cleanupPIDFn func() []int // extra processes the cleanup kills (a test's plugins)
}

// startTopo runs `topo args...` in dir; the cleanup kills it (and every pid
// pids returns) if the test did not end it.
func startTopoProc(t *testing.T, topo, dir string, pids func() []int, args ...string) *topoProc {
	t.Helper()
	p := &topoProc{cmd: exec.Command(topo, args...), done: make(chan struct{}), cleanupPIDFn: pids}
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), "NO_COLOR=1")
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		err := p.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			p.code = ee.ExitCode()
		default:
			p.code = -1
		}
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if p.cleanupPIDFn != nil {
			for _, pid := range p.cleanupPIDFn() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	return p
}

// wait waits up to d for topo to exit and returns its exit code and how
// long it took; it fails the test if topo is still running.
func (p *topoProc) wait(t *testing.T, d time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case <-p.done:
		return p.code, time.Since(start)
	case <-time.After(d):
		t.Fatalf("topo still running %s later\nstdout:\n%s\nstderr:\n%s", d, p.stdout.String(), p.stderr.String())
		return 0, 0
	}
}

func (p *topoProc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal topo: %v", err)
	}
}

// waitFor polls cond every 20ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool, p *topoProc) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s\nstdout:\n%s\nstderr:\n%s", d, what, p.stdout.String(), p.stderr.String())
		}
		select {
		case <-p.done:
			if !cond() {
				t.Fatalf("topo exited (code %d) while waiting for %s\nstdout:\n%s\nstderr:\n%s", p.code, what, p.stdout.String(), p.stderr.String())
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// readPIDs reads one pid per line; a missing file has none.
func readPIDs(path string) []int {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var pids []int
	for _, l := range strings.Split(string(b), "\n") {
		if n, err := strconv.Atoi(strings.TrimSpace(l)); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// alive reports whether pid is a live process (a zombie is not: nobody may
// reap an orphan in a container).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// wrapperDir writes a topology with a plugin whose command is a wrapper
// script, #!/bin/sh WITHOUT exec, that starts a child which never
// handshakes (sleep) and records the child's pid. It returns the
// directory, the file and the pid file.
func wrapperDir(t *testing.T) (dir, file, pidFile string) {
	dir = t.TempDir()
	pidFile = filepath.Join(dir, "child.pids")
	script := "#!/bin/sh\n" +
		"# a wrapper that does not exec: its child holds the pipes\n" +
		"sleep 600 &\n" +
		"echo $! >> " + pidFile + "\n" +
		"wait\n"
	if err := os.WriteFile(filepath.Join(dir, "slow.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(dir, "slow.hcl")
	src := `
plugin "slow" {
  command = "./slow.sh"
}

node "x" {
  type = "slow.thing"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:0"]
  }
}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, file, pidFile
}

// TestCtrlCKillsWrappedPluginWhileStarting: issue 11 item 2. A plugin
// command that is a wrapper script around a child that never handshakes:
// one Ctrl-C makes `topo apply` and `topo validate` kill it (the whole
// process group: the child too) and exit at once, without waiting for the
// 20 s handshake timeout or for the child to close the pipes; two Ctrl-C
// exit as fast, with 0 or 130.
func TestCtrlCKillsWrappedPluginWhileStarting(t *testing.T) {
	topo := lifeBuild(t, t.TempDir(), "topo", "github.com/topo-zmq/topo/cmd/topo")
	cases := []struct {
		name    string
		cmd     string
		signals int
		codes   []int
	}{
		{"apply one Ctrl-C", "apply", 1, []int{0}},
		{"apply two Ctrl-C", "apply", 2, []int{0, 130}},
		{"validate one Ctrl-C", "validate", 1, []int{1}},
		{"validate two Ctrl-C", "validate", 2, []int{1, 130}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, file, pidFile := wrapperDir(t)
			p := startTopoProc(t, topo, dir, func() []int { return readPIDs(pidFile) }, tc.cmd, file)
			waitFor(t, 15*time.Second, "the wrapper to start its child", func() bool { return len(readPIDs(pidFile)) > 0 }, p)
			child := readPIDs(pidFile)[0]
			time.Sleep(100 * time.Millisecond) // topo is now waiting for the handshake
			for range tc.signals {
				p.signal(t, syscall.SIGINT)
			}
			code, took := p.wait(t, 3*time.Second)
			t.Logf("exit %d after %s", code, took)
			ok := false
			for _, c := range tc.codes {
				ok = ok || code == c
			}
			if !ok {
				t.Errorf("exit %d, want one of %v\nstderr:\n%s", code, tc.codes, p.stderr.String())
			}
			deadline := time.Now().Add(time.Second)
			for alive(child) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if alive(child) {
				t.Errorf("the wrapper's child (pid %d) survived topo", child)
			}
			if strings.Contains(p.stderr.String(), "handshake timeout") {
				t.Errorf("topo waited for the handshake timeout:\n%s", p.stderr.String())
			}
		})
	}
}

// TestKilledWrapperRestartsNode: issue 11 item 3. A service node whose
// plugin command is a wrapper script (#!/bin/sh without exec) around the
// real plugin: SIGKILL of the wrapper fails the node (the real plugin is
// killed with its process group, however its body returned), the node is
// restarted, and messages flow through it again.
func TestKilledWrapperRestartsNode(t *testing.T) {
	dir := t.TempDir()
	topo := lifeBuild(t, dir, "topo", "github.com/topo-zmq/topo/cmd/topo")
	lifeBuild(t, dir, "topo-text", "github.com/topo-zmq/topo/examples/plugin")
	pidFile := filepath.Join(dir, "wrapper.pids")
	script := "#!/bin/sh\n" +
		"echo $$ >> " + pidFile + "\n" +
		"\"$(dirname \"$0\")/topo-text\"\n" // no exec: the wrapper is the plugin's parent
	if err := os.WriteFile(filepath.Join(dir, "text.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "stream.hcl")
	src := `
plugin "text" {
  command = "./text.sh"
}

node "source" {
  type = "generate"
  rate = 200
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:0"]
  }
}

node "shout" {
  type   = "text.upper"
  prefix = "hey "
  socket "in" {
    type    = "PULL"
    connect = node.source.out
  }
  socket "out" {
    type    = "PUSH"
    connect = node.sink.in
  }
}

node "sink" {
  type = "print"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:0"]
  }
}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startTopoProc(t, topo, dir, func() []int { return readPIDs(pidFile) }, "apply", file)
	flowed := func() int { return strings.Count(p.stdout.String(), "HEY ABCDEFGHIJKLMNOP") }

	// Wrappers started to describe the kinds have exited; the one alive
	// runs the node.
	running := func() (int, int) {
		pids := readPIDs(pidFile)
		for i := len(pids) - 1; i >= 0; i-- {
			if alive(pids[i]) {
				return pids[i], len(pids)
			}
		}
		return 0, len(pids)
	}
	waitFor(t, 30*time.Second, "messages through the plugin node", func() bool {
		w, _ := running()
		return w != 0 && flowed() >= 10
	}, p)
	wrapper, started := running()
	if err := syscall.Kill(wrapper, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the wrapper: %v", err)
	}
	before := flowed()
	waitFor(t, 20*time.Second, "a new wrapper and messages flowing again", func() bool {
		_, n := running()
		return n > started && flowed() >= before+50
	}, p)

	p.signal(t, syscall.SIGINT)
	code, _ := p.wait(t, 15*time.Second)
	stderr := p.stderr.String()
	if code != 0 {
		t.Errorf("exit %d after a clean Ctrl-C, want 0\nstderr:\n%s", code, stderr)
	}
	restarts := -1
	for _, l := range strings.Split(stderr, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "shout" {
			if n, err := strconv.Atoi(f[2]); err == nil {
				restarts = n
			}
		}
	}
	if restarts < 1 {
		t.Errorf("summary shows shout with %d restarts, want ≥ 1\nstderr:\n%s", restarts, stderr)
	}
	if !strings.Contains(stderr, "plugin process exited") {
		t.Errorf("no node failure naming the exited plugin process in the log:\n%s", stderr)
	}
}

// TestCommandRelativeToFileInItsDirectory: issue 11 item 4. A plugin
// command "./x" beside the topology file works when topo runs in that
// directory with the bare file name (the path used to be cleaned to "x"
// and looked up in $PATH).
func TestCommandRelativeToFileInItsDirectory(t *testing.T) {
	dir := t.TempDir()
	topo := lifeBuild(t, dir, "topo", "github.com/topo-zmq/topo/cmd/topo")
	lifeBuild(t, dir, "topo-text", "github.com/topo-zmq/topo/examples/plugin")
	src := `
plugin "text" {
  command = "./topo-text"
}

node "source" {
  type     = "generate"
  messages = 3
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:0"]
  }
}

node "collect" {
  type   = "text.collect"
  expect = 3
  socket "in" {
    type    = "PULL"
    connect = node.source.out
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "rel.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"validate", "rel.hcl"}, {"apply", "rel.hcl"}} {
		cmd := exec.Command(topo, args...)
		cmd.Dir = dir
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("topo %s in the file's directory: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errb.String())
			}
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("topo %s did not finish", strings.Join(args, " "))
		}
		if args[0] == "apply" && !strings.Contains(out.String(), "Collected 3 messages") {
			t.Errorf("the plugin sink did not finish; stdout:\n%s", out.String())
		}
	}
}
