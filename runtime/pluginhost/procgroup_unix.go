//go:build unix

package pluginhost

import (
	"os/exec"
	"syscall"
)

// setProcessGroup makes the plugin process the leader of a process group
// of its own, so that killGroup reaches whatever it starts (a wrapper
// script's real plugin), and a terminal's Ctrl-C, which goes to topo's
// foreground group, reaches topo alone: topo stops its plugins itself.
func setProcessGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// killGroup sends SIGKILL to the process group led by pid.
func killGroup(pid int) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}
