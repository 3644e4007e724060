package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/pluginhost"
	"github.com/topo-zmq/topo/topology"
)

const applyHelp = `Usage: topo apply [options] FILE

  Runs the topology in FILE in the foreground until every task node has
  finished (then the services are stopped) or until interrupted (Ctrl-C or
  SIGTERM stops every node and exits 0; a second Ctrl-C forces the exit).
  Ctrl-C while plugins are still starting kills them, with their process
  groups, at once.

  Node output goes to stdout, one line at a time, prefixed with the
  instance name: "worker[2] | ...". On a terminal a live status line shows
  nodes up, restarts and messages per second; otherwise the runtime logs
  structured lines on stderr. A summary per node ends the run (stderr).

  Exit status: 0 when the topology completed or was interrupted cleanly,
  1 when the file is invalid or a node failed, 130 when nodes failed to stop
  after an interruption.

Options:
`

// runApply implements `topo apply`.
func runApply(ctx context.Context, c *cli, args []string) int {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprint(c.stderr, applyHelp)
		fs.PrintDefaults()
	}
	vars := addVarFlags(fs)
	noColor := fs.Bool("no-color", false, "do not colour the output")
	logFormat := fs.String("log-format", "text", "log line format on stderr: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	readyTimeout := fs.Duration("ready-timeout", 10*time.Second, "how long a node waits for its expected peers before starting anyway")
	shutdownTimeout := fs.Duration("shutdown-timeout", 5*time.Second, "how long stopping the topology may take")
	if err := parseInterspersed(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(c.stderr, "topo apply: want exactly one FILE")
		fs.Usage()
		return 1
	}
	path := fs.Arg(0)
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(c.stderr, "topo apply: -log-level: %v\n", err)
		return 1
	}
	if *logFormat != "text" && *logFormat != "json" {
		fmt.Fprintf(c.stderr, "topo apply: -log-format must be text or json, not %q\n", *logFormat)
		return 1
	}
	color := c.isTTY && !*noColor

	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		fmt.Fprintf(c.stderr, "topo apply: %v\n", err)
		return 1
	}
	// Output: on a terminal, node lines, log lines and the status line share
	// stdout through the live view; otherwise node lines go to stdout and
	// logs to stderr.
	var live *liveView
	stdout, logOut := c.stdout, c.stderr
	if c.isTTY {
		live = &liveView{w: c.stdout, width: termWidth(c.stdout)}
		stdout, logOut = live, live
		if level < slog.LevelWarn && *logLevel == "info" {
			level = slog.LevelWarn // the status line says what info logs would
		}
	}
	hopts := &slog.HandlerOptions{Level: level}
	var logger *slog.Logger
	if *logFormat == "json" {
		logger = slog.New(slog.NewJSONHandler(logOut, hopts))
	} else {
		logger = slog.New(slog.NewTextHandler(logOut, hopts))
	}

	// Signals, from loading on: the first cancels in.ctx (plugins still
	// starting are killed at once, running nodes are stopped), the second
	// closes in.forced (exit 130 now, killing every plugin process group
	// without waiting).
	in := watchInterrupts(ctx, c.signals, func(sig os.Signal) {
		logger.Warn("interrupted, stopping every node (again to force)", "signal", fmt.Sprint(sig))
	})
	defer in.stop()
	launcher := pluginhost.New(pluginhost.Options{Logger: logger})
	forced := false
	defer func() {
		if !forced {
			launcher.Close()
		}
	}()

	var environ []string
	if c.environ != nil {
		environ = c.environ()
	}
	type loaded struct {
		topo *topology.Topology
		err  error
	}
	loadDone := make(chan loaded, 1)
	go func() { // owned: waited for below, except after a forced exit
		t, err := runtime.LoadFile(path, runtime.LoadOptions{
			Registry: &reg, Vars: *vars, Environ: environ, Launcher: launcher, Context: in.ctx,
			OnWarnings: func(d *runtime.DiagnosticsError) { writeDiagnostics(c, d, color) },
		})
		loadDone <- loaded{t, err}
	}()
	var topo *topology.Topology
	var err error
	select {
	case l := <-loadDone:
		topo, err = l.topo, l.err
	case <-in.forced:
		forced = true
		launcher.Abort()
		fmt.Fprintln(c.stderr, "topo: forced exit while starting plugins")
		return 130
	}
	if in.interrupted() != nil {
		fmt.Fprintln(c.stderr, "topo: interrupted while starting plugins; nothing ran")
		return 0
	}
	if err != nil {
		var d *runtime.DiagnosticsError
		if errors.As(err, &d) {
			writeDiagnostics(c, d, color)
		} else {
			fmt.Fprintf(c.stderr, "Error: %v\n", err)
		}
		return 1
	}

	opts := runtime.Options{
		Registry: &reg, Launcher: launcher, BaseDir: dirOf(path),
		Stdout: stdout, Logger: logger,
		ReadyTimeout: *readyTimeout, ShutdownTimeout: *shutdownTimeout,
	}
	opts.OnEvent = func(ev runtime.Event) { logEvent(logger, ev) }
	if live != nil {
		opts.OnStats = live.update
	} else {
		var n int
		opts.OnStats = func(st []runtime.NodeStatus) {
			if n++; n%5 == 0 { // every 5 stats intervals
				logStatus(logger, st)
			}
		}
	}
	rt := runtime.New(topo, opts)

	done := make(chan error, 1)
	go func() { done <- rt.Run(in.ctx) }()
	var runErr error
	select {
	case runErr = <-done:
	case <-in.forced:
		forced = true
		launcher.Abort()
		live.clear()
		fmt.Fprintln(c.stderr, "topo: forced exit: nodes did not stop")
		writeSummary(c.stderr, rt.Status(), color)
		return 130
	}
	interrupted := in.interrupted() != nil
	live.clear()
	writeSummary(c.stderr, rt.Status(), color)
	if runErr != nil {
		if interrupted && errors.Is(runErr, runtime.ErrShutdownTimeout) {
			fmt.Fprintf(c.stderr, "%s %v\n", paint(color, red, "Error:"), runErr)
			return 130
		}
		fmt.Fprintf(c.stderr, "%s %v\n", paint(color, red, "Error:"), runErr)
		return 1
	}
	return 0
}

