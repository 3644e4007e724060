package observe

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"testing"
)

// Listen warns when the address it got is not a loopback one (the
// endpoints have no authentication); the decision, without binding
// beyond loopback in a test.
func TestLoopbackDecidesTheWarning(t *testing.T) {
	for _, c := range []struct {
		ip   string
		want bool
	}{{"127.0.0.1", true}, {"127.3.2.1", true}, {"::1", true}, {"0.0.0.0", false}, {"::", false}, {"10.1.2.3", false}, {"192.168.0.7", false}} {
		if got := loopback(&net.TCPAddr{IP: net.ParseIP(c.ip), Port: 9464}); got != c.want {
			t.Errorf("loopback(%s) = %v, want %v", c.ip, got, c.want)
		}
	}
	var log bytes.Buffer
	ln, err := Listen("127.0.0.1:0", slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "http listening") {
		t.Errorf("a loopback listener's log: %s", log.String())
	}
}
