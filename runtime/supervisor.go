package runtime

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/topo-zmq/topo/internal/health"
	"github.com/topo-zmq/topo/internal/recovery"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

// supervisor runs every node instance in its own goroutine, restarts them
// per their policy and decides when the topology is done.
type supervisor struct {
	r      *Runtime
	nodes  []*node
	actors []plugins.Actor // the actors bound and connected by Run, by node index
	// startErrs holds, by node index, why a node has no actor yet: its
	// start-up failed and its supervisor retries it per its policy.
	startErrs []error
	sc        *socket.Context

	heldMu sync.Mutex
	held   []string // instances whose body held the stop (errHeld)
}

// errHeld: the node's body was blocked writing its output when the run
// stopped, and the runtime stopped waiting for it after StopGrace.
var errHeld = errors.New("held the stop")

type outcome int

const (
	outFinished outcome = iota // a task finished successfully (first time)
	outFailed                  // a service failed and stays down
	outFatal                   // the node fails the topology
)

type report struct {
	n    *node
	what outcome
	err  error
}

// run supervises until every task has finished, a node fails the topology,
// or ctx is done; then it stops every node within ShutdownTimeout.
func (s *supervisor) run(ctx context.Context) error {
	// Each node gets a context of its own, cancelled one by one at the
	// stop: contexts derived from one shared parent all register in that
	// parent's child set under its lock, which at 1,000 nodes starting at
	// once was a tenth of an inproc start-up's CPU.
	cancels := make([]context.CancelFunc, len(s.nodes))
	nodeCtxs := make([]context.Context, len(s.nodes))
	for i := range s.nodes {
		nodeCtxs[i], cancels[i] = context.WithCancel(context.Background())
	}
	cancel := func() {
		for _, c := range cancels {
			c()
		}
	}
	defer cancel()

	started := map[string]chan struct{}{}
	for _, n := range s.nodes {
		started[n.inst.Name] = make(chan struct{})
	}
	byNode := map[string][]*node{} // node block name → its instances
	for _, n := range s.nodes {
		byNode[n.inst.Node.Name] = append(byNode[n.inst.Node.Name], n)
	}

	reports := make(chan report, 2*len(s.nodes))
	done := make([]chan struct{}, len(s.nodes))
	var wg sync.WaitGroup
	tasks := 0
	for i, n := range s.nodes {
		if n.kind.Life == plugins.Task {
			tasks++
		}
		var deps []chan struct{}
		for _, d := range n.inst.Node.DependsOn {
			for _, dn := range byNode[d] {
				deps = append(deps, started[dn.inst.Name])
			}
		}
		done[i] = make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			growStack()
			s.supervise(nodeCtxs[i], n, s.actors[i], s.startErrs[i], deps, started[n.inst.Name], reports)
		}()
	}

	var fatal error
	var failed []error
	handle := func(rep report) {
		switch rep.what {
		case outFinished:
			tasks--
		case outFailed:
			failed = append(failed, rep.err)
		case outFatal:
			fatal = rep.err
		}
	}
	for fatal == nil && (tasks > 0 || !s.hasTasks()) {
		select {
		case <-ctx.Done():
			goto stop
		case rep := <-reports:
			handle(rep)
		}
	}
