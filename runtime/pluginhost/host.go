package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	plugin "github.com/hashicorp/go-plugin"

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

	// noParentDeathSignal leaves the Linux parent-death signal off, so
	// tests can show the parent pipe alone ends plugins. Set before use.
	noParentDeathSignal bool
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
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		label = fmt.Sprintf("%s: self", spec.Name)
		exe   string
		args  []string
		err   error
	)
	if p != nil {
		label = fmt.Sprintf("%s: plugin %q", spec.Name, p.Name)
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

// resolve finds (or builds) the plugin's executable and checks it.
func (h *Host) resolve(ctx context.Context, p *topology.Plugin, baseDir string) (string, []string, error) {
	var exe string
	switch {
	case p.Command != "" && p.Source != "":
		return "", nil, errors.New("set either command or source, not both")
	case p.Command != "":
		exe = p.Command
		if !filepath.IsAbs(exe) {
			if !strings.ContainsRune(exe, filepath.Separator) {
				if found, err := exec.LookPath(exe); err == nil {
					exe = found
					break
				}
			}
			// Relative to the topology file's directory, and absolute:
			// Join(".", "./x") is "x", which exec would look up in $PATH.
			exe = filepath.Join(baseDir, exe)
			if abs, err := filepath.Abs(exe); err == nil {
				exe = abs
			}
		}
	case p.Source != "":
		built, err := h.build(ctx, p, baseDir)
		if err != nil {
			return "", nil, err
		}
		exe = built
	default:
		return "", nil, errors.New("no command or source")
	}
	if err := checkExecutable(exe); err != nil {
		return "", nil, err
	}
	if p.SHA256 != "" {
		if err := h.checkSHA256(exe, p.SHA256); err != nil {
			return "", nil, err
		}
	}
	return exe, nil, nil
}

// fileSum is a computed checksum and the file state it was computed for.
type fileSum struct {
	size  int64
	mtime time.Time
	sum   string
}

// checkSHA256 verifies the file's checksum against a pin. The sum is cached
// per path while the file's size and mtime are unchanged, so launching many
// replicas of one plugin hashes it once.
func (h *Host) checkSHA256(path, want string) error {
	want = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(want), "sha256:"))
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	h.sumMu.Lock()
	c, ok := h.sums[path]
	h.sumMu.Unlock()
	got := c.sum
	if !ok || c.size != st.Size() || !c.mtime.Equal(st.ModTime()) {
		if got, err = sha256File(path); err != nil {
			return err
		}
		h.sumMu.Lock()
		h.sums[path] = fileSum{size: st.Size(), mtime: st.ModTime(), sum: got}
		h.sumMu.Unlock()
	}
	if got != want {
		return fmt.Errorf("%s has sha256 %s but the topology pins %s: %w", path, got, want, ErrChecksum)
	}
	return nil
}

func checkExecutable(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: no such file: %w", path, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory: %w", path, ErrNotExecutable)
	}
	if st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s (mode %s; chmod +x it): %w", path, st.Mode().Perm(), ErrNotExecutable)
	}
	return nil
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	hash := sha256.New()
	if _, err := io.Copy(hash, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(hash.Sum(nil)), nil
}

// proc is one running plugin process.
type proc struct {
	h      *Host
	client *plugin.Client
	cmd    *exec.Cmd
	run    *procRunner // starts, reaps and kills cmd's process group
	conn   *pluginproto.Client
	desc   *pluginproto.Description
	exe    string
	parent *os.File // write end of the parent pipe; closing it tells the plugin we are gone
	stderr *tail
	cancel context.CancelFunc // cancels the exec.CommandContext ctx: kills the process

	killOnce sync.Once

	mu        sync.Mutex
	unhealthy error // guarded by mu; set by the health monitor before it kills the process
}

