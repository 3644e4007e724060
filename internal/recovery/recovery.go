// Package recovery is the one place topo recovers panics: Call.
package recovery

import (
	"runtime/debug"
	"strings"
)

// Call calls f and returns its error; if f panics, it returns what
// panicked makes of the panic value and the stack from the panic site. It
// is the one place topo recovers a panic of a node: in its body (Run) and
// in its Health (package plugins, in-process and in a plugin process
// alike), and in an Actor the runtime's supervisor drives.
func Call(f func() error, panicked func(r any, stack string) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicked(r, shortStack(debug.Stack(), 4096))
		}
	}()
	return f()
}

// shortStack keeps the frames from the panic site on, bounded to max bytes.
func shortStack(st []byte, max int) string {
	s := string(st)
	// Skip the runtime's own frames up to and including panic().
	if i := strings.Index(s, "panic("); i >= 0 {
		if j := strings.Index(s[i:], "\n"); j >= 0 {
			rest := s[i+j+1:]
			if k := strings.Index(rest, "\n"); k >= 0 { // the file:line of panic()
				s = rest[k+1:]
			}
		}
	}
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
