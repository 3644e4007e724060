package pluginhost

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// TestTapToOlderPlugin: a plugin of protocol revision below 3 has no Tap
// stream, so tapping its node is an error that names the node and the
// plugin's revision and says to rebuild it.
func TestTapToOlderPlugin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := newHost(t, Options{})
	p := &topology.Plugin{Name: "old", Command: selfExe(t), Env: map[string]string{envMode: "old"}}
	spec := plugins.Spec{Name: "c", Kind: "collect", Attrs: cty.ObjectVal(map[string]cty.Value{"expect": cty.NumberIntVal(0)}),
		Sockets: []plugins.SocketSpec{{Name: "in", Type: socket.PULL, Bind: []string{"tcp://127.0.0.1:0"}}}}
	a, err := h.Launch(ctx, p, "", spec, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tp, ok := a.(plugins.StreamTapper)
	if !ok {
		t.Fatal("a plugin node's actor is not a StreamTapper")
	}
	err = tp.TapStream("in", 0, func(plugins.TapEvent) { t.Error("an older plugin streamed a tap") })
	if !errors.Is(err, plugins.ErrTapUnsupported) || !strings.Contains(err.Error(), "protocol revision 0") ||
		!strings.Contains(err.Error(), `node "c"`) || !strings.Contains(err.Error(), "rebuild") {
		t.Errorf("TapStream on a revision-0 plugin = %v", err)
	}
}
