package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/topo-zmq/topo/internal/health"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/pluginproto"
)

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
	if !h.opts.NoParentDeathSignal {
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
	f := health.Watcher{Interval: interval, Misses: misses, Check: func(ctx context.Context) error {
		st, err := pr.conn.Health(ctx)
		switch {
		case err == nil && st.Error == "":
			return nil
		case err != nil && pr.client.Exited():
			return health.ErrGone
		case err == nil:
			return nodeSaid(st.Error)
		}
		return err
	}, Missed: func(failed int, err error) {
		if ns, ok := err.(nodeSaid); ok {
			log.Debug("plugin node reported unhealthy", "pid", pr.pid(), "failed", failed, "health", string(ns))
		} else {
			log.Debug("plugin health check failed", "pid", pr.pid(), "failed", failed, "error", err)
		}
	}}.Watch(ctx)
	if f == nil {
		return
	}
	verdict := f.Verdict(ErrUnresponsive)
	if _, ok := f.Last.(nodeSaid); ok {
		verdict = f.Verdict(plugins.ErrUnhealthy)
	}
	pr.mu.Lock()
	pr.unhealthy = fmt.Errorf("%w; killed pid %d, %s", verdict, pr.pid(), pr.exe)
	pr.mu.Unlock()
	log.Warn("plugin failed its health checks; killing it", "pid", pr.pid(), "path", pr.exe, "failed", f.Failed, "last", verdict)
	pr.cancel() // os/exec SIGKILLs the process
}

// nodeSaid is a health check the plugin answered: its node's own words
// on what is wrong (plugins.HealthChecker).
type nodeSaid string

func (s nodeSaid) Error() string { return string(s) }

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