stop:
	if fatal == nil && tasks == 0 && s.hasTasks() {
		s.r.opts.Logger.Info("all tasks finished, stopping services")
	}
	// Every node of the run stops now: sockets need not linger for peers
	// of the run, which are stopping too (external peers still get theirs).
	s.sc.StopRun()
	cancel()
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	timer := time.NewTimer(s.r.opts.ShutdownTimeout)
	defer timer.Stop()
	var shutdownErr error
	select {
	case <-all:
	case <-timer.C:
		var stuck []string
		for i, n := range s.nodes {
			select {
			case <-done[i]:
			default:
				stuck = append(stuck, n.inst.Name)
			}
		}
		sort.Strings(stuck)
		shutdownErr = fmt.Errorf("%w after %s: %s", ErrShutdownTimeout, s.r.opts.ShutdownTimeout, strings.Join(stuck, ", "))
		s.r.opts.Logger.Error("shutdown timed out", "nodes", strings.Join(stuck, ", "))
	}
	s.heldMu.Lock()
	if len(s.held) > 0 {
		sort.Strings(s.held)
		shutdownErr = errors.Join(shutdownErr, fmt.Errorf("%w: %s held the stop: blocked writing output %s after the stop; not waited for",
			ErrShutdownTimeout, strings.Join(s.held, ", "), s.r.opts.StopGrace))
	}
	s.heldMu.Unlock()
	// Collect what arrived while stopping (nothing can block: the channel
	// holds two reports per node).
	for {
		select {
		case rep := <-reports:
			if rep.what != outFinished {
				handle(rep)
			}
			continue
		default:
		}
		break
	}
	return errors.Join(append(append([]error{fatal}, failed...), shutdownErr)...)
}

func (s *supervisor) hasTasks() bool {
	for _, n := range s.nodes {
		if n.kind.Life == plugins.Task {
			return true
		}
	}
	return false
}

// supervise runs one node instance until it is done for good. first is its
// already bound and connected actor, or nil when its start-up failed with
// startErr: that counts as its first failure.
func (s *supervisor) supervise(ctx context.Context, n *node, first plugins.Actor, startErr error, deps []chan struct{}, started chan struct{}, reports chan<- report) {
	r := s.r
	o := r.opts
	startedOnce := false
	markStarted := func() {
		if !startedOnce {
			startedOnce = true
			close(started)
		}
	}
	defer markStarted()
	defer n.out.Flush()

	for _, d := range deps {
		select {
		case <-d:
		case <-ctx.Done():
		}
	}

	a := first
	var history []time.Time
	finishedOnce := false
	for {
		var err error
		if startErr != nil {
			err, startErr = startErr, nil
		} else if a == nil {
			n.setState(StateStarting)
			r.emit(n, Event{Kind: EventStarting})
			var na plugins.Actor
			na, _, err = r.makeActor(ctx, n, s.sc)
			if err == nil {
				a = na
				n.mu.Lock()
				n.actor = a
				n.installTapsLocked(a)
				n.mu.Unlock()
				err = nodeErr(n.inst.Name, "connect", a.Connect(ctx, n.connect))
			}
		}
		if err == nil {
			err = s.runOnce(ctx, n, a, markStarted)
		}
		if a != nil {
			s.retire(n, a, err != nil && ctx.Err() == nil)
			a = nil
		}
		if errors.Is(err, errHeld) {
			s.heldMu.Lock()
			s.held = append(s.held, n.inst.Name)
			s.heldMu.Unlock()
		}
		if ctx.Err() != nil {
			n.setState(StateStopped)
			r.emit(n, Event{Kind: EventStopped})
			return
		}
		task := n.kind.Life == plugins.Task
		if err == nil {
			r.emit(n, Event{Kind: EventFinished})
			if task && !finishedOnce {
				finishedOnce = true
				reports <- report{n: n, what: outFinished}
			}
			if n.restart != "always" {
				n.setState(StateFinished)
				return
			}
		} else {
			n.mu.Lock()
			n.err = err
			n.state = StateFailed
			n.mu.Unlock()
			n.log.Error("node failed", "err", err)
			r.emit(n, Event{Kind: EventFailed, Err: err})
			if n.restart == "never" {
				if task {
					reports <- report{n: n, what: outFatal, err: fmt.Errorf("%w: %w", ErrNodeFailed, err)}
				} else {
					reports <- report{n: n, what: outFailed, err: fmt.Errorf("%w: %w", ErrNodeFailed, err)}
				}
				return
			}
		}

		// Restart, within the intensity limit.
		now := time.Now()
		kept := history[:0]
		for _, t := range history {
			if now.Sub(t) < o.IntensityWindow {
				kept = append(kept, t)
			}
		}
		history = kept
		if len(history) >= o.MaxRestarts {
			ferr := fmt.Errorf("%s: %w: restarted %d times within %s; last: it finished and its policy is \"always\"", n.inst.Name, ErrRestartLimit, len(history), o.IntensityWindow)
			if err != nil {
				ferr = fmt.Errorf("%s: %w: restarted %d times within %s; last failure: %w", n.inst.Name, ErrRestartLimit, len(history), o.IntensityWindow, err)
			}
			n.mu.Lock()
			n.state, n.err = StateFailed, ferr
			n.mu.Unlock()
			n.log.Error("giving up on node", "err", ferr)
			reports <- report{n: n, what: outFatal, err: ferr}
			return
		}
		delay := o.BackoffInitial << len(history)
		if delay > o.BackoffMax || delay <= 0 {
			delay = o.BackoffMax
		}
		history = append(history, now)
		n.mu.Lock()
		n.restarts++
		n.state = StateRestarting
		n.mu.Unlock()
		n.log.Info("restarting node", "delay", delay)
		r.emit(n, Event{Kind: EventRestarting, Delay: delay})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			n.setState(StateStopped)
			r.emit(n, Event{Kind: EventStopped})
			return
		}
	}
}

