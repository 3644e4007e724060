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

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/topology"
)

// wrapperPlugin writes a plugin command that is a #!/bin/sh wrapper
// WITHOUT exec: it starts child (a shell command line) in the background,
// records the child's pid in the returned file, and waits for it. The child
// never handshakes and holds the plugin's stdout and stderr.
func wrapperPlugin(t *testing.T, child string) (*topology.Plugin, string) {
	t.Helper()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	script := "#!/bin/sh\n" + child + " &\nprintf %s $! > " + pidFile + ".tmp\nmv " + pidFile + ".tmp " + pidFile + "\nwait\n"
	if err := os.WriteFile(filepath.Join(dir, "wrapper.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &topology.Plugin{Name: "wrapped", Command: filepath.Join(dir, "wrapper.sh")}, pidFile
}

// startWrapped asks a new host for the kinds of a wrapper-script plugin
// whose child runs cmd and never handshakes; it returns once the child is
// up, with the host, the cancel of the Kinds call's ctx, the channel its
// error arrives on, and the child's pid (killed when the test ends).
func startWrapped(t *testing.T, cmd string) (*Host, context.CancelFunc, <-chan error, int) {
	t.Helper()
	p, pidFile := wrapperPlugin(t, cmd)
	h := newHost(t, Options{StartTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	errc := make(chan error, 1)
	go func() {
		_, err := h.Kinds(ctx, p, "")
		errc <- err
	}()
	child := waitPIDFile(t, pidFile, 20*time.Second)
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
	time.Sleep(100 * time.Millisecond)
	return h, cancel, errc, child
}

// TestWrapperChildKilledWithItsGroup: cancelling the start of a wrapper
// script plugin kills the wrapper's child too (its process group), and the
// call returns at once instead of waiting for the child to close the pipes.
// Abort does the same without a ctx, for every process still starting.
func TestWrapperChildKilledWithItsGroup(t *testing.T) {
	for _, how := range []string{"cancel", "Abort"} {
		t.Run(how, func(t *testing.T) {
			h, cancel, errc, child := startWrapped(t, "sleep 600")
			start := time.Now()
			if how == "cancel" {
				cancel()
			} else {
				h.Abort()
			}
			select {
			case err := <-errc:
				if err == nil {
					t.Fatal("Kinds succeeded")
				}
				if how == "cancel" && !errors.Is(err, context.Canceled) {
					t.Errorf("error %v does not wrap context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Kinds did not return 10s after the kill")
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Kinds took %s to return", took)
			}
			deadline := time.Now().Add(2 * time.Second)
			for syscall.Kill(child, 0) == nil && !isZombie(child) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if syscall.Kill(child, 0) == nil && !isZombie(child) {
				t.Errorf("the wrapper's child (pid %d) survived", child)
			}
		})
	}
}

// TestEscapedChildDoesNotHoldHost: a wrapper's child that left the process
// group (setsid) survives the kill and keeps the pipes open; the host stops
// reading them pipeGrace after the wrapper exited, so Kinds still returns
// promptly.
func TestEscapedChildDoesNotHoldHost(t *testing.T) {
	_, cancel, errc, _ := startWrapped(t, "setsid sleep 600")
	start := time.Now()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v does not wrap context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Kinds did not return 10s after cancel: the host waits for the escaped child's pipes")
	}
	if took := time.Since(start); took > pipeGrace+2*time.Second {
		t.Errorf("Kinds took %s to return", took)
	}
}

func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// TestServiceReturnAsProcessExits: issue 11 item 3, host side. A service
// node whose body returns nil while its process goes away has failed:
// Run returns ErrExited, not nil (which the runtime would take for
// "finished" and never restart).
func TestServiceReturnAsProcessExits(t *testing.T) {
	h := newHost(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "gone", Kind: "vanish"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	err = a.Run(ctx)
	if !errors.Is(err, ErrExited) || !strings.HasPrefix(err.Error(), "gone: ") {
		t.Fatalf("Run = %v, want an error naming the node and wrapping ErrExited", err)
	}
}
