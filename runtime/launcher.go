package runtime

import (
	"context"
	"io"
	"log/slog"

	"github.com/topo-zmq/topo/plugins"
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
	// the topo binary serves itself (see pluginhost.Options.Self).
	// The subprocess is killed when the Actor is closed or ctx is done.
	Launch(ctx context.Context, p *topology.Plugin, baseDir string, spec plugins.Spec, out io.Writer, log *slog.Logger) (plugins.Actor, error)
	// Close kills every subprocess still running. Idempotent.
	Close() error
}
