//go:build linux

package pluginhost

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// setParentDeathSignal asks the kernel to SIGKILL the plugin process when
// the host dies, even before the plugin reached plugins.Serve (which watches
// the parent pipe). The kernel sends it when the OS thread that forked the
// child exits; Go only ends threads of goroutines that exit while locked to
// them (runtime.LockOSThread), which the host does not do around Launch, so
// in practice it fires when the host process dies. The parent pipe stays the
// portable mechanism.
func setParentDeathSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// waitExitNoReap blocks until the process exits, leaving it a zombie
// (waitid with WNOWAIT), and reports whether it could wait: then reap
// kills the group while the exited leader's pid still names it.
func waitExitNoReap(pid int) bool {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		return err == nil
	}
}
