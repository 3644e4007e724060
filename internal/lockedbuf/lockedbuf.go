// Package lockedbuf provides Buffer, a bytes.Buffer that many goroutines may
// write to while another reads it: the shape every test of a running
// topology needs for node output and logs.
package lockedbuf

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer is a bytes.Buffer guarded by a mutex. The zero value is empty and
// ready; Write, String and Lines are safe for concurrent use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Lines returns how many complete lines have been written.
func (l *Buffer) Lines() int { return strings.Count(l.String(), "\n") }
