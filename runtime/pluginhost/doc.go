// Package pluginhost runs topo node instances in plugin processes. It is
// the host side of topo's plugin system (the plugin side is plugins.Serve;
// the wire protocol is package pluginproto) and implements runtime.Launcher
// structurally (it does not import runtime).
//
// Entry point: New(Options) returns a *Host with these methods:
//
//   - Kinds(ctx, plugin, baseDir) starts the plugin once, asks it to
//     describe its kinds (attributes with cty types and defaults, sockets
//     with allowed types, docs) and stops it. The kinds have their bare
//     names and a nil New: they are for validation and `topo nodes`.
//   - CheckKinds(ctx, plugin, baseDir, specs) starts the plugin once, has
//     it run its kinds' own checks (plugins.Kind.Check) on each spec's
//     attributes and stops it; the problems come back as
//     *plugins.AttrError values (runtime.CheckPluginNodes turns them into
//     located diagnostics). A plugin built before the check existed gives
//     ErrCheckUnsupported. It implements runtime.KindChecker.
//   - Launch(ctx, plugin, baseDir, spec, out, log) starts ONE process for
//     ONE node instance and returns its plugins.Actor. The runtime drives
//     it like an in-process actor (Bind, Connect, Ready, Run, Stats, Close);
//     the plugin opens the instance's ZeroMQ sockets itself, so messages
//     never cross the host, except copies of a tapped socket's messages:
//     the Actor is a plugins.StreamTapper, whose TapStream opens the
//     protocol's Tap stream (revision 3; an older plugin is an error
//     wrapping plugins.ErrTapUnsupported) only while a tap is attached.
//     plugin == nil runs Options.Self, topo serving
//     its own built-in kinds (`topo plugin-serve`), for isolation = "process".
//   - Close kills every process still running.
//   - Abort SIGKILLs every process (group) it started, those still
//     starting too, without waiting: for a program about to exit (topo's
//     second Ctrl-C).
//
// Executables. plugin "x" { command = "./bin/x" } runs that file (relative
// to baseDir, the topology file's directory, made absolute — so "./x" with
// baseDir "." is never looked up in PATH; a bare name is looked up in PATH
// first). plugin "x" { source = "./dir" } builds the Go main package in
// dir with `go build` into Options.CacheDir (default
// os.UserCacheDir()/topo/plugins) as x-<hash>, rebuilding when the hash of
// the toolchain, the module files and every non-module-cache package the
// plugin depends on changes. An optional sha256 pin is checked before the
// file is executed.
//
// Process model and crash recovery. One process per instance, so a crash
// or a kill takes down one node. If the process dies (panic, exit, SIGKILL)
// the Actor call in flight — usually Run — returns an error that names the
// instance and wraps ErrExited, with the exit status, pid and path; the
// runtime's supervisor then closes the Actor and launches a new one per the
// node's restart policy. Closing an Actor shuts the process down through
// go-plugin, kills it after 2 seconds (at most 3 if the plugin does not
// even answer the shutdown call), and returns once it is reaped.
//
// Process groups. Each plugin process leads a process group of its own
// (Setpgid), and every kill — Close, a cancelled start, a failed health
// check, Abort — sends SIGKILL to the whole group; so does the process's
// own exit, the moment it happens (on Linux while the exited process is
// still a zombie, so its pid cannot have been reused). A plugin command
// that is a wrapper script running the plugin without exec thus behaves
// like the plugin itself: killing the plugin kills the wrapper's child, and
// a killed wrapper takes the real plugin with it, so the node fails with
// ErrExited and is restarted. A plugin's stdout and stderr are read for at
// most 0.5 s after its process exited, then closed: a descendant that left
// the group (setsid) and still holds them cannot make the host wait.
// Being in its own group, a plugin does not receive the terminal's Ctrl-C;
// the host stops it.
//
// A clean return. When a node's body returns nil while the host is not
// stopping it, the return counts only if the plugin process is still
// alive: if the process has exited or been killed by then — a wrapper
// that died, a plugin that lost its parent and stopped its node (Run then
// also reports that, from the plugin side), a crash racing the return —
// Run fails with ErrExited instead. For a service node, which is not meant
// to return on its own, the host waits up to 1 s to see whether the
// process exits; a task node's return is judged at once (its process lives
// on until the Actor is closed).
//
// Starting. Launch and Kinds block while the process starts, handshakes
// and describes itself, bounded by Options.StartTimeout
// (ErrHandshakeTimeout). If their ctx is done first, the process and its
// group are killed and reaped, and the error names the node or plugin, the
// pid, and wraps ctx.Err(): a cancelled `topo apply` never waits for a
// plugin stuck in its initialisation, nor for a wrapper script's child.
//
// Self. With plugin == nil, Launch runs Options.Self, by default this
// executable with the argument "plugin-serve": topo's hidden command, or,
// in a program that embeds the runtime, that program again, which serves
// when main starts with runtime.ServeIfChild. If it does not serve, the
// error says to add that call.
//
// Health. While an Actor is open, a goroutine it owns asks the plugin for
// its node's health (pluginproto's Health call) every
// Options.HealthInterval (default 1s), each call bounded by that interval.
// A check fails when it goes unanswered — the process is alive but stopped
// (SIGSTOP), wedged, or too starved to answer — or when the node's own
// Health (plugins.HealthChecker, opt-in) answers with an error or does not
// return in time: a body that is deadlocked while the process still
// answers. After Options.HealthMisses (default 3) failures in a row the
// host kills the process and the call in flight (usually Run) returns an
// error naming the instance and wrapping plugins.ErrUnhealthy ("node
// reported unhealthy", quoting what the node's Health returned) if the
// last check was answered, ErrUnresponsive ("plugin stopped answering
// health checks") if not; the supervisor treats it like any failure. A
// node without the hook, or a plugin built before the Health call existed,
// is healthy while its process answers. A negative HealthInterval turns
// checks off. Close stops the goroutine before it returns.
//
// Host death. A plugin never outlives its host: each process gets the read
// end of a pipe (fd 3, TOPO_PLUGIN_PARENT_FD) whose write end only the host
// holds; when the host dies, however it dies, the kernel closes it and
// plugins.Serve exits the process at once (it also polls its parent pid,
// every 250ms, as a fallback). On Linux the child is additionally started
// with the parent-death signal set to SIGKILL (SysProcAttr.Pdeathsig), so a
// plugin that has not reached plugins.Serve yet — which is when the pipe and
// the pid poll start — dies with its host too. (The kernel sends that
// signal when the thread that started the child exits; Go only ends a
// thread when a goroutine locked to it with runtime.LockOSThread exits, so
// do not call Launch from such a goroutine.) On other operating systems
// there is no parent-death signal: the pipe and the pid poll alone apply, so
// a plugin stuck before plugins.Serve outlives a killed host until it
// reaches Serve (or forever, if it never does); a host that exits normally
// or whose ctx is cancelled kills its plugins itself on every OS. The
// parent-death signal only reaches the process the host started: the child
// of a wrapper script (without exec) that is stuck before plugins.Serve
// outlives a host killed with SIGKILL, as on other systems.
//
// Output and logs. What a node writes to Env.Out is streamed back in Run's
// response and written to Launch's out, in order, before Run returns: the
// user sees plugin node output just like goroutine node output. Env.Log in
// the plugin writes hclog JSON lines to its stderr, which go-plugin parses
// and this package logs to Launch's slog logger (already tagged with the
// node by the runtime). Anything else a plugin prints to stdout or stderr is
// logged at debug level ("plugin stdout"/"plugin stderr"); it never reaches
// the user's output and never disturbs the protocol once plugins.Serve runs.
//
// Errors name the node, the plugin and the path, and wrap a sentinel for
// errors.Is: ErrNotFound (missing binary or source), ErrNotExecutable,
// ErrNotPlugin (exits before the handshake, or prints something else — the
// message quotes it and the plugin's stderr), ErrHandshakeTimeout,
// ErrChecksum, ErrProtocolVersion, ErrUnknownKind, ErrBuild, ErrExited,
// ErrUnresponsive (or plugins.ErrUnhealthy), ErrClosed. A start abandoned
// because ctx was done wraps ctx.Err() (context.Canceled or
// context.DeadlineExceeded) instead. Launch's errors and every error an
// Actor's call returns are a *plugins.NodeError: the one the node or its
// Actor returned in the plugin process, rebuilt from the wire with its
// node, step, text and sentinel (plugins.FromWire), or one saying what
// went wrong with the call (ErrExited, ...).
//
// Testing. A test binary can serve itself: its TestMain calls
// plugins.Serve when IsChild() is true, and the test sets Options.Self (or a
// plugin's command) to the test binary (os.Executable()).
//
// A Host is safe for concurrent use.
package pluginhost
