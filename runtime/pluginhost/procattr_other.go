//go:build !linux

package pluginhost

import "os/exec"

// setParentDeathSignal does nothing outside Linux: there is no parent-death
// signal, and plugins rely on the parent pipe and the parent-pid poll in
// plugins.Serve (see the package doc).
func setParentDeathSignal(*exec.Cmd) {}

// groupKilledBeforeReap is false: without waitid's WNOWAIT here, reap kills
// the group right after reaping its leader.
const groupKilledBeforeReap = false

func waitExitNoReap(int) bool { return false }
