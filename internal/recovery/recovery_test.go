package recovery

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func boom() error { panic("kaboom") }

// TestCall: an error passes through; a panic becomes what panicked makes
// of it, with a stack that starts at the panic site.
func TestCall(t *testing.T) {
	plain := errors.New("plain")
	if err := Call(func() error { return plain }, nil); err != plain {
		t.Errorf("Call = %v, want %v", err, plain)
	}
	var stack string
	err := Call(boom, func(r any, st string) error { stack = st; return fmt.Errorf("panic: %v", r) })
	if err == nil || err.Error() != "panic: kaboom" {
		t.Errorf("Call = %v, want panic: kaboom", err)
	}
	if !strings.HasPrefix(stack, "github.com/topo-zmq/topo/internal/recovery.boom(") {
		t.Errorf("stack starts with\n%.200s\nwant the panic site, boom", stack)
	}
}
