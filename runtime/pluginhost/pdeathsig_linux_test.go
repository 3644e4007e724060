//go:build linux

package pluginhost

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestHostSIGKILLDuringStart: a host killed with SIGKILL while its plugin
// is still starting (hung before plugins.Serve, so it watches neither the
// parent pipe nor the parent pid) leaves no plugin behind: on Linux the
// kernel's parent-death signal kills it.
func TestHostSIGKILLDuringStart(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := exec.Command(selfExe(t))
	// The host helper launches the test binary, which inherits these and
	// stalls for a minute before serving.
	cmd.Env = append(os.Environ(), envHost+"=1", envMode+"=stall", envPIDFile+"="+pidFile)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	pid := waitPIDFile(t, pidFile, 20*time.Second)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if !alive(pid) {
		t.Fatalf("plugin pid %d not running", pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killed := time.Now()
	for alive(pid) {
		if time.Since(killed) > 5*time.Second {
			t.Fatalf("starting plugin pid %d outlived its SIGKILLed host by 5s", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("starting plugin exited %v after its host was killed", time.Since(killed).Round(time.Millisecond))
}
