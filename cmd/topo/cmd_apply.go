package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/pluginhost"
)

const applyHelp = `Usage: topo apply [options] FILE

  Runs the topology in FILE in the foreground until every task node has
  finished (then the services are stopped) or until interrupted (Ctrl-C or
  SIGTERM stops every node and exits 0, also while nodes are still starting;
  a second Ctrl-C forces the exit). Ctrl-C while plugins are still starting
  kills them, with their process groups, at once.

  Node output goes to stdout, one line at a time, prefixed with the
  instance name: "worker[2] | ...". The runtime's log goes to stderr.
  Each stream is checked on its own: when stderr (or else stdout) is a
  terminal, a live status line there sums up the run (nodes up, finished
  and not running, restarts, messages per second in and out, drops, time
  sends waited at a high-water mark) before it lists the busiest nodes
  with their drops and blocked time, and the log shows warnings and
  errors only; otherwise the log has every info line, with a status line
  every 5s. A summary per node ends the run (stderr): state, restarts,
  messages, drops and blocked time when there are some, and which nodes
  were restarted and how many messages they held.

  -http ADDRESS serves Prometheus /metrics, /healthz, /readyz and
  /v1/status while the topology runs (topo top reads it); -http-tap adds
  /v1/tap (topo tap reads it), which shows message contents.

  -log-format json makes stderr one JSON object per line and nothing
  else: diagnostics, log lines, status records with numeric rates, and a
  last "summary" record with one object per node.

  Many machines: when FILE declares host blocks, each machine runs its
  share with -host NAME (the instances placed on NAME; their peers on
  other hosts are reached at the host addresses, which -host-address
  NAME=ADDR overrides), and -host is required. -host all runs every host
  in this one process, each on its own loopback address (127.0.0.2,
  127.0.0.3, ... in declaration order; a host's tcp binds use it), to try
  a distributed file on one machine. The hosts may start in any order: a
  node's body starts once the peers the file wires it to are connected
  right now, whichever hosts they run on (an outside client does not
  count, nor a peer that left, except on a socket that only receives),
  and with hosts -ready-timeout defaults to 0, which waits without bound
  and logs every 10s which sockets are still short of which peers, and
  the host each should come from. A host's run ends when its own task
  nodes have finished (its services then stop); a host with only
  services runs until stopped. The summary names the host.

  Exit status: 0 when the topology completed or was interrupted cleanly,
  1 when the file is invalid or a node failed, 130 when nodes failed to stop
  after an interruption.

Options:
`

