package socket

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the package's tests (both the
// internal tests and the socket_test black-box tests share this binary).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