func dirOf(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// writeDiagnostics renders an invalid (or warned-about) file on stderr,
// the way `topo validate` does.
func writeDiagnostics(c *cli, d *runtime.DiagnosticsError, color bool) {
	renderDiags(c.stderr, d.Files, d.Diagnostics, color, diagWidth(c))
}

func logEvent(l *slog.Logger, ev runtime.Event) {
	attrs := []any{"node", ev.Instance}
	switch ev.Kind {
	case runtime.EventFailed:
		l.Error("node failed", append(attrs, "err", ev.Err, "restarts", ev.Restarts)...)
	case runtime.EventRestarting:
		l.Warn("node restarting", append(attrs, "in", ev.Delay, "restarts", ev.Restarts)...)
	case runtime.EventReady:
		if len(ev.Waiting) > 0 {
			l.Warn("node starting before its expected peers", append(attrs, "waiting", strings.Join(ev.Waiting, "; "))...)
			return
		}
		l.Debug("node ready", attrs...)
	case runtime.EventStarting:
		l.Debug("node starting", attrs...)
	default:
		l.Info("node "+string(ev.Kind), attrs...)
	}
}

func logStatus(l *slog.Logger, st []runtime.NodeStatus) {
	up, restarts := 0, 0
	var rates []string
	for _, s := range st {
		if s.State == runtime.StateRunning {
			up++
		}
		restarts += s.Restarts
		if r := s.RateIn + s.RateOut; r > 0 {
			rates = append(rates, fmt.Sprintf("%s=%s/s", s.Name, humanRate(r)))
		}
	}
	l.Info("status", "up", fmt.Sprintf("%d/%d", up, len(st)), "restarts", restarts, "rates", strings.Join(rates, " "))
}

func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.0fk", r/1e3)
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

// writeSummary prints one line per instance: state, restarts, messages.
func writeSummary(w io.Writer, st []runtime.NodeStatus, color bool) {
	width := len("NODE")
	for _, s := range st {
		width = max(width, len(s.Name))
	}
	fmt.Fprintf(w, "\n%-*s  %-10s  %8s  %10s  %10s\n", width, "NODE", "STATE", "RESTARTS", "MSGS IN", "MSGS OUT")
	for _, s := range st {
		state := fmt.Sprintf("%-10s", s.State)
		switch s.State {
		case runtime.StateFailed:
			state = paint(color, red, state)
		case runtime.StateFinished:
			state = paint(color, green, state)
		}
		fmt.Fprintf(w, "%-*s  %s  %8d  %10d  %10d\n", width, s.Name, state, s.Restarts, s.MsgsIn, s.MsgsOut)
	}
}

const (
	red   = "31"
	green = "32"
)

func paint(on bool, code, s string) string {
	if !on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			return cols
		}
	}
	return 100
}

// liveView owns a terminal: whole lines written to it appear above a
// single status line that update redraws. Safe for concurrent use; a nil
// *liveView ignores clear.
type liveView struct {
	mu     sync.Mutex
	w      io.Writer
	width  int
	status string
	buf    []byte
}

// Write prints complete lines above the status line.
func (v *liveView) Write(b []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.buf = append(v.buf, b...)
	i := strings.LastIndexByte(string(v.buf), '\n')
	if i < 0 {
		return len(b), nil
	}
	out := "\r\x1b[K" + string(v.buf[:i+1]) + v.status
	v.buf = append(v.buf[:0], v.buf[i+1:]...)
	_, err := io.WriteString(v.w, out)
	return len(b), err
}

// update redraws the status line from a snapshot.
func (v *liveView) update(st []runtime.NodeStatus) {
	up, restarts := 0, 0
	var parts []string
	for _, s := range st {
		if s.State == runtime.StateRunning {
			up++
		}
		restarts += s.Restarts
		if r := s.RateIn + s.RateOut; r > 0 {
			parts = append(parts, fmt.Sprintf("%s %s/s", s.Name, humanRate(r)))
		}
	}
	line := fmt.Sprintf("topo: %d/%d up, %d restarts", up, len(st), restarts)
	if len(parts) > 0 {
		line += " | " + strings.Join(parts, ", ")
	}
	if r := []rune(line); len(r) > v.width-1 {
		line = string(r[:v.width-2]) + "…"
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.status = line
	_, _ = io.WriteString(v.w, "\r\x1b[K"+line)
}

// clear removes the status line.
func (v *liveView) clear() {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.status != "" {
		_, _ = io.WriteString(v.w, "\r\x1b[K")
		v.status = ""
	}
}
