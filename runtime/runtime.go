package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oklog/run"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// Errors returned by Run; check with errors.Is. The error also names the
// instance(s) concerned.
var (
	// ErrRestartLimit: a node failed more often than the restart-intensity
	// limit allows.
	ErrRestartLimit = errors.New("restart limit exceeded")
	// ErrNodeFailed: a node failed and its restart policy does not restart it.
	ErrNodeFailed = errors.New("node failed")
	// ErrShutdownTimeout: some nodes did not stop within ShutdownTimeout,
	// or a body blocked writing its output held the stop past StopGrace.
	ErrShutdownTimeout = errors.New("nodes did not stop in time")
	// ErrAlreadyRun: Run was called twice on one Runtime.
	ErrAlreadyRun = errors.New("runtime: Run already called")
)

// Runtime runs one topology once. Create it with New, start it with Run;
// Status is safe to call concurrently with Run, and after it.
type Runtime struct {
	topo  *topology.Topology
	opts  Options
	runID string // announced by every socket of the run (socket.Options.Run)
	// schemas is what Load validated against; nil for New.
	schemas topology.Schemas

	evMu sync.Mutex // serialises OnEvent

	mu    sync.Mutex
	ran   bool
	live  bool // Run is under way (observe.go)
	nodes []*node
}

// New returns a Runtime for t, a topology built or decoded by the caller
// (Load and LoadFile load one and return its Runtime). It does nothing
// until Run.
func New(t *topology.Topology, o Options) *Runtime {
	return newRuntime(t, o.withDefaults())
}

// RunID identifies this run: every socket of its nodes announces it to its
// peers (with "instance.socket"), so a socket tells the run's own peers
// from external ones. Fixed at New: random for a topology without hosts;
// for one with hosts TOPOLOGY/HOST (TopologyID, Options.Host), so the
// processes that run the hosts of one file recognise each other's
// sockets as peers of the topology (plugins.SameTopology), while each
// still counts the others as external for lingering (socket.Context.StopRun).
func (r *Runtime) RunID() string { return r.runID }

// Host returns Options.Host: the host whose instances this Runtime runs
// ("all" for every one, "" for a topology without hosts).
func (r *Runtime) Host() string { return r.opts.Host }

// newRunID returns 16 random hex digits.
func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux and other supported platforms
	return hex.EncodeToString(b[:])
}

func newRuntime(t *topology.Topology, o Options) *Runtime {
	o.ReadyTimeout = readyTimeout(t, o.ReadyTimeout)
	return &Runtime{topo: t, opts: o, runID: runIDFor(t, o)}
}

// Topology returns the topology the Runtime runs.
func (r *Runtime) Topology() *topology.Topology { return r.topo }

// node is one instance under supervision.
type node struct {
	inst    *topology.Instance
	kind    *plugins.Kind    // the kind's description (Life, ...)
	plugin  *topology.Plugin // non-nil for a plugin kind
	process bool             // run through the Launcher
	restart string
	spec    plugins.Spec // Bind holds actual endpoints after the first bind
	connect map[string][]string
	out     *prefixWriter
	log     *slog.Logger // tagged with the node's name, rate-limited by logs
	logs    *warnLimiter

	mu       sync.Mutex // guards the fields below
	actor    plugins.Actor
	state    State
	restarts int
	baseIn   uint64 // counters of closed actors
	baseOut  uint64
	lastIn   uint64
	lastOut  uint64
	baseDrop uint64 // Stats.Dropped of closed actors
	lastDrop uint64
	baseBlk  time.Duration // Stats.SendBlocked of closed actors
	lastBlk  time.Duration
	rateIn   float64
	rateOut  float64
	held     uint64 // messages its failed actors held when they went down
	approx   bool   // a retired actor's counters may be missing counts
	err      error
	// Per-socket counters for Sockets (observe.go): of closed actors, and
	// of the live one at the last poll; readied once EventReady was seen.
	sockBase, sockLast map[string]socket.Stats
	readied            bool
	taps               map[string]*tapHub // by socket name; Tap
}