// start starts exe, performs the handshake and Describe, and blocks until
// they are done, they fail, or ctx is done. If ctx is done first, the
// process (started or starting) is killed and reaped before start returns
// an error wrapping ctx.Err(); once start has returned a proc, ctx no
// longer affects it. label prefixes every error ("worker[1]: plugin
// \"text\"").
func (h *Host) start(ctx context.Context, exe string, args, env []string, label string, log *slog.Logger) (*proc, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s (%s): start: %w", label, exe, err)
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", label, ErrClosed)
	}
	h.mu.Unlock()
	if pluginproto.IsChild() {
		// A plugin child that launches plugins is a program that did not
		// serve when started as a plugin (an embedding program running
		// itself for isolation = "process"): refuse instead of recursing.
		return nil, fmt.Errorf("%s: this process was started as a topo plugin (%s is set) and must serve, not launch plugins: "+
			"call `if runtime.ServeIfChild(&reg) { return }` first thing in main (or plugins.Serve when pluginhost.IsChild()), "+
			"or set pluginhost.Options.Self to a program that serves",
			label, pluginproto.MagicCookieKey)
	}

	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	// go-plugin's handshake does not take a ctx: os/exec kills the process
	// when procCtx is cancelled, which the AfterFunc does if ctx is done
	// before start returns. After that, procCtx is cancelled only by kill.
	procCtx, procCancel := context.WithCancel(context.Background())
	stopCtxWatch := context.AfterFunc(ctx, procCancel)
	cmd := exec.CommandContext(procCtx, exe, args...)
	if !h.noParentDeathSignal {
		setParentDeathSignal(cmd)
	}
	cmd.ExtraFiles = []*os.File{r} // fd 3 in the child
	cmd.Env = append(append(os.Environ(), h.opts.Env...), env...)
	level := slog.LevelInfo
	if log.Enabled(context.Background(), slog.LevelDebug) {
		level = slog.LevelDebug
	}
	cmd.Env = append(cmd.Env,
		pluginproto.EnvParentFD+"=3",
		pluginproto.EnvLogLevel+"="+level.String(),
	)
	stderr := &tail{}
	run := newProcRunner(cmd)
	h.mu.Lock()
	h.runs[run] = struct{}{}
	h.mu.Unlock()
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: pluginproto.Handshake(),
		VersionedPlugins: map[int]plugin.PluginSet{
			pluginproto.ProtocolVersion: {pluginproto.PluginName: &pluginproto.GRPCPlugin{}},
		},
		RunnerFunc:       run.runnerFunc,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     h.opts.StartTimeout,
		Logger:           newHCLogger(log),
		Stderr:           stderr,
		SyncStdout:       &lineLogger{log: log, msg: "plugin stdout"},
		SyncStderr:       &lineLogger{log: log, msg: "plugin stderr"},
	})
	pr := &proc{h: h, client: client, cmd: cmd, run: run, exe: exe, parent: w, stderr: stderr, cancel: procCancel}
	// fail kills the process and reports ctx's end in preference to the
	// errors it causes.
	fail := func(err error) (*proc, error) {
		stopCtxWatch()
		pr.kill()
		if ctx.Err() != nil {
			return nil, pr.cancelled(ctx, label)
		}
		return nil, err
	}
	rpc, err := client.Client()
	r.Close() // the child has its copy (or never started)
	if err != nil {
		if ctx.Err() != nil {
			return fail(nil) // skip startError's wait for an exit status
		}
		return fail(pr.startError(label, err))
	}
	raw, err := rpc.Dispense(pluginproto.PluginName)
	if err != nil {
		return fail(fmt.Errorf("%s (%s): %w", label, exe, err))
	}
	pr.conn = raw.(*pluginproto.Client)
	dctx, cancel := context.WithTimeout(ctx, h.opts.StartTimeout)
	defer cancel()
	desc, err := pr.conn.Describe(dctx)
	if err != nil {
		if ctx.Err() != nil {
			return fail(nil)
		}
		return fail(fmt.Errorf("%s (%s): describe: %w", label, exe, pr.callError(err)))
	}
	if desc.Protocol != pluginproto.ProtocolVersion {
		pr.kill()
		return nil, fmt.Errorf("%s (%s): %w: the plugin speaks protocol %d, this topo speaks %d; rebuild the plugin against this topo",
			label, exe, ErrProtocolVersion, desc.Protocol, pluginproto.ProtocolVersion)
	}
	pr.desc = desc
	if !stopCtxWatch() {
		// ctx was done just now: procCancel ran and the process is dying.
		return fail(nil)
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		pr.kill()
		return nil, fmt.Errorf("%s: %w", label, ErrClosed)
	}
	h.procs[pr] = struct{}{}
	h.mu.Unlock()
	log.Debug("plugin started", "path", exe, "pid", desc.Pid)
	return pr, nil
}