// runOnce waits for the actor's peers (bounded by ReadyTimeout) and runs its
// body. A stop through ctx is success.
func (s *supervisor) runOnce(ctx context.Context, n *node, a plugins.Actor, markStarted func()) (err error) {
	r := s.r
	var rctx context.Context
	var cancel context.CancelFunc
	if r.opts.ReadyTimeout > 0 {
		rctx, cancel = context.WithTimeout(ctx, r.opts.ReadyTimeout)
	} else {
		rctx, cancel = context.WithCancel(ctx) // no bound: until the peers are there
	}
	stopReport := s.reportWaiting(rctx, n, a)
	rerr := recovery.Call(func() error { return a.Ready(rctx) }, actorPanic)
	timedOut := rctx.Err() != nil
	cancel()
	stopReport()
	if ctx.Err() != nil {
		return nil
	}
	if rerr != nil && !timedOut {
		return nodeErr(n.inst.Name, "ready", rerr)
	}
	if rerr != nil {
		w := waiting(n.specNow(), a, s.r.hostOf)
		n.log.Warn("starting before every expected peer is connected (external or slow peers?)",
			"timeout", r.opts.ReadyTimeout, "waiting", strings.Join(w, "; "))
		r.emit(n, Event{Kind: EventReady, Waiting: w})
	} else {
		r.emit(n, Event{Kind: EventReady})
	}
	n.setState(StateRunning)
	// EventRunning before markStarted: a node that depends on this one must
	// not report running before this one does.
	r.emit(n, Event{Kind: EventRunning})
	markStarted()
	// The body stops when ctx is done or when it fails its health checks.
	bodyCtx, stopBody := context.WithCancel(ctx)
	defer stopBody()
	healthVerdict := r.watchHealth(bodyCtx, n, a, stopBody)
	defer healthVerdict()
	// A body that ignores ctx (blocked in a call that does not watch it) is
	// unblocked StopGrace after the stop by closing its sockets. A body
	// still blocked writing its output then, while the run stops, holds
	// the stop: nothing can unblock a write to a stdout nobody reads, so
	// the runtime says so and stops waiting for it (errHeld).
	runDone := make(chan struct{})
	held := make(chan struct{})
	gw := &graceWatch{s: s, ctx: ctx, n: n, a: a, runDone: runDone, held: held}
	defer gw.stop()
	var bodyErr error
	bodyDone := make(chan struct{})
	go func() { // owned until it returns; left behind only when it holds the stop (errHeld)
		defer close(bodyDone)
		bodyErr = recovery.Call(func() error { return a.Run(bodyCtx) }, actorPanic)
	}()
	// This goroutine waits for the body anyway: it arms the StopGrace
	// timer itself when the body is told to stop (no goroutine per node
	// waits for that).
	stopping := bodyCtx.Done()
wait:
	for {
		select {
		case <-bodyDone:
			err = bodyErr
			break wait
		case <-held:
			return errHeld
		case <-stopping:
			stopping = nil
			gw.arm()
		}
	}
	herr := healthVerdict()
	if ctx.Err() != nil {
		if err != nil && !errors.Is(err, context.Canceled) {
			n.log.Debug("node returned an error while stopping", "err", err)
		}
		return nil
	}
	if herr != nil {
		if err != nil {
			n.log.Debug("node returned an error after failing its health checks", "err", err)
		}
		return &plugins.NodeError{Node: n.inst.Name, Op: "health", Err: herr}
	}
	return nodeErr(n.inst.Name, "run", err)
}

