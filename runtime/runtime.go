package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/oklog/run"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/pluginhost"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// Options configure loading (Load, LoadFile) and running (New, Run) a
// topology; one value serves both. The zero value runs registered kinds with
// the defaults documented on each field, discarding output and logs.
type Options struct {
	// Registry holds the kinds nodes may use (built-in and embedded kinds).
	// Nil means an empty registry: only plugin kinds can run.
	Registry *plugins.Registry
	// Vars set the topology's variables by name, for a program that
	// embeds topo: Go values (string, bool, int, float64, []any,
	// map[string]any, ...; anything encoding/json can marshal) or
	// cty.Value, each converted to the variable's declared type
	// (map[string]any{"workers": 8}). They override defaults and TOPO_VAR_
	// environment variables; VarArgs override them. Load and LoadFile only.
	Vars map[string]any
	// VarArgs are -var and -var-file command-line flags in command-line
	// order ({Flag: "var", Value: "workers=8"}), later ones winning: what
	// the topo CLI passes, for programs with the same flags. Load and
	// LoadFile only.
	VarArgs []topology.VarArg
	// Environ is os.Environ()-style; TOPO_VAR_name entries set variables.
	// Nil means the environment is not consulted. Load and LoadFile only.
	Environ []string
	// OnWarnings, if set, receives the warnings of a file that loaded,
	// with the sources they point into. Load and LoadFile only.
	OnWarnings func(*DiagnosticsError)
	// SkipPlugins makes Load and LoadFile start none of the plugins the
	// file declares: nodes of plugin kinds are then not checked, each
	// with a warning that says so (what `topo validate -plugins=false`
	// does). Such a Runtime cannot run plugin nodes. Load and LoadFile
	// only.
	SkipPlugins bool
	// Launcher runs plugin kinds and isolation = "process" nodes, and
	// tells Load the kinds of the plugins a file declares. Nil means
	// pluginhost.New with Logger, HealthInterval and HealthMisses. Run
	// closes it when it returns (a Runtime runs once); a Load or LoadFile
	// that fails closes the one it made, and leaves one you gave open.
	Launcher Launcher
	// BaseDir is the directory of the topology file; plugin commands and
	// sources are relative to it. Empty means the working directory
	// (LoadFile: the file's directory).
	BaseDir string
	// Stdout receives the nodes' output, one line at a time, each prefixed
	// with the instance name padded to the longest name and " | ":
	// "hello-client | Received reply 0 [ World ]". Nil discards.
	Stdout io.Writer
	// Logger receives the runtime's structured log; nil discards. Each
	// node's records carry "node" (once); a node's warnings and errors are
	// rate-limited per message (5 per 10s, then one "suppressed N similar
	// warnings" record with the count, at the latest when Run returns).
	Logger *slog.Logger
	// OnEvent, if set, is called for every Event. Calls are serialised
	// (never concurrent), in order per instance; it should return quickly.
	OnEvent func(Event)
	// OnStats, if set, is called every StatsInterval with a status snapshot
	// of every instance, from one goroutine.
	OnStats func([]NodeStatus)
	// StatsInterval is how often socket counters are polled; default 1s.
	StatsInterval time.Duration
	// ReadyTimeout bounds how long a node's body waits for its expected
	// peers; after it, the body starts anyway and a warning names the
	// sockets still waiting (their peers may be external). Default 10s.
	ReadyTimeout time.Duration
	// ShutdownTimeout bounds how long stopping the topology may take; nodes
	// still running after it are reported by name. Default 5s.
	ShutdownTimeout time.Duration
	// StopGrace is how long a stopped node's body may take to return
	// before the runtime closes its sockets to unblock it. Default 500ms.
	// When the run stops, a body still blocked writing to Stdout then
	// holds the stop: the runtime stops waiting for it (see Run).
	StopGrace time.Duration
	// BackoffInitial and BackoffMax shape the delay before a restart: it
	// starts at BackoffInitial and doubles with every restart inside
	// IntensityWindow, up to BackoffMax. Defaults 100ms and 5s.
	BackoffInitial, BackoffMax time.Duration
	// MaxRestarts within IntensityWindow is the restart-intensity limit: one
	// more failure makes the node fail the topology. Defaults 5 and 10s.
	MaxRestarts     int
	IntensityWindow time.Duration
	// HealthInterval and HealthMisses govern health checks of goroutine
	// nodes that implement plugins.HealthChecker: every HealthInterval
	// while the body runs, each check bounded by HealthInterval; after
	// HealthMisses failed checks in a row the node fails with
	// plugins.ErrUnhealthy. Defaults 1s and 3; a negative HealthInterval
	// turns checks off. The default Launcher gets the same values for
	// plugin nodes (pluginhost.Options); a Launcher of your own has its own.
	HealthInterval time.Duration
	HealthMisses   int
}

