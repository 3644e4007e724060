package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/pluginproto"
	"github.com/topo-zmq/topo/topology"
)

// Errors a Host returns, wrapped with the node, the plugin and the path;
// check with errors.Is.
var (
	ErrNotFound         = errors.New("plugin executable not found")
	ErrNotExecutable    = errors.New("plugin file is not executable")
	ErrNotPlugin        = errors.New("not a topo plugin")
	ErrHandshakeTimeout = errors.New("plugin handshake timeout")
	ErrChecksum         = errors.New("plugin checksum mismatch")
	ErrProtocolVersion  = errors.New("plugin protocol version mismatch")
	ErrUnknownKind      = errors.New("plugin does not serve that kind")
	ErrBuild            = errors.New("plugin build failed")
	// ErrExited is returned by an Actor's calls when its plugin process
	// died (panic, exit, SIGKILL): the runtime restarts the node.
	ErrExited = errors.New("plugin process exited")
	// ErrUnresponsive is returned by an Actor's calls (usually Run) when
	// its plugin process was alive but failed Options.HealthMisses health
	// checks in a row (stopped, wedged, starved): the host killed it, and
	// the runtime restarts the node. When the last check was answered by
	// the node's own Health (plugins.HealthChecker) saying it is
	// unhealthy, the error wraps plugins.ErrUnhealthy instead.
	ErrUnresponsive = errors.New("plugin stopped answering health checks")
	// ErrClosed is returned by Launch and Kinds after Close.
	ErrClosed = errors.New("plugin host closed")
	// ErrCheckUnsupported is returned by CheckKinds for a plugin built
	// before topo could ask plugins to check configurations: its nodes can
	// be checked by type only.
	ErrCheckUnsupported = errors.New("plugin predates configuration checks")
)

// Options configure a Host. The zero value is usable.
type Options struct {
	// Self is the command line that serves the built-in kinds, run by
	// Launch when p is nil (isolation = "process"). Default: this
	// executable with the argument "plugin-serve" (topo's hidden command).
	// A test binary sets it to itself and serves from TestMain when
	// IsChild() is true.
	Self []string
	// CacheDir holds plugins built from source. Default:
	// os.UserCacheDir()/topo/plugins.
	CacheDir string
	// Logger receives host-level diagnostics (builds, kills); nil discards.
	Logger *slog.Logger
	// StartTimeout bounds a plugin's start and handshake. Default 20s.
	StartTimeout time.Duration
	// HealthInterval is how often a launched plugin is asked for its
	// node's health while its Actor is open; each check must be answered
	// within HealthInterval, and healthy (a node without
	// plugins.HealthChecker is healthy while its process answers).
	// Default 1s; negative disables health checks (for a plugin under a
	// debugger).
	HealthInterval time.Duration
	// HealthMisses is how many checks in a row must fail (the ones before
	// are tolerated) for the host to kill the process; the Actor's calls
	// then return ErrUnresponsive, or plugins.ErrUnhealthy if the last
	// check was answered by the node saying it is unhealthy. Default 3,
	// so a stuck plugin is noticed within about
	// (HealthMisses+1) * HealthInterval.
	HealthMisses int
	// StopTimeout bounds how long Run waits for a stopped body to return
	// after its ctx is done before abandoning it. Default 5s.
	StopTimeout time.Duration
	// GoCommand builds source plugins. Default "go".
	GoCommand string
	// Env is added to every plugin process's environment (after the
	// host's own environment).
	Env []string
	// NoParentDeathSignal leaves off the Linux parent-death signal, which
	// has the kernel SIGKILL a plugin process the moment the host dies
	// (or the OS thread that started it exits: a host that launches from
	// a goroutine locked to its thread wants it off). A plugin then still
	// exits within about a second of the host's death once it runs
	// plugins.Serve, which watches a pipe only the host holds.
	NoParentDeathSignal bool
}

// Host starts plugin processes: one per Kinds call (briefly) and one per
// launched node instance. It implements runtime.Launcher. All methods are
// safe for concurrent use.
type Host struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	procs  map[*proc]struct{}       // guarded by mu
	runs   map[*procRunner]struct{} // every process started and not yet killed, starting ones too; guarded by mu
	closed bool                     // guarded by mu

	buildMu sync.Mutex
	built   map[string]string // source dir → executable; guarded by buildMu

	sumMu sync.Mutex
	sums  map[string]fileSum // path → checksum; guarded by sumMu

	descMu sync.Mutex
	descs  map[string]*pluginproto.Description // executable → what Kinds learned; guarded by descMu
}