// graceWatch is the StopGrace watch of a body that runs until runDone is
// closed: armed once the body is told to stop, StopGrace later it closes
// the sockets of a body still running, or, when the run is stopping (ctx
// done) and the body is blocked writing its output, leaves it behind:
// held is closed for runOnce to return errHeld. The goroutine that waits
// for the body arms it; a timer's callback acts.
type graceWatch struct {
	s             *supervisor
	ctx           context.Context
	n             *node
	a             plugins.Actor
	runDone, held chan struct{}
	timer         *time.Timer
	fired         chan struct{} // closed when the timer's callback has run
}

func (g *graceWatch) arm() {
	r, n := g.s.r, g.n
	g.fired = make(chan struct{})
	g.timer = time.AfterFunc(r.opts.StopGrace, func() {
		defer close(g.fired)
		select {
		case <-g.runDone:
			return
		default:
		}
		if g.ctx.Err() != nil && n.out.blocked() {
			n.log.Warn(n.inst.Name+" held the stop: its body is blocked writing its output; not waiting for it", "grace", r.opts.StopGrace)
			n.out.mux.abandoned.Store(true)
			close(g.held)
			_ = g.a.Close()
			return
		}
		n.log.Warn("node did not stop within the grace period; closing its sockets", "grace", r.opts.StopGrace)
		_ = g.a.Close()
	})
}

// stop closes runDone and waits for the timer's callback if it started.
func (g *graceWatch) stop() {
	close(g.runDone)
	if g.timer != nil && !g.timer.Stop() {
		<-g.fired
	}
}

// reportWaiting logs, every ReadyReport while ctx lasts, which sockets of
// n are still short of peers and the host each missing one should come
// from. It owns no goroutine while it waits (a timer's callback does the
// report): a goroutine and a ticker per node cost more than the rest of
// the wait at 1,000 nodes. The returned func stops it and waits for a
// report in progress.
func (s *supervisor) reportWaiting(ctx context.Context, n *node, a plugins.Actor) func() {
	every := s.r.opts.ReadyReport
	start := time.Now()
	var mu sync.Mutex // held by a report; stopped and t are guarded by it
	stopped := false
	var t *time.Timer
	mu.Lock()
	t = time.AfterFunc(every, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped || ctx.Err() != nil {
			return
		}
		if w := waiting(n.specNow(), a, s.r.hostOf); len(w) > 0 {
			n.log.Info("waiting for peers", "for", time.Since(start).Round(time.Second), "waiting", strings.Join(w, "; "))
		}
		t.Reset(every)
	})
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}

// hostOf returns the host of the instance of a peer socket name
// ("worker[3].out"), "" when the topology declares no hosts.
func (r *Runtime) hostOf(peer string) string {
	if len(r.topo.Hosts) == 0 {
		return ""
	}
	name := peer
	if i := strings.LastIndexByte(peer, '.'); i >= 0 {
		name = peer[:i]
	}
	for _, in := range r.topo.Instances {
		if in.Name == name {
			return in.Host
		}
	}
	return ""
}

