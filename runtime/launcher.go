package runtime

import (
	"context"
	"io"
	"log/slog"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/pluginhost"
	"github.com/topo-zmq/topo/topology"
)

// Launcher starts node instances in other processes (plugin kinds, and
// isolation = "process" for built-in kinds). runtime/pluginhost implements it.
type Launcher interface {
	// Kinds starts the plugin once and returns the kinds it serves, with
	// Kind.Name the bare kind name ("upper") and Kind.New nil.
	// baseDir is the directory of the topology file (relative command/source).
	Kinds(ctx context.Context, p *topology.Plugin, baseDir string) ([]*plugins.Kind, error)
	// Launch starts ONE subprocess for ONE instance and returns its Actor.
	// p == nil means a built-in/registered kind with isolation = "process":
	// the program serves itself (see pluginhost.Options.Self; an embedding
	// program calls ServeIfChild in main).
	// The subprocess is killed when the Actor is closed or ctx is done.
	Launch(ctx context.Context, p *topology.Plugin, baseDir string, spec plugins.Spec, out io.Writer, log *slog.Logger) (plugins.Actor, error)
	// Close kills every subprocess still running. Idempotent.
	Close() error
}

// ServeIfChild serves reg's kinds if this process was started by a topo
// runtime as a plugin, and reports whether it was. That is how
// isolation = "process" runs a node of an embedding program: the runtime's
// default Launcher starts the program's own executable again (as
// `<exe> plugin-serve`, with topo's handshake cookie TOPO_PLUGIN in its
// environment) and that process must serve the node, not do what main
// does. Call it first in main — before parsing arguments, reading files or
// printing anything — with the registry the topology runs against:
//
//	func main() {
//		var reg plugins.Registry
//		builtin.Register(&reg)
//		reg.Register(myKind())
//		if runtime.ServeIfChild(&reg) {
//			return // this process served one node for its parent
//		}
//		// ... load and run the topology ...
//	}
//
// In a child it blocks until the host is done with the process (see
// plugins.Serve, which exits the process if serving fails) and returns
// true; in any other process it returns false at once. A program without
// isolation = "process" nodes does not need it. Without it, such a node
// fails with an error that says to add it.
func ServeIfChild(reg *plugins.Registry) bool {
	if !pluginhost.IsChild() {
		return false
	}
	var kinds []*plugins.Kind
	if reg != nil {
		kinds = reg.Kinds()
	}
	plugins.Serve(kinds...)
	return true
}