// New returns a Host. It starts nothing until Kinds or Launch.
func New(o Options) *Host {
	if o.StartTimeout <= 0 {
		o.StartTimeout = 20 * time.Second
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 5 * time.Second
	}
	if o.HealthInterval == 0 {
		o.HealthInterval = time.Second
	}
	if o.HealthMisses <= 0 {
		o.HealthMisses = 3
	}
	if o.GoCommand == "" {
		o.GoCommand = "go"
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Host{opts: o, log: log, procs: map[*proc]struct{}{}, runs: map[*procRunner]struct{}{}, built: map[string]string{}, sums: map[string]fileSum{},
		descs: map[string]*pluginproto.Description{}}
}

// IsChild reports whether this process was started by a topo host as a
// plugin. A test binary that serves itself calls it first in TestMain:
//
//	func TestMain(m *testing.M) {
//		if pluginhost.IsChild() {
//			plugins.Serve(myKinds...)
//			return
//		}
//		os.Exit(m.Run())
//	}
func IsChild() bool { return pluginproto.IsChild() }

// Close kills every plugin process still running. Idempotent.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	procs := make([]*proc, 0, len(h.procs))
	for p := range h.procs {
		procs = append(procs, p)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.kill()
		}()
	}
	wg.Wait()
	return nil
}

// Abort sends SIGKILL to every plugin process group this Host started,
// those still starting included, and returns at once without waiting for
// any of them: for a program about to exit that must not wait (topo's
// second Ctrl-C). Close still reaps them. Safe to call at any time.
func (h *Host) Abort() {
	h.mu.Lock()
	runs := make([]*procRunner, 0, len(h.runs))
	for r := range h.runs {
		runs = append(runs, r)
	}
	h.mu.Unlock()
	for _, r := range runs {
		_ = r.Kill(context.Background())
	}
}

// Kinds starts the plugin once, asks it which kinds it serves, and stops
// it. The kinds have their bare names ("upper") and a nil New. If ctx is
// done while the plugin starts, Kinds kills it and returns an error
// wrapping ctx.Err().
func (h *Host) Kinds(ctx context.Context, p *topology.Plugin, baseDir string) ([]*plugins.Kind, error) {
	if p == nil {
		return nil, errors.New("pluginhost: Kinds needs a plugin")
	}
	label := fmt.Sprintf("plugin %q", p.Name)
	exe, args, err := h.resolve(ctx, p, baseDir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	pr, err := h.start(ctx, exe, args, pluginEnv(p), label, h.log.With("plugin", p.Name))
	if err != nil {
		return nil, err
	}
	defer pr.kill()
	h.descMu.Lock()
	h.descs[exe] = pr.desc
	h.descMu.Unlock()
	kinds, err := kindsFromWire(pr.desc)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): describe: %w", label, exe, err)
	}
	return kinds, nil
}