func (o Options) withDefaults() Options {
	if o.Registry == nil {
		o.Registry = &plugins.Registry{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HealthInterval == 0 {
		o.HealthInterval = time.Second
	}
	if o.HealthMisses <= 0 {
		o.HealthMisses = 3
	}
	if o.Launcher == nil {
		o.Launcher = pluginhost.New(pluginhost.Options{Logger: o.Logger, HealthInterval: o.HealthInterval, HealthMisses: o.HealthMisses})
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.StatsInterval <= 0 {
		o.StatsInterval = time.Second
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 10 * time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 500 * time.Millisecond
	}
	if o.BackoffInitial <= 0 {
		o.BackoffInitial = 100 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 5 * time.Second
	}
	if o.BackoffMax < o.BackoffInitial {
		o.BackoffMax = o.BackoffInitial
	}
	if o.MaxRestarts <= 0 {
		o.MaxRestarts = 5
	}
	if o.IntensityWindow <= 0 {
		o.IntensityWindow = 10 * time.Second
	}
	return o
}

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

	// newActor builds an in-process actor; tests replace it.
	newActor func(k *plugins.Kind, spec plugins.Spec, sc *socket.Context, out io.Writer, log *slog.Logger) (plugins.Actor, error)

	evMu sync.Mutex // serialises OnEvent

	mu    sync.Mutex
	ran   bool
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
// from external ones. Random, fixed at New.
func (r *Runtime) RunID() string { return r.runID }

// newRunID returns 16 random hex digits.
func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux and other supported platforms
	return hex.EncodeToString(b[:])
}

func newRuntime(t *topology.Topology, o Options) *Runtime {
	return &Runtime{topo: t, opts: o, runID: newRunID(), newActor: inProcessActor}
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
	rateIn   float64
	rateOut  float64
	held     uint64 // messages its failed actors held when they went down
	approx   bool   // a retired actor's counters may be missing counts
	err      error
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
			Dropped: n.baseDrop + n.lastDrop,
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

// prepare resolves every instance's kind and builds its spec.
func (r *Runtime) prepare(ctx context.Context) ([]*node, error) {
	exp := expectations(r.topo)
	plugs := map[string]*topology.Plugin{}
	for _, p := range r.topo.Plugins {
		plugs[p.Name] = p
	}
	pluginKinds := map[string]map[string]*plugins.Kind{}
	width := 0
	for _, in := range r.topo.Instances {
		width = max(width, len(in.Name))
	}
	mux := &lineMux{w: r.opts.Stdout, width: width}
	var nodes []*node
	var errs []error
	for _, in := range r.topo.Instances {
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
		spec, err := buildSpec(in, kindName, r.runID, exp)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n.spec = spec
		n.out = mux.writer(in.Name)
		n.logs = newWarnLimiter(r.opts.Logger.Handler(), in.Name, nil)
		n.log = slog.New(n.logs.handler()).With("node", in.Name)
		nodes = append(nodes, n)
	}
	return nodes, errors.Join(errs...)
}

// makeActor creates and binds a fresh actor for n, and records the
// endpoints it actually bound in n.spec (so a restart binds the same ones).
func (r *Runtime) makeActor(ctx context.Context, n *node, sc *socket.Context) (plugins.Actor, map[string][]string, error) {
	var a plugins.Actor
	var err error
	if n.process {
		a, err = r.opts.Launcher.Launch(ctx, n.plugin, r.opts.BaseDir, n.spec, n.out, n.log)
	} else {
		// plugins.NewActor tags the log with the node's name itself.
		a, err = r.newActor(n.kind, n.spec, sc, n.out, slog.New(n.logs.handler()))
	}
	if err != nil {
		return nil, nil, nameErr(n.inst.Name, err)
	}
	bound, err := a.Bind(ctx)
	if err != nil {
		_ = a.Close()
		return nil, nil, startFailed{addrInUseHint(nameErr(n.inst.Name, err))}
	}
	for i := range n.spec.Sockets {
		if eps, ok := bound[n.spec.Sockets[i].Name]; ok && len(eps) > 0 {
			n.spec.Sockets[i].Bind = append([]string(nil), eps...)
		}
	}
	return a, bound, nil
}

// addrInUseHint adds to an address-in-use bind error what the user can
// check: who else holds the port, or the socket file of an ipc:// endpoint.
func addrInUseHint(err error) error {
	var be *plugins.BindError
	if !errors.Is(err, socket.ErrAddrInUse) || !errors.As(err, &be) {
		return err
	}
	switch {
	case strings.HasPrefix(be.Endpoint, "ipc://@"):
		return fmt.Errorf("%w (is another program, or another topology, listening on that abstract socket name?)", err)
	case strings.HasPrefix(be.Endpoint, "ipc://"):
		return fmt.Errorf("%w (is another program, or another topology, listening on the socket file %s? topo replaces a stale one only when nothing answers on it)", err, strings.TrimPrefix(be.Endpoint, "ipc://"))
	case strings.HasPrefix(be.Endpoint, "inproc://"):
		return fmt.Errorf("%w (another socket of this program binds that inproc name)", err)
	}
	return fmt.Errorf("%w (is another program, or another topology, using that port?)", err)
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
			if strings.HasPrefix(ep, "tcp://") && strings.HasSuffix(ep, ":0") {
				return false
			}
		}
	}
	return true
}

// nameErr prefixes err with the instance name unless it already starts with it.
func nameErr(name string, err error) error {
	if err == nil || strings.HasPrefix(err.Error(), name+":") || strings.HasPrefix(err.Error(), name+" ") {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
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
	defer func() {
		if r.opts.Launcher != nil {
			_ = r.opts.Launcher.Close()
		}
	}()

	nodes, err := r.prepare(ctx)
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
	// `topo plan` shows); phase 2 connects in the same order.
	order := startOrder(r.topo, nodes)
	start := time.Now()
	actors := make([]plugins.Actor, len(nodes))
	startErrs := make([]error, len(nodes)) // nodes whose supervisor retries their start
	bound := map[string]map[string][]string{}
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
	for _, i := range order {
		n := nodes[i]
		n.setState(StateStarting)
		r.emit(n, Event{Kind: EventStarting})
		a, b, err := r.makeActor(ctx, n, sc)
		if err != nil && retryStart(n, err) && ctx.Err() == nil {
			// Its supervisor reports the failure and retries with
			// backoff; peers connect to the endpoints it declares and
			// reconnect once it binds them.
			startErrs[i] = err
			continue
		}
		if err != nil {
			closeAll()
			if ctx.Err() != nil {
				return r.abandonStart(nodes)
			}
			n.mu.Lock()
			n.state, n.err = StateFailed, err
			n.mu.Unlock()
			r.emit(n, Event{Kind: EventFailed, Err: err})
			return err
		}
		actors[i] = a
		bound[n.inst.Name] = b
		n.mu.Lock()
		n.actor = a
		n.mu.Unlock()
	}
	// Phase 2: resolve references to actual endpoints, connect.
	byName := map[string]*topology.Instance{}
	for _, in := range r.topo.Instances {
		byName[in.Name] = in
	}
	for _, i := range order {
		n := nodes[i]
		n.connect = resolveConnects(n.inst, byName, bound)
		if actors[i] == nil {
			continue // retried by its supervisor, which connects it
		}
		if err := actors[i].Connect(ctx, n.connect); err != nil {
			closeAll()
			if ctx.Err() != nil {
				return r.abandonStart(nodes)
			}
			err = nameErr(n.inst.Name, err)
			n.mu.Lock()
			n.state, n.err = StateFailed, err
			n.mu.Unlock()
			r.emit(n, Event{Kind: EventFailed, Err: err})
			return err
		}
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

// pollStats refreshes every node's counters each StatsInterval and calls
// OnStats, until ctx is done.
func (r *Runtime) pollStats(ctx context.Context, nodes []*node) {
	t := time.NewTicker(r.opts.StatsInterval)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.pollOnce(nodes, now.Sub(last))
			last = now
			if r.opts.OnStats != nil {
				r.opts.OnStats(r.Status())
			}
		}
	}
}

// pollOnce reads the live actors' counters; elapsed > 0 updates rates.
func (r *Runtime) pollOnce(nodes []*node, elapsed time.Duration) {
	for _, n := range nodes {
		n.logs.tick()
		n.mu.Lock()
		in, out, drop := n.lastIn, n.lastOut, n.lastDrop
		if n.actor != nil {
			st := n.actor.Stats()
			in, out = sumStats(st)
			drop = sumDropped(st)
		}
		if elapsed > 0 {
			secs := elapsed.Seconds()
			n.rateIn = float64(sub(in, n.lastIn)) / secs
			n.rateOut = float64(sub(out, n.lastOut)) / secs
		}
		n.lastIn, n.lastOut, n.lastDrop = in, out, drop
		n.mu.Unlock()
	}
}

func sub(a, b uint64) uint64 {
	if a < b {
		return a // a fresh actor after a restart
	}
	return a - b
}

func sumStats(m map[string]socket.Stats) (in, out uint64) {
	for _, s := range m {
		in += s.MsgsIn
		out += s.MsgsOut
	}
	return in, out
}

func sumDropped(m map[string]socket.Stats) (n uint64) {
	for _, s := range m {
		n += s.Dropped
	}
	return n
}

// waiting lists the sockets of a that are still short of their expected peers.
func waiting(spec plugins.Spec, a plugins.Actor) []string {
	st := a.Stats()
	var out []string
	for _, s := range spec.Sockets {
		if s.Expect <= 0 {
			continue
		}
		have := st[s.Name].Wired(s.Type)
		what := "peers"
		if s.Type == socket.PUB || s.Type == socket.XPUB {
			what = "subscribers"
		}
		if have < uint64(s.Expect) {
			out = append(out, fmt.Sprintf("%s: %d/%d %s", s.Name, have, s.Expect, what))
		}
	}
	sort.Strings(out)
	return out
}
