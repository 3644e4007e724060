package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/topo-zmq/topo/internal/endpoint"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

// makeActor creates and binds a fresh actor for n, and records the
// endpoints it actually bound in n.spec (so a restart binds the same ones).
func (r *Runtime) makeActor(ctx context.Context, n *node, sc *socket.Context) (plugins.Actor, map[string][]string, error) {
	var a plugins.Actor
	var err error
	if n.process {
		a, err = r.opts.Launcher.Launch(ctx, n.plugin, r.opts.BaseDir, n.spec, n.out, n.log)
	} else {
		// plugins.NewActor tags the log with the node's name itself.
		a, err = r.opts.NewActor(n.kind, n.spec, sc, n.out, slog.New(n.logs.handler()))
	}
	if err != nil {
		return nil, nil, nodeErr(n.inst.Name, "new", err)
	}
	bound, err := a.Bind(ctx)
	if err != nil {
		_ = a.Close()
		return nil, nil, startFailed{addrInUseHint(nodeErr(n.inst.Name, "bind", err))}
	}
	n.updateSockets(func(socks []plugins.SocketSpec) {
		for i := range socks {
			if eps, ok := bound[socks[i].Name]; ok && len(eps) > 0 {
				socks[i].Bind = append([]string(nil), eps...)
			}
		}
	})
	return a, bound, nil
}

// addrInUseHint adds to an address-in-use bind error what the user can
// check: who else holds the port, or the socket file of an ipc://
// endpoint. The hint goes inside the NodeError, after its text.
func addrInUseHint(err error) error {
	var ne *plugins.NodeError
	var be *plugins.BindError
	if !errors.Is(err, socket.ErrAddrInUse) || !errors.As(err, &ne) || !errors.As(err, &be) {
		return err
	}
	hint := "is another program, or another topology, using that port?"
	switch {
	case strings.HasPrefix(be.Endpoint, "ipc://@"):
		hint = "is another program, or another topology, listening on that abstract socket name?"
	case strings.HasPrefix(be.Endpoint, "ipc://"):
		hint = fmt.Sprintf("is another program, or another topology, listening on the socket file %s? topo replaces a stale one only when nothing answers on it", strings.TrimPrefix(be.Endpoint, "ipc://"))
	case strings.HasPrefix(be.Endpoint, "inproc://"):
		hint = "another socket of this program binds that inproc name"
	}
	return &plugins.NodeError{Node: ne.Node, Op: ne.Op, Err: fmt.Errorf("%w (%s)", ne.Err, hint)}
}

// startFailed marks a start-up failure that may not happen again: an
// actor's Bind failed (an address in use may be freed, a plugin process
// may have died binding). Run retries it per the node's restart policy, as
// a failure while running; an actor that cannot be created (its
// configuration, a plugin that cannot be found or started) fails at once.
type startFailed struct{ error }

func (e startFailed) Unwrap() error { return e.error }

// retryStart reports whether n's failure err during Run's start-up is left
// to its supervisor to retry per its restart policy, instead of failing
// the run at once: a startFailed error, a policy other than "never", and
// no ephemeral bind (peers must learn the port a first bind picks, so a
// node with one must bind at start-up).
func retryStart(n *node, err error) bool {
	var sf startFailed
	if n.restart == "never" || !errors.As(err, &sf) {
		return false
	}
	for _, s := range n.spec.Sockets {
		for _, ep := range s.Bind {
			if e, err := endpoint.Parse(ep, true); err == nil && e.Ephemeral() {
				return false
			}
		}
	}
	return true
}

// nodeErr returns err as a *plugins.NodeError of the instance name: as
// it is when it is one of that instance already (plugins.NewActor's
// Actors and pluginhost's build theirs where the failure happens), else
// wrapped in one, with op (an Actor of another Launcher, the runtime's
// own verdicts). nil stays nil.
func nodeErr(name, op string, err error) error {
	var ne *plugins.NodeError
	if err == nil || (errors.As(err, &ne) && ne.Node == name) {
		return err
	}
	return &plugins.NodeError{Node: name, Op: op, Err: err}
}