var (
	reUnrecognized = regexp.MustCompile(`Unrecognized remote plugin message: ([^\n]*)`)
	reVersion      = regexp.MustCompile(`Plugin version: (\d+)`)
)

// startError turns go-plugin's start errors into topo's.
func (pr *proc) startError(label string, err error) error {
	msg := err.Error()
	where := fmt.Sprintf("%s (%s)", label, pr.exe)
	switch {
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("%s: %w after %s: it started but never completed the topo plugin handshake (does its main call plugins.Serve?)",
			where, ErrHandshakeTimeout, pr.h.opts.StartTimeout)
	case strings.Contains(msg, "Unrecognized remote plugin message"):
		line := ""
		if m := reUnrecognized.FindStringSubmatch(msg); m != nil {
			line = m[1]
		}
		if line == "" {
			return fmt.Errorf("%s: %w: it exited before the topo plugin handshake%s", where, ErrNotPlugin, pr.exitNote())
		}
		return fmt.Errorf("%s: %w: it printed %q instead of the topo plugin handshake", where, ErrNotPlugin, truncate(line, 120))
	case strings.Contains(msg, "plugin exited before we could connect"):
		return fmt.Errorf("%s: %w: it exited before the topo plugin handshake%s", where, ErrNotPlugin, pr.exitNote())
	case strings.Contains(msg, "incompatible API version"):
		v := "another"
		if m := reVersion.FindStringSubmatch(msg); m != nil {
			v = m[1]
		}
		return fmt.Errorf("%s: %w: the plugin speaks protocol %s, this topo speaks %d; rebuild the plugin against this topo",
			where, ErrProtocolVersion, v, pluginproto.ProtocolVersion)
	case strings.Contains(msg, "incompatible core API version"), strings.Contains(msg, "unsupported plugin protocol"):
		return fmt.Errorf("%s: %w: %s", where, ErrNotPlugin, firstLine(msg))
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%s: %w: %v", where, ErrNotExecutable, err)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s: %w: %v", where, ErrNotFound, err)
	}
	return fmt.Errorf("%s: start: %w", where, err)
}

