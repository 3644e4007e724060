//go:build !linux

package pluginhost

import "os/exec"

// setParentDeathSignal does nothing outside Linux: there is no parent-death
// signal, and plugins rely on the parent pipe and the parent-pid poll in
// plugins.Serve (see the package doc).
func setParentDeathSignal(*exec.Cmd) {}

// waitExitNoReap cannot wait without reaping here: reap kills the group
// right after reaping its leader.
func waitExitNoReap(int) bool { return false }
