//go:build linux

package pluginhost

import (
	"os/exec"
	"syscall"
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
