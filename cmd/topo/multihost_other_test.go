//go:build !linux

package main

import (
	"os"
	"testing"
)

// TestMultiHostNeedsLinux stands for the multi-host tests of
// multihost_linux_test.go, which need Linux network namespaces.
func TestMultiHostNeedsLinux(t *testing.T) {
	if os.Getenv("CI") != "" {
		t.Fatal("the multi-host tests need Linux network namespaces (and root); CI is set, so this is a failure, not a skip")
	}
	t.Skip("the multi-host tests need Linux network namespaces and root (multihost_linux_test.go)")
}
