package main

import (
	"flag"
	"io"
	"slices"
	"testing"
)

func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		format     string
		positional []string
	}{
		{[]string{"f.hcl"}, "dot", []string{"f.hcl"}},
		{[]string{"-format", "mermaid", "f.hcl"}, "mermaid", []string{"f.hcl"}},
		{[]string{"f.hcl", "-format", "mermaid"}, "mermaid", []string{"f.hcl"}},
		{[]string{"a", "-format=mermaid", "b"}, "mermaid", []string{"a", "b"}},
		{[]string{"a", "--", "-format", "b"}, "dot", []string{"a", "-format", "b"}},
		{[]string{"-", "-format", "mermaid"}, "mermaid", []string{"-"}},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		format := fs.String("format", "dot", "")
		if err := parseInterspersed(fs, tc.args); err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if *format != tc.format || !slices.Equal(fs.Args(), tc.positional) {
			t.Errorf("%q: format %q args %q, want %q %q", tc.args, *format, fs.Args(), tc.format, tc.positional)
		}
	}
}