// actorPanic is the error of an Actor that panicked (plugins.NewActor's
// recover their node's panics themselves, as ErrPanic).
func actorPanic(r any, _ string) error { return fmt.Errorf("panic: %v", r) }

// watchHealth checks a goroutine node whose Actor implements
// plugins.HealthChecker (a plugin's Actor does not: its Launcher checks it)
// while ctx lasts, on a goroutine of its own: every HealthInterval, each
// call bounded by HealthInterval. After HealthMisses failed checks in a row
// it calls stopBody. The returned func stops the checks, waits for the
// goroutine and returns the verdict: nil, or an error wrapping
// plugins.ErrUnhealthy. It may be called more than once.
func (r *Runtime) watchHealth(ctx context.Context, n *node, a plugins.Actor, stopBody func()) func() error {
	hc, ok := a.(plugins.HealthChecker)
	interval, misses := r.opts.HealthInterval, r.opts.HealthMisses
	if !ok || interval <= 0 {
		return func() error { return nil }
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var verdict error // written before done is closed
	go func() {
		defer close(done)
		f := health.Watcher{Interval: interval, Misses: misses, Check: hc.Health, Missed: func(failed int, err error) {
			n.log.Debug("node reported unhealthy", "failed", failed, "health", err)
		}}.Watch(ctx)
		if f == nil {
			return
		}
		verdict = f.Verdict(plugins.ErrUnhealthy)
		n.log.Warn("node failed its health checks; stopping it", "failed", f.Failed, "last", f.Last)
		stopBody()
	}()
	return sync.OnceValue(func() error {
		cancel()
		<-done
		return verdict
	})
}

// retire closes an actor, then folds its counters into the node's totals.
// failed says the actor went down with a failure (not a stop or a
// finish): what it was holding then is added to the node's Held.
func (s *supervisor) retire(n *node, a plugins.Actor, failed bool) {
	// Close first: a process node's last counts are read as it closes
	// (before, Stats could race the plugin's own shutdown and miss them);
	// a goroutine node's sockets keep their counters once closed.
	if err := a.Close(); err != nil {
		n.log.Warn("closing node", "err", err)
	}
	st := a.Stats()
	approx := false
	if ap, ok := a.(interface{ StatsApprox() bool }); ok {
		approx = ap.StatsApprox()
	}
	in, out := sumStats(st)
	n.mu.Lock()
	n.baseIn += in
	n.baseOut += out
	n.baseDrop += sumDropped(st)
	n.baseBlk += sumBlocked(st)
	n.lastIn, n.lastOut, n.lastDrop, n.lastBlk = 0, 0, 0, 0
	n.sockBase, n.sockLast = addSocketStats(n.sockBase, st), nil
	n.actor = nil
	if failed && passesOn(n.spec) && in > out {
		n.held += in - out
	}
	n.approx = n.approx || approx
	n.mu.Unlock()
	if failed && (in > out || approx) {
		n.log.Warn("node went down holding messages", "received", in, "sent", out, "approximate", approx)
	}
}

// passesOn reports whether a node of this spec passes on or answers what
// it receives (it has a socket that sends: a worker, a proxy, a server),
// so that messages it received and had not sent when it went down were
// lost with it. A pure consumer (a sink, a counter, a subscriber) keeps
// what it receives.
func passesOn(spec plugins.Spec) bool {
	for _, s := range spec.Sockets {
		switch s.Type {
		case socket.PUSH, socket.PUB, socket.XPUB, socket.REP, socket.ROUTER, socket.DEALER, socket.PAIR:
			return true
		}
	}
	return false
}

// growStack grows the calling goroutine's stack to what a supervising
// goroutine needs while its stack is one frame deep: grown later, at the
// bottom of a readiness wait, the copy walks every frame above, and at
// 1,000 nodes those copies were a tenth of the start-up's CPU.
//
//go:noinline
func growStack() {
	var pad [stackPad]byte
	keepFrame(pad[:])
}

const stackPad = 6 << 10

//go:noinline
func keepFrame([]byte) {}