// CheckKinds starts the plugin once and has it run its kinds' own checks
// (plugins.Kind.Check) on the attributes of each spec (Name, Index, Kind,
// Attrs; Sockets are ignored), then stops it. It returns one error per
// spec: nil, or the problems found as *plugins.AttrError values joined
// with errors.Join. A plugin built before the check existed gives an
// error wrapping ErrCheckUnsupported. Like Kinds, it blocks until the
// plugin answered, failed, or ctx is done. After Kinds described the same
// executable, CheckKinds starts no process for a plugin that predates the
// check, nor when none of the specs' kinds has one.
func (h *Host) CheckKinds(ctx context.Context, p *topology.Plugin, baseDir string, specs []plugins.Spec) ([]error, error) {
	if p == nil {
		return nil, errors.New("pluginhost: CheckKinds needs a plugin")
	}
	label := fmt.Sprintf("plugin %q", p.Name)
	req := &pluginproto.CheckRequest{Configs: make([]pluginproto.CheckConfig, 0, len(specs))}
	for _, s := range specs {
		attrs, err := pluginproto.EncodeValue(s.Attrs)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: attributes: %w", label, s.Name, err)
		}
		req.Configs = append(req.Configs, pluginproto.CheckConfig{Kind: s.Kind, Name: s.Name, Index: s.Index, Attrs: attrs})
	}
	exe, args, err := h.resolve(ctx, p, baseDir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	h.descMu.Lock()
	desc := h.descs[exe]
	h.descMu.Unlock()
	if desc != nil {
		if desc.Revision < 1 {
			return nil, fmt.Errorf("%s (%s): %w", label, exe, ErrCheckUnsupported)
		}
		if !anyChecked(desc, specs) {
			return make([]error, len(specs)), nil
		}
	}
	pr, err := h.start(ctx, exe, args, pluginEnv(p), label, h.log.With("plugin", p.Name))
	if err != nil {
		return nil, err
	}
	defer pr.kill()
	if pr.desc.Revision < 1 {
		return nil, fmt.Errorf("%s (%s): %w", label, exe, ErrCheckUnsupported)
	}
	cctx, cancel := context.WithTimeout(ctx, h.opts.StartTimeout)
	defer cancel()
	reply, err := pr.conn.Check(cctx, req)
	if errors.Is(err, pluginproto.ErrUnsupported) {
		return nil, fmt.Errorf("%s (%s): %w", label, exe, ErrCheckUnsupported)
	}
	if err != nil {
		return nil, fmt.Errorf("%s (%s): check: %w", label, exe, pr.callError(err))
	}
	out := make([]error, len(specs))
	for i, ps := range reply.Problems {
		var errs []error
		for _, p := range ps {
			errs = append(errs, &plugins.AttrError{Attr: p.Attr, Msg: p.Msg})
		}
		out[i] = errors.Join(errs...)
	}
	return out, nil
}

// anyChecked reports whether some spec's kind has a check by d, or is
// one d does not describe (the plugin then says so).
func anyChecked(d *pluginproto.Description, specs []plugins.Spec) bool {
	for _, s := range specs {
		i := slices.IndexFunc(d.Kinds, func(k pluginproto.KindDesc) bool { return k.Name == s.Kind })
		if i < 0 || d.Kinds[i].Check {
			return true
		}
	}
	return false
}

// Launch starts one plugin process for one node instance and returns its
// Actor. p == nil runs Options.Self (isolation = "process"). It blocks
// until the plugin has started and described itself; if ctx is done first,
// it kills the process and returns an error naming the node and wrapping
// ctx.Err(). The process is killed when the Actor is closed, when ctx is
// done, or by Close. While the Actor is open, a goroutine it owns checks the
// plugin's health (Options.HealthInterval); Close stops it.
func (h *Host) Launch(ctx context.Context, p *topology.Plugin, baseDir string, spec plugins.Spec, out io.Writer, log *slog.Logger) (plugins.Actor, error) {
	a, err := h.launch(ctx, p, baseDir, spec, out, log)
	if err != nil {
		return nil, &plugins.NodeError{Node: spec.Name, Op: "launch", Err: err}
	}
	return a, nil
}

