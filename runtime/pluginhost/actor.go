package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/pluginproto"
	"github.com/topo-zmq/topo/runtime/socket"
)

// actor is a plugins.Actor whose node runs in a plugin process. Its methods
// are called in lifecycle order by one goroutine; Stats and Close are safe
// concurrently with the others.
type actor struct {
	h    *Host
	pr   *proc
	spec plugins.Spec
	wire *pluginproto.Spec
	out  io.Writer
	log  *slog.Logger

	stopWatch  func() bool   // stops the ctx watcher set up by Launch
	stopHealth func()        // stops the health monitor; nil if there is none
	healthDone chan struct{} // closed when the health monitor has returned

	mu        sync.Mutex
	lastStats map[string]socket.Stats // guarded by mu
	closed    bool                    // guarded by mu
	closeDone chan struct{}           // guarded by mu; made by the first Close, closed when it is done
	ran       bool                    // guarded by mu; Run has returned
	final     bool                    // guarded by mu; lastStats were read after the body stopped
	taps      map[string]func()       // guarded by mu; TapStream: ends a socket's stream
}

var (
	_ plugins.Actor        = (*actor)(nil)
	_ plugins.StreamTapper = (*actor)(nil)
)

// tapAttachWait bounds how long TapStream waits for the plugin to say
// the tap is installed.
const tapAttachWait = 5 * time.Second

// TapStream implements plugins.StreamTapper over the plugin protocol's
// Tap stream (revision 3): it opens the stream, waits until the plugin
// has installed the tap on its socket (at most tapAttachWait), and hands
// f every event until f is replaced, removed (nil), or the actor closed.
// A plugin of an older revision is an error wrapping
// plugins.ErrTapUnsupported.
func (a *actor) TapStream(sock string, ring int, f func(plugins.TapEvent)) error {
	a.mu.Lock()
	if stop := a.taps[sock]; stop != nil {
		stop()
		delete(a.taps, sock)
	}
	if f == nil || a.closed {
		a.mu.Unlock()
		return nil
	}
	if rev := a.pr.desc.Revision; rev < 3 {
		a.mu.Unlock()
		return fmt.Errorf("node %q: plugin %s (protocol revision %d) cannot stream taps; rebuild it against this topo (revision %d): %w",
			a.spec.Name, a.pr.exe, rev, pluginproto.ProtocolRevision, plugins.ErrTapUnsupported)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if a.taps == nil {
		a.taps = map[string]func(){}
	}
	a.taps[sock] = func() { cancel(); <-done }
	a.mu.Unlock()
	attached := make(chan error, 1)
	go func() {
		defer close(done)
		defer cancel()
		err := a.pr.conn.Tap(ctx, &pluginproto.TapRequest{Socket: sock, Ring: ring}, func(ev *pluginproto.TapEvent) {
			if ev.Attached {
				select {
				case attached <- nil:
				default:
				}
				return
			}
			te := plugins.TapEvent{Skipped: ev.Skipped, Msg: ev.Msg, Out: ev.Out, Frames: ev.Frames, Truncated: ev.Truncated}
			if ev.Msg {
				te.Time = time.Unix(0, ev.Time)
			}
			f(te)
		})
		if err != nil {
			a.log.Debug("tap stream ended", "socket", sock, "error", err)
		}
		select {
		case attached <- a.err("tap", err):
		default:
		}
	}()
	t := time.NewTimer(tapAttachWait)
	defer t.Stop()
	select {
	case err := <-attached:
		return err
	case <-t.C:
		a.log.Warn("tap: the plugin did not confirm the tap in time; its messages may start late", "socket", sock, "timeout", tapAttachWait)
		return nil
	}
}

// stopTaps ends every tap stream (Close).
func (a *actor) stopTaps() {
	a.mu.Lock()
	taps := a.taps
	a.taps = nil
	a.mu.Unlock()
	for _, stop := range taps {
		stop()
	}
}

// PID returns the plugin process's id (for tests and diagnostics).
func (a *actor) PID() int { return a.pr.pid() }

// err turns a failed call into the instance's *plugins.NodeError: the one
// the plugin's node or Actor returned, rebuilt with its text and sentinel
// (plugins.FromWire), or, for a call that failed in transport, one that
// says so; a dead process becomes ErrExited.
func (a *actor) err(op string, err error) error {
	if err == nil {
		return nil
	}
	if ne, ok := plugins.FromWire(err, a.spec.Name, op); ok {
		return ne
	}
	err = a.pr.callError(err)
	if errors.Is(err, ErrExited) || errors.Is(err, ErrUnresponsive) || errors.Is(err, plugins.ErrUnhealthy) {
		return &plugins.NodeError{Node: a.spec.Name, Op: op, Err: fmt.Errorf("%s: %w", op, err)}
	}
	if s, ok := status.FromError(err); ok {
		err = fmt.Errorf("%s (%s)", s.Message(), s.Code())
	}
	return &plugins.NodeError{Node: a.spec.Name, Op: op, Err: fmt.Errorf("%s: plugin %s: %w", op, a.pr.exe, err)}
}

// Bind sends the spec; the plugin creates and binds the sockets.
func (a *actor) Bind(ctx context.Context) (map[string][]string, error) {
	eps, err := a.pr.conn.Bind(ctx, a.wire)
	if err != nil {
		return nil, a.err("bind", err)
	}
	return eps, nil
}

// Connect connects the plugin's sockets.
func (a *actor) Connect(ctx context.Context, endpoints map[string][]string) error {
	return a.err("connect", a.pr.conn.Connect(ctx, endpoints))
}

// Ready blocks until the plugin's sockets have their expected peers.
func (a *actor) Ready(ctx context.Context) error {
	err := a.pr.conn.Ready(ctx)
	if err != nil && ctx.Err() != nil {
		return &plugins.NodeError{Node: a.spec.Name, Op: "ready", Err: fmt.Errorf("ready: %w", ctx.Err())}
	}
	return a.err("ready", err)
}

// Run runs the node's body in the plugin and copies its output to the
// writer Launch was given. When ctx is done it asks the plugin to stop and
// waits up to Options.StopTimeout for the body to return (a clean stop is
// nil). If the process dies, Run returns an error wrapping ErrExited that
// names the instance — also when the body had returned nil as the process
// went away (see returned); if the health monitor killed it, one wrapping
// ErrUnresponsive or plugins.ErrUnhealthy.
func (a *actor) Run(ctx context.Context) error {
	defer func() {
		a.mu.Lock()
		a.ran = true
		a.mu.Unlock()
	}()
	streamCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.pr.conn.Run(streamCtx, a.out) }()
	select {
	case err := <-done:
		if err == nil && ctx.Err() == nil {
			return a.returned()
		}
		return a.err("run", err)
	case <-ctx.Done():
	}
	stopCtx, stopCancel := context.WithTimeout(context.Background(), a.h.opts.StopTimeout)
	defer stopCancel()
	if err := a.pr.conn.Stop(stopCtx); err != nil {
		a.log.Debug("plugin stop", "error", err)
	}
	select {
	case err := <-done:
		if st, ok := status.FromError(err); err != nil && ok && st.Code() == codes.Unknown {
			return a.err("run", err) // the body failed while stopping
		}
		return nil
	case <-stopCtx.Done():
		a.log.Warn("plugin node did not stop in time; abandoning it", "timeout", a.h.opts.StopTimeout)
		cancel()
		<-done
		return nil
	}
}