// exitNote describes how the process ended and what it said on stderr.
func (pr *proc) exitNote() string {
	var parts []string
	if st := pr.exitStatus(time.Second); st != "" {
		parts = append(parts, st)
	}
	if s := pr.stderr.String(); s != "" {
		parts = append(parts, "stderr: "+truncate(s, 400))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// exitStatus waits up to wait for the process to be reaped and returns its
// status ("exit status 1", "signal: killed"), or "" if it is still running.
func (pr *proc) exitStatus(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for !pr.client.Exited() {
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Exited is set under go-plugin's lock after Wait returned, so the
	// ProcessState write happened before this read.
	if ps := pr.cmd.ProcessState; ps != nil {
		return ps.String()
	}
	return "exited"
}

// cancelled is start's error when its ctx ended first; kill has run, so
// the process (if one was started) is dead and reaped.
func (pr *proc) cancelled(ctx context.Context, label string) error {
	what := "no plugin process was started"
	if pr.cmd.Process != nil { // set by cmd.Start, which returned before client.Client did
		what = fmt.Sprintf("plugin process pid %d killed", pr.cmd.Process.Pid)
	}
	return fmt.Errorf("%s (%s): start abandoned, %s: %w", label, pr.exe, what, ctx.Err())
}

// callError turns a failed call into the health monitor's error when it
// killed the process, and into ErrExited when the process is gone.
func (pr *proc) callError(err error) error {
	if herr := pr.healthError(); herr != nil {
		return herr
	}
	if st := pr.exitStatus(2 * time.Second); st != "" {
		note := ""
		if s := pr.stderr.String(); s != "" {
			note = "; stderr: " + truncate(s, 400)
		}
		return fmt.Errorf("%w (%s; pid %d, %s%s)", ErrExited, st, pr.pid(), pr.exe, note)
	}
	return err
}

// healthError is the health monitor's verdict: nil while the process
// answers.
func (pr *proc) healthError() error {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.unhealthy
}

// watchHealth asks the plugin for its node's health (pluginproto's Health
// call) every interval, each call bounded by interval, and blocks until ctx
// is done or the verdict is in. A check fails when the call goes unanswered
// (the process is stopped, wedged or starved) or when the answer is the
// node's own "unhealthy" (plugins.HealthChecker); a plugin without the call
// or without the hook answers healthy while it answers at all. After misses
// failed checks in a row it records the verdict — wrapping
// plugins.ErrUnhealthy with the node's words if the last check was answered,
// ErrUnresponsive if it was not — and kills the process, so the call in
// flight fails with that error. A process that exited on its own ends the
// watch without a verdict (calls report ErrExited).
func (pr *proc) watchHealth(ctx context.Context, interval time.Duration, misses int, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, interval)
		st, err := pr.conn.Health(cctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil && st.Error == "":
			failed = 0
			continue
		case err != nil && pr.client.Exited():
			return
		}
		failed++
		if err == nil {
			log.Debug("plugin node reported unhealthy", "pid", pr.pid(), "failed", failed, "health", st.Error)
		} else {
			log.Debug("plugin health check failed", "pid", pr.pid(), "failed", failed, "error", err)
		}
		if failed < misses {
			continue
		}
		verdict := fmt.Errorf("%w: %d checks in a row failed (every %s; last: %v)", ErrUnresponsive, failed, interval, err)
		if err == nil {
			verdict = fmt.Errorf("%w: %d checks in a row failed (every %s; last: %s)", plugins.ErrUnhealthy, failed, interval, st.Error)
		}
		pr.mu.Lock()
		pr.unhealthy = fmt.Errorf("%w; killed pid %d, %s", verdict, pr.pid(), pr.exe)
		pr.mu.Unlock()
		log.Warn("plugin failed its health checks; killing it", "pid", pr.pid(), "path", pr.exe, "failed", failed, "last", verdict)
		pr.cancel() // os/exec SIGKILLs the process
		return
	}
}

func (pr *proc) pid() int {
	if pr.desc != nil {
		return pr.desc.Pid
	}
	return 0
}

// killGrace bounds kill's graceful shutdown: go-plugin's own shutdown call
// has no deadline, so a plugin that is stopped (SIGSTOP) or wedged would
// block it forever.
const killGrace = 3 * time.Second

// kill ends the process (gracefully through go-plugin, then SIGKILL after
// 2s, or after killGrace if go-plugin's shutdown call hangs), SIGKILLs
// what is left of its process group, waits for it to be reaped (and its
// pipes, at most pipeGrace longer), and forgets it. Idempotent; blocks
// until the process is gone.
func (pr *proc) kill() {
	pr.killOnce.Do(func() {
		backstop := time.AfterFunc(killGrace, pr.cancel)
		pr.client.Kill()
		backstop.Stop()
		pr.cancel()
		// The group too: go-plugin's graceful exit ends the plugin, not
		// what the plugin (a wrapper script) may have started.
		_ = pr.run.Kill(context.Background())
		if pr.run.started() {
			<-pr.run.done // bounded: pipeGrace after the exit
		}
		// Only now: closing it first would make the plugin exit on its own
		// (status 3, "host went away") instead of shutting down cleanly.
		pr.parent.Close()
		pr.h.mu.Lock()
		delete(pr.h.procs, pr)
		delete(pr.h.runs, pr.run)
		pr.h.mu.Unlock()
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
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
			HWM: ss.HWM, Identity: ss.Identity, Expect: ss.Expect,
		})
	}
	return w, nil
}