// launch is Launch but for the NodeError around its errors.
func (h *Host) launch(ctx context.Context, p *topology.Plugin, baseDir string, spec plugins.Spec, out io.Writer, log *slog.Logger) (plugins.Actor, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		label = "self"
		exe   string
		args  []string
		err   error
	)
	if p != nil {
		label = fmt.Sprintf("plugin %q", p.Name)
		exe, args, err = h.resolve(ctx, p, baseDir)
	} else {
		exe, args, err = h.self()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	wire, err := specToWire(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	pr, err := h.start(ctx, exe, args, pluginEnv(p), label, log)
	if err != nil {
		if p == nil && len(h.opts.Self) == 0 && (errors.Is(err, ErrNotPlugin) || errors.Is(err, ErrHandshakeTimeout)) {
			err = fmt.Errorf("%w\n%s", err, selfHint(exe))
		}
		return nil, err
	}
	if pr.desc.Revision < 2 {
		for _, ss := range spec.Sockets {
			if ss.Curve != nil {
				pr.kill()
				return nil, fmt.Errorf("%s (%s): socket %q uses CURVE, which this plugin (protocol revision %d) would ignore and run in plaintext; rebuild it against this topo (revision %d)",
					label, exe, ss.Name, pr.desc.Revision, pluginproto.ProtocolRevision)
			}
		}
	}
	if !serves(pr.desc, spec.Kind) {
		pr.kill()
		return nil, fmt.Errorf("%s (%s) does not serve kind %q (it serves %s): %w",
			label, exe, spec.Kind, strings.Join(kindNames(pr.desc), ", "), ErrUnknownKind)
	}
	if out == nil {
		out = io.Discard
	}
	a := &actor{h: h, pr: pr, spec: spec, wire: wire, out: out, log: log, healthDone: make(chan struct{})}
	if h.opts.HealthInterval > 0 {
		var hctx context.Context
		hctx, a.stopHealth = context.WithCancel(context.Background())
		go func() {
			defer close(a.healthDone)
			pr.watchHealth(hctx, h.opts.HealthInterval, h.opts.HealthMisses, log)
		}()
	} else {
		close(a.healthDone)
	}
	a.stopWatch = context.AfterFunc(ctx, func() { a.Close() })
	return a, nil
}

// self returns the command line that serves the built-in kinds.
func (h *Host) self() (string, []string, error) {
	if len(h.opts.Self) > 0 {
		return h.opts.Self[0], h.opts.Self[1:], nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("find topo's own executable: %w", err)
	}
	if strings.HasSuffix(exe, ".test") {
		// A `go test` binary has no plugin-serve command: run with it, it
		// would run the whole test suite in the child.
		return "", nil, fmt.Errorf("isolation = \"process\" in a test binary (%s) needs pluginhost.Options.Self: "+
			"set it to os.Args[0] and serve from TestMain when pluginhost.IsChild()", exe)
	}
	return exe, []string{"plugin-serve"}, nil
}

// selfHint says what a program that runs its own kinds with
// isolation = "process" must do when it did not serve.
func selfHint(exe string) string {
	return fmt.Sprintf("isolation = \"process\" runs this program again (%s plugin-serve) to serve the node, "+
		"and it did not serve: a Go program that embeds the topo runtime must call "+
		"`if runtime.ServeIfChild(&reg) { return }` first thing in main, with its registry "+
		"(see `go doc github.com/topo-zmq/topo/runtime.ServeIfChild`)", exe)
}

// pluginEnv is the plugin block's env as KEY=VALUE, sorted; nil for p == nil.
func pluginEnv(p *topology.Plugin) []string {
	if p == nil {
		return nil
	}
	env := make([]string, 0, len(p.Env))
	for _, k := range slices.Sorted(maps.Keys(p.Env)) {
		env = append(env, k+"="+p.Env[k])
	}
	return env
}

func serves(d *pluginproto.Description, kind string) bool {
	for _, k := range d.Kinds {
		if k.Name == kind {
			return true
		}
	}
	return false
}

func kindNames(d *pluginproto.Description) []string {
	names := make([]string, len(d.Kinds))
	for i, k := range d.Kinds {
		names[i] = k.Name
	}
	return names
}

// kindsFromWire decodes a Description into kinds with a nil New
// (plugins.KindFromWire).
func kindsFromWire(d *pluginproto.Description) ([]*plugins.Kind, error) {
	var kinds []*plugins.Kind
	for _, kd := range d.Kinds {
		k, err := plugins.KindFromWire(kd)
		if err != nil {
			return nil, err
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}

// specToWire encodes a Spec for Bind.
func specToWire(s plugins.Spec) (*pluginproto.Spec, error) {
	attrs, err := pluginproto.EncodeValue(s.Attrs)
	if err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	w := &pluginproto.Spec{Name: s.Name, Run: s.Run, Index: s.Index, Kind: s.Kind, Attrs: attrs, Sockets: []pluginproto.SocketSpec{}}
	for _, ss := range s.Sockets {
		w.Sockets = append(w.Sockets, pluginproto.SocketSpec{
			Name: ss.Name, Type: string(ss.Type), Bind: ss.Bind, Subscribe: ss.Subscribe,
			HWM: ss.HWM, Identity: ss.Identity, Expect: ss.Expect, Curve: plugins.CurveToWire(ss.Curve), Peers: ss.Peers,
		})
	}
	return w, nil
}