// serviceExitWait is how long a service node's clean return, which the
// host did not ask for, waits to see whether its process is exiting.
// A plugin that stops its node because it lost its host exits within
// about half a second of the return (plugins.Serve's abandon).
const serviceExitWait = time.Second

// returned judges a body that returned nil while the host was not stopping
// it. The return counts only while the plugin process lives: a process
// that exits (or was killed) as its body returns — a plugin whose wrapper
// script was killed, one that lost its parent and stopped its node, a
// crash racing the return — fails the node with ErrExited, so the runtime
// restarts it. For a service node, whose body is not meant to return on its
// own, the host waits up to serviceExitWait for that exit; a task node's
// return is judged at once (its process normally lives on until Close), so
// finishing a task costs nothing.
func (a *actor) returned() error {
	wait := serviceExitWait
	if a.life() == plugins.Task {
		wait = 0
	}
	if a.pr.run.exitedWithin(wait) {
		return a.err("run", errors.New("the node returned as its process exited"))
	}
	return nil
}

// life is the plugin's own word on the kind's life; service if unknown.
func (a *actor) life() plugins.Life {
	for _, k := range a.pr.desc.Kinds {
		if k.Name == a.spec.Kind && k.Life == "task" {
			return plugins.Task
		}
	}
	return plugins.Service
}

// Stats returns the plugin's socket counters, or the last ones seen if the
// plugin does not answer within a second (see StatsApprox).
func (a *actor) Stats() map[string]socket.Stats {
	a.mu.Lock()
	closed, closing := a.closed, a.closeDone
	a.mu.Unlock()
	if closed {
		// Close reads the process's last counts before it ends it: wait
		// for them rather than report what the last poll saw.
		<-closing
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := a.pr.conn.Stats(ctx)
		cancel()
		if err == nil {
			a.mu.Lock()
			a.lastStats = st
			a.final = a.final || a.ran
			a.mu.Unlock()
			return st
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]socket.Stats, len(a.lastStats))
	for k, v := range a.lastStats {
		out[k] = v
	}
	return out
}

// StatsApprox reports whether Stats may miss counts: the process is gone
// (it died, was killed with SIGKILL, or the health monitor killed it)
// and its counters could not be read after its body stopped, so what it
// counted since the last successful Stats call is lost. The runtime marks
// the node's figures as approximate (runtime.NodeStatus.Approx).
func (a *actor) StatsApprox() bool {
	a.mu.Lock()
	final := a.final
	a.mu.Unlock()
	return !final && (a.pr.client.Exited() || a.pr.healthError() != nil)
}

// Close stops the health monitor, closes the plugin's sockets (lingering
// per their options) and ends the process; it blocks until the process is
// reaped. Safe to call more than once and concurrently.
func (a *actor) Close() error {
	a.mu.Lock()
	if a.closed {
		done := a.closeDone
		a.mu.Unlock()
		<-done // a concurrent Close: return when the process is gone
		return nil
	}
	a.closed = true
	a.closeDone = make(chan struct{})
	done := a.closeDone
	a.mu.Unlock()
	defer close(done)
	a.stopTaps()
	if a.stopWatch != nil {
		a.stopWatch()
	}
	if a.stopHealth != nil {
		a.stopHealth()
	}
	<-a.healthDone
	var err error
	if !a.pr.client.Exited() && a.pr.healthError() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), a.h.opts.StopTimeout)
		if st, e := a.pr.conn.Stats(ctx); e == nil {
			a.mu.Lock()
			a.lastStats = st
			a.final = true
			a.mu.Unlock()
		}
		if e := a.pr.conn.Close(ctx); e != nil {
			if s, ok := status.FromError(e); ok && s.Code() == codes.Unknown {
				err = a.err("close", e)
			}
		}
		cancel()
	}
	a.pr.kill()
	return err
}