// Status returns a snapshot of every instance, in topology order.
func (r *Runtime) Status() []NodeStatus {
	r.mu.Lock()
	nodes := r.nodes
	r.mu.Unlock()
	out := make([]NodeStatus, 0, len(nodes))
	for _, n := range nodes {
		n.mu.Lock()
		rateIn, rateOut := n.rateIn, n.rateOut
		if n.state != StateRunning {
			rateIn, rateOut = 0, 0 // a killed worker moves nothing
		}
		out = append(out, NodeStatus{
			Name: n.inst.Name, Kind: n.inst.Node.Kind, Task: n.kind.Life == plugins.Task,
			State: n.state, Restarts: n.restarts,
			MsgsIn: n.baseIn + n.lastIn, MsgsOut: n.baseOut + n.lastOut,
			RateIn: rateIn, RateOut: rateOut, Held: n.held, Approx: n.approx, Err: n.err,
			Dropped: n.baseDrop + n.lastDrop, Blocked: n.baseBlk + n.lastBlk,
		})
		n.mu.Unlock()
	}
	return out
}

func (r *Runtime) emit(n *node, ev Event) {
	ev.Time = time.Now()
	ev.Instance = n.inst.Name
	n.mu.Lock()
	ev.Restarts = n.restarts
	n.readied = n.readied || ev.Kind == EventReady
	n.mu.Unlock()
	if r.opts.OnEvent == nil {
		return
	}
	r.evMu.Lock()
	defer r.evMu.Unlock()
	r.opts.OnEvent(ev)
}

func (n *node) setState(s State) {
	n.mu.Lock()
	n.state = s
	n.mu.Unlock()
}

// updateSockets replaces n.spec.Sockets with a copy that f has changed.
// An actor made from the spec shares its Sockets array, and the status
// handlers read it, so the runtime never writes it in place: it swaps the
// slice under n.mu. Only the goroutine that starts n calls it.
func (n *node) updateSockets(f func(socks []plugins.SocketSpec)) {
	socks := slices.Clone(n.spec.Sockets)
	f(socks)
	n.mu.Lock()
	n.spec.Sockets = socks
	n.mu.Unlock()
}

// specNow is n.spec as of now, for goroutines other than the one that
// starts n.
func (n *node) specNow() plugins.Spec {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.spec
}

// prepare resolves every instance's kind and builds its spec.
func (r *Runtime) prepare(ctx context.Context) ([]*node, *curveKeys, error) {
	exp := expectations(r.topo)
	keys, err := newCurveKeys(r.topo)
	if err != nil {
		return nil, nil, err
	}
	var peers map[topology.SocketRef][]topology.SocketRef
	if len(r.topo.Hosts) > 0 {
		// Across hosts readiness names its peers: who is connected now.
		peers = r.topo.ExpectedPeerRefs()
	}
	insts := r.selected()
	plugs := map[string]*topology.Plugin{}
	for _, p := range r.topo.Plugins {
		plugs[p.Name] = p
	}
	pluginKinds := map[string]map[string]*plugins.Kind{}
	width := 0
	for _, in := range insts {
		width = max(width, len(in.Name))
	}
	mux := &lineMux{w: r.opts.Stdout, width: width}
	var nodes []*node
	var errs []error
	for _, in := range insts {
		n := &node{inst: in, restart: in.Node.Restart, state: StatePending}
		if n.restart == "" {
			n.restart = "on-failure"
		}
		kindName := in.Node.Kind
		if k, ok := r.opts.Registry.Lookup(in.Node.Kind); ok {
			n.kind = k
			n.process = in.Node.Isolation == "process"
		} else if pname, kname, ok := strings.Cut(in.Node.Kind, "."); ok && plugs[pname] != nil {
			if r.opts.Launcher == nil {
				errs = append(errs, fmt.Errorf("%s: kind %q: plugin %q cannot run: no plugin launcher configured", in.Name, in.Node.Kind, pname))
				continue
			}
			if pluginKinds[pname] == nil {
				ks, err := r.opts.Launcher.Kinds(ctx, plugs[pname], r.opts.BaseDir)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: plugin %q: %w", in.Name, pname, err))
					continue
				}
				pluginKinds[pname] = map[string]*plugins.Kind{}
				for _, k := range ks {
					pluginKinds[pname][k.Name] = k
				}
			}
			k := pluginKinds[pname][kname]
			if k == nil {
				errs = append(errs, fmt.Errorf("%s: plugin %q does not serve kind %q", in.Name, pname, kname))
				continue
			}
			n.kind, n.plugin, n.process, kindName = k, plugs[pname], true, kname
		} else {
			errs = append(errs, fmt.Errorf("%s: unknown kind %q (known: %s)", in.Name, in.Node.Kind, strings.Join(r.opts.Registry.Names(), ", ")))
			continue
		}
		if n.process && r.opts.Launcher == nil {
			errs = append(errs, fmt.Errorf("%s: isolation = \"process\" needs a plugin launcher, none configured", in.Name))
			continue
		}
		spec, err := buildSpec(in, kindName, r.runID, exp, peers)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n.spec = spec
		keys.setCurve(n, nil, nil, nil) // the declared endpoints; Run fills in the bound ones
		n.out = mux.writer(in.Name)
		n.logs = newWarnLimiter(r.opts.Logger.Handler(), in.Name, nil)
		n.log = slog.New(n.logs.handler()).With("node", in.Name)
		nodes = append(nodes, n)
	}
	return nodes, keys, errors.Join(errs...)
}

