package pluginhost

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// TestCurveToOlderPlugin: a plugin of protocol revision 0 or 1 would ignore
// SocketSpec.Curve and run the socket in plaintext, so the host refuses to
// launch it for a CURVE socket, says why, and stops the process; the
// secret key is not in the error.
func TestCurveToOlderPlugin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := newHost(t, Options{})
	p := &topology.Plugin{Name: "old", Command: selfExe(t), Env: map[string]string{envMode: "old"}}
	kp, err := socket.NewCurveKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := plugins.Spec{Name: "c", Kind: "collect", Attrs: cty.ObjectVal(map[string]cty.Value{"expect": cty.NumberIntVal(0)}),
		Sockets: []plugins.SocketSpec{{Name: "in", Type: socket.PULL, Bind: []string{"tcp://127.0.0.1:0"}, Curve: &socket.Curve{Key: kp}}}}
	a, err := h.Launch(ctx, p, "", spec, nil, nil)
	if err == nil {
		_ = a.Close()
		t.Fatal("a revision-0 plugin was given a CURVE socket")
	}
	if !strings.Contains(err.Error(), "protocol revision 0") || !strings.Contains(err.Error(), `socket "in" uses CURVE`) {
		t.Errorf("error does not say why: %v", err)
	}
	if strings.Contains(err.Error(), kp.Secret.Z85()) {
		t.Fatal("the error holds the secret key")
	}
}
