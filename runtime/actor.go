package runtime

import (
	"io"
	"log/slog"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

// inProcessActor builds the actor of a goroutine node.
func inProcessActor(k *plugins.Kind, spec plugins.Spec, sc *socket.Context, out io.Writer, log *slog.Logger) (plugins.Actor, error) {
	return plugins.NewActor(k, spec, sc, out, log)
}