// Run binds, connects and runs the topology, and blocks until it is done:
//
//   - every task node has finished successfully: services are stopped and
//     Run returns nil (or an error naming nodes that failed on the way);
//   - ctx is done: everything is stopped and Run returns nil — an
//     interruption is not a failure — unless nodes failed to stop in time;
//   - a node failed for good (restart limit exceeded, or a task whose
//     policy is "never"): everything is stopped and the error names it.
//
// A topology without task nodes runs until ctx is done. Run may be called
// once; it owns no goroutine after it returns, except the bodies of nodes
// reported by ErrShutdownTimeout.
func (r *Runtime) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.ran {
		r.mu.Unlock()
		return ErrAlreadyRun
	}
	r.ran = true
	r.mu.Unlock()
	if r.topo == nil {
		return errors.New("runtime: nil topology")
	}
	if err := checkHost(r.topo, r.opts.Host); err != nil {
		return err
	}
	stopObserve, err := r.observe()
	if err != nil {
		return err
	}
	defer stopObserve()
	defer func() {
		if r.opts.Launcher != nil {
			_ = r.opts.Launcher.Close()
		}
	}()

	nodes, keys, err := r.prepare(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while starting plugins: nothing ran
		}
		return err
	}
	r.mu.Lock()
	r.nodes = nodes
	r.mu.Unlock()
	defer func() {
		for _, n := range nodes {
			n.logs.flush()
		}
	}()

	sc := &socket.Context{}
	defer sc.Close()

	// Phase 1: every actor binds, in the topology's start order (the one
	// `topo plan` shows); phase 2 connects in the same order. The phases
	// overlap: an instance connects, still in start order, as soon as it
	// and every instance of this process it connects to have bound, so
	// its connections' handshakes proceed while the instances after it
	// bind (at 1,000 nodes binding alone kept one core busy and the other
	// idle for a third of the start-up).
	order := startOrder(r.topo, nodes)
	start := time.Now()
	actors := make([]plugins.Actor, len(nodes))
	startErrs := make([]error, len(nodes)) // nodes whose supervisor retries their start
	bound := make(map[string]map[string][]string, len(nodes))
	closeAll := func() {
		for i, a := range actors {
			if a != nil {
				_ = a.Close()
				nodes[i].mu.Lock()
				nodes[i].actor, nodes[i].state = nil, StateStopped
				nodes[i].mu.Unlock()
			}
		}
	}
	// remote: the instances of other hosts, which run in other processes.
	byName := make(map[string]*topology.Instance, len(r.topo.Instances))
	remote := map[string]bool{}
	for _, in := range r.topo.Instances {
		byName[in.Name] = in
		remote[in.Name] = true
	}
	for _, n := range nodes {
		delete(remote, n.inst.Name)
	}
	connectAfter := connectPositions(r.topo, nodes, order, remote)
	connected := 0 // positions in order connected so far
	// connectUpTo connects, in start order, every instance that may connect
	// once the instance at position p has bound. done says the start-up
	// is over: Run returns err.
	connectUpTo := func(p int) (done bool, err error) {
		for ; connected < len(order) && connectAfter[connected] <= p; connected++ {
			i := order[connected]
			n := nodes[i]
			n.connect = resolveConnects(n.inst, byName, bound, remote)
			changed := keys.setCurve(n, byName, bound, remote) // for restarts
			if actors[i] == nil {
				continue // retried by its supervisor, which connects it
			}
			var err error
			if changed != "" {
				err = fmt.Errorf("socket %s: it connects to CURVE servers with different keys on ephemeral ports that were not bound when it was created (its node starts before them: a start-order cycle); bind them on fixed ports", changed)
			} else {
				err = actors[i].Connect(ctx, n.connect)
			}
			if err != nil {
				closeAll()
				if ctx.Err() != nil {
					return true, r.abandonStart(nodes)
				}
				err = nodeErr(n.inst.Name, "connect", err)
				n.mu.Lock()
				n.state, n.err = StateFailed, err
				n.mu.Unlock()
				r.emit(n, Event{Kind: EventFailed, Err: err})
				return true, err
			}
		}
		return false, nil
	}
	for p, i := range order {
		n := nodes[i]
		n.setState(StateStarting)
		r.emit(n, Event{Kind: EventStarting})
		keys.setCurve(n, byName, bound, remote) // server keys by the endpoints bound so far
		a, b, err := r.makeActor(ctx, n, sc)
		if err != nil && retryStart(n, err) && ctx.Err() == nil {
			// Its supervisor reports the failure and retries with
			// backoff; peers connect to the endpoints it declares and
			// reconnect once it binds them.
			startErrs[i] = err
		} else if err != nil {
			closeAll()
			if ctx.Err() != nil {
				return r.abandonStart(nodes)
			}
			n.mu.Lock()
			n.state, n.err = StateFailed, err
			n.mu.Unlock()
			r.emit(n, Event{Kind: EventFailed, Err: err})
			return err
		} else {
			actors[i] = a
			bound[n.inst.Name] = b
			n.mu.Lock()
			n.actor = a
			n.installTapsLocked(a)
			n.mu.Unlock()
		}
		if done, err := connectUpTo(p); done {
			return err
		}
	}
	if done, err := connectUpTo(len(order)); done {
		return err
	}
	r.opts.Logger.Debug("topology bound and connected", "instances", len(nodes), "elapsed", time.Since(start))

	// Phase 3: supervise. oklog/run holds the long-lived actors: the
	// supervisor, the stats poller and the caller's ctx; the first to
	// return stops the others.
	var g run.Group
	sup := &supervisor{r: r, nodes: nodes, actors: actors, startErrs: startErrs, sc: sc}
	supCtx, supCancel := context.WithCancel(context.Background())
	var supErr error
	g.Add(func() error { supErr = sup.run(supCtx); return supErr }, func(error) { supCancel() })
	statsCtx, statsCancel := context.WithCancel(context.Background())
	g.Add(func() error { r.pollStats(statsCtx, nodes); return nil }, func(error) { statsCancel() })
	stop := make(chan struct{})
	g.Add(func() error {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		return nil
	}, func(error) { close(stop) })
	_ = g.Run()
	supCancel()
	statsCancel()
	r.pollOnce(nodes, 0)
	return supErr
}