// runApply implements `topo apply`.
func runApply(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "apply", applyHelp)
	vars := addVarFlags(fs)
	noColor := fs.Bool("no-color", false, "do not colour the output")
	logFormat := fs.String("log-format", "text", "log line format on stderr: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error (on a terminal with a status line, the default shows warn and up)")
	readyTimeout := fs.Duration("ready-timeout", 0, "how long a node waits for its expected peers before starting anyway; 0 waits without bound (default 10s, or 0 when FILE declares hosts)")
	host := fs.String("host", "", "run the instances placed on this host of FILE (required when FILE declares hosts); \"all\" runs every host here, each on its own loopback address")
	hostAddrs := map[string]string{}
	fs.Var(hostAddrFlag(hostAddrs), "host-address", "reach host NAME at ADDR instead of the address in FILE: -host-address NAME=ADDR (repeatable)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 5*time.Second, "how long stopping the topology may take")
	httpAddr := fs.String("http", "", "serve /metrics, /healthz, /readyz and /v1/status on this address while the topology runs (e.g. 127.0.0.1:9464; port 0 picks one, logged as \"http listening\"); off when empty")
	httpTap := fs.Bool("http-tap", false, "with -http, also serve /v1/tap (for topo tap), which shows the contents of the messages flowing through a socket")
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
	levelSet, readySet := false, false
	fs.Visit(func(f *flag.Flag) {
		levelSet = levelSet || f.Name == "log-level"
		readySet = readySet || f.Name == "ready-timeout"
	})
	// runtime.Options.ReadyTimeout: 0 is its default (10s, none with
	// hosts), negative no bound.
	rt0 := time.Duration(0)
	if readySet {
		rt0 = *readyTimeout
		if rt0 <= 0 {
			rt0 = -1
		}
	}
	if *logFormat != "text" && *logFormat != "json" {
		fmt.Fprintf(c.stderr, "topo apply: -log-format must be text or json, not %q\n", *logFormat)
		return 1
	}
	asJSON := *logFormat == "json"
	color := c.errTTY && !*noColor // everything but node lines goes to stderr

	reg, err := builtinRegistry()
	if err != nil {
		fmt.Fprintf(c.stderr, "topo apply: %v\n", err)
		return 1
	}

	// Output, decided per stream. The live status line goes to stderr if it
	// is a terminal, else to stdout if that is one, never with a JSON log.
	// Lines bound for the status line's terminal pass through the live
	// view, which keeps the status line below them.
	var live *liveView
	stdout, logOut := c.stdout, c.stderr
	if !asJSON {
		switch {
		case c.errTTY:
			live = newLiveView(c.stderr)
		case c.isTTY:
			live = newLiveView(c.stdout)
		}
	}
	if live != nil {
		if c.isTTY {
			stdout = live.lines(c.stdout)
		}
		if c.errTTY {
			logOut = live.lines(c.stderr)
			if !levelSet {
				level = slog.LevelWarn // the status line says what info logs would
			}
		}
	}
	hopts := &slog.HandlerOptions{Level: level}
	var logger *slog.Logger
	if asJSON {
		logger = slog.New(slog.NewJSONHandler(logOut, hopts))
	} else {
		logger = slog.New(slog.NewTextHandler(logOut, hopts))
	}
	fail := func(err error) { // the error that ends a run, once
		if asJSON {
			logger.Error("apply failed", "err", err.Error())
			return
		}
		fmt.Fprintf(c.stderr, "%s %v\n", paint(color, red, "Error:"), err)
	}
	diags := func(d *runtime.DiagnosticsError) {
		if asJSON {
			logDiagnostics(logger, d)
			return
		}
		width := uint(0)
		if c.errTTY {
			width = 100
		}
		renderDiags(c.stderr, d.Files, d.Diagnostics, color, width)
	}

	// Signals, from loading on: the first cancels in.ctx, which stops
	// loading plugins (those still starting are killed at once), starting
	// nodes or running them, whichever is under way (an interruption is not
	// a failure); the second closes in.forced: exit 130 now, killing every
	// plugin process group without waiting.
	in := watchInterrupts(ctx, c.signals, func(sig os.Signal) {
		logger.Warn("interrupted, stopping every node (again to force)", "signal", fmt.Sprint(sig))
	})
	defer in.stop()
	ctx = in.ctx
	launcher := pluginhost.New(pluginhost.Options{Logger: logger})
	forced := false
	defer func() {
		if !forced {
			launcher.Close()
		}
	}()
	// wait runs f until it returns or a second signal forces the exit.
	wait := func(f func() error) (err error, ok bool) {
		done := make(chan error, 1)
		go func() { done <- f() }() // abandoned only by a forced exit
		select {
		case err = <-done:
			return err, true
		case <-in.forced:
			forced = true
			launcher.Abort()
			return nil, false
		}
	}
	forcedExit := func(st []runtime.NodeStatus) int {
		live.clear()
		if asJSON {
			logger.Error("forced exit: nodes did not stop")
		} else {
			fmt.Fprintln(c.stderr, "topo: forced exit: nodes did not stop")
		}
		if st != nil {
			if *host != "" && !asJSON {
				fmt.Fprintf(c.stderr, "\nhost %s of %s:", *host, path)
			}
			writeSummary(c.stderr, logger, asJSON, st, color)
		}
		return 130
	}

	if *httpTap && *httpAddr == "" {
		fail(errors.New("-http-tap needs -http ADDRESS"))
		return 1
	}
	hs, err := listenHTTP(*httpAddr, *httpTap, logger)
	if err != nil {
		fail(fmt.Errorf("-http: %w", err))
		return 1
	}
	defer hs.close()

	var environ []string
	if c.environ != nil {
		environ = c.environ()
	}
	opts := runtime.Options{
		Registry: reg, Launcher: launcher, BaseDir: dirOf(path),
		VarArgs: *vars, Environ: environ,
		OnWarnings: diags,
		Stdout:     stdout, Logger: logger,
		ReadyTimeout: rt0, ShutdownTimeout: *shutdownTimeout,
		Host: *host, HostAddresses: hostAddrs,
		Registerer: hs.registerer(),
	}
	opts.OnEvent = func(ev runtime.Event) { logEvent(logger, ev) }
	var n int
	opts.OnStats = func(st []runtime.NodeStatus) {
		if live != nil {
			live.update(st)
		}
		if live == nil || !c.errTTY { // the log is not on the terminal: it gets status lines
			if n++; n%5 == 0 { // every 5 stats intervals
				logStatus(logger, st)
			}
		}
	}
	var rt *runtime.Runtime
	err, ok := wait(func() (err error) {
		rt, err = runtime.LoadFile(ctx, path, opts)
		return err
	})
	if !ok {
		return forcedExit(nil)
	}
	if err != nil {
		if in.interrupted() != nil { // interrupted while starting plugins
			if asJSON {
				logger.Info("interrupted while starting plugins; nothing ran")
			} else {
				fmt.Fprintln(c.stderr, "topo: interrupted while starting plugins; nothing ran")
			}
			return 0
		}
		var d *runtime.DiagnosticsError
		var he *runtime.HostError
		if errors.As(err, &d) {
			diags(d)
		} else if errors.As(err, &he) {
			fail(hostErr(path, he))
		} else {
			fail(err)
		}
		return 1
	}
	if hosts := rt.Topology().Hosts; len(hosts) > 0 && *host == "" {
		he := &runtime.HostError{}
		for _, h := range hosts {
			he.Hosts = append(he.Hosts, h.Name)
		}
		fail(hostErr(path, he))
		return 1
	}
	hs.serve(rt)
	runErr, ok := wait(func() error { return rt.Run(ctx) })
	if !ok {
		return forcedExit(rt.Status())
	}
	live.clear()
	if h := rt.Host(); h != "" && !asJSON {
		fmt.Fprintf(c.stderr, "\nhost %s of %s:", h, path)
	} else if h != "" {
		logger = logger.With("host", h)
	}
	writeSummary(c.stderr, logger, asJSON, rt.Status(), color)
	if runErr != nil {
		fail(runErr)
		if in.interrupted() != nil && errors.Is(runErr, runtime.ErrShutdownTimeout) {
			return 130
		}
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

// hostErr says what -host a user must give for FILE.
func hostErr(path string, he *runtime.HostError) error {
	switch {
	case len(he.Hosts) == 0:
		return fmt.Errorf("-host %s: %s declares no host blocks; run it without -host", he.Host, path)
	case he.Host == "":
		return fmt.Errorf("%s declares hosts %s: give -host NAME for the one this machine runs, or -host all to run every host here", path, strings.Join(he.Hosts, ", "))
	}
	return fmt.Errorf("-host %s: %s declares no such host (hosts: %s; -host all runs every one)", he.Host, path, strings.Join(he.Hosts, ", "))
}

// hostAddrFlag is the repeatable -host-address NAME=ADDR.
type hostAddrFlag map[string]string

func (f hostAddrFlag) String() string { return "" }

func (f hostAddrFlag) Set(s string) error {
	name, addr, ok := strings.Cut(s, "=")
	if !ok || name == "" || addr == "" {
		return fmt.Errorf("want NAME=ADDR, like -host-address sink=10.0.0.3, not %q", s)
	}
	f[name] = addr
	return nil
}
