package main

import (
	"strings"
	"testing"
)

// TestApplyHostFlags: a file with hosts does not run without -host (the
// error lists them), nor with a host it does not declare; a file without
// hosts refuses -host NAME; -host-address wants NAME=ADDR and a declared
// NAME.
func TestApplyHostFlags(t *testing.T) {
	hosts := "../../examples/multihost/pipeline.hcl"
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no -host", []string{hosts}, "declares hosts edge, workers, sink: give -host NAME for the one this machine runs, or -host all"},
		{"unknown host", []string{"-host", "edgy", hosts}, `-host edgy: ../../examples/multihost/pipeline.hcl declares no such host (hosts: edge, workers, sink; -host all runs every one)`},
		{"no hosts", []string{"-host", "edge", "../../examples/hello.hcl"}, "declares no host blocks; run it without -host"},
		{"bad -host-address", []string{"-host", "edge", "-host-address", "edge", hosts}, "want NAME=ADDR"},
		{"undeclared -host-address", []string{"-host", "edge", "-host-address", "edgy=10.0.0.9", hosts}, `no such host`},
		{"wildcard -host-address", []string{"-host", "edge", "-host-address", "edge=0.0.0.0", hosts}, "wildcard"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := applyRun(t, nil, c.args...)
			if code != 1 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and %q", code, stderr, c.want)
			}
		})
	}
}