// connectPositions returns, for each position in order (indexes of
// nodes), the last position that must have bound before that instance
// connects: its own, or that of the latest instance of this process it
// connects to (by an edge of t or a reference). Connecting in order, an
// instance waits for those before it too, so the result never decreases.
func connectPositions(t *topology.Topology, nodes []*node, order []int, remote map[string]bool) []int {
	pos := make(map[string]int, len(order))
	for p, i := range order {
		pos[nodes[i].inst.Name] = p
	}
	binders := map[string][]string{} // connecting instance -> instances it connects to
	for _, e := range t.Edges {
		binders[e.Connect.Instance] = append(binders[e.Connect.Instance], e.Bind.Instance)
	}
	out := make([]int, len(order))
	last := 0
	after := func(name string) {
		if q, ok := pos[name]; ok && !remote[name] {
			last = max(last, q)
		}
	}
	for p, i := range order {
		last = max(last, p)
		in := nodes[i].inst
		for _, b := range binders[in.Name] {
			after(b)
		}
		for _, s := range in.Sockets {
			for _, c := range s.Connect {
				if c.Ref != nil {
					after(c.Ref.Instance)
				}
			}
		}
		out[p] = last
	}
	return out
}

// startOrder returns the indexes of nodes (one per instance of t, in file
// order) in t.InStartOrder().
func startOrder(t *topology.Topology, nodes []*node) []int {
	idx := make(map[*topology.Instance]int, len(nodes))
	for i, n := range nodes {
		idx[n.inst] = i
	}
	order := make([]int, 0, len(nodes))
	for _, in := range t.InStartOrder() {
		if i, ok := idx[in]; ok {
			order = append(order, i)
			delete(idx, in)
		}
	}
	for i, n := range nodes { // nodes of instances t does not list (cannot happen)
		if _, ok := idx[n.inst]; ok {
			order = append(order, i)
		}
	}
	return order
}

// abandonStart ends a start-up that ctx interrupted: an interruption is
// not a failure, so every instance is stopped (none failed) and Run
// returns nil. The actors are already closed.
func (r *Runtime) abandonStart(nodes []*node) error {
	for _, n := range nodes {
		n.mu.Lock()
		n.actor, n.state = nil, StateStopped
		n.mu.Unlock()
		r.emit(n, Event{Kind: EventStopped})
	}
	r.opts.Logger.Info("start-up interrupted; every node stopped")
	return nil
}
