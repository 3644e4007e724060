//go:build !unix

package pluginhost

import "os/exec"

// Without Unix process groups a plugin's own children are not reached.
func setProcessGroup(*exec.Cmd) {}

func killGroup(int) {}
