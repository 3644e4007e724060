// Package runtime turns a validated topology into running, supervised node
// instances.
//
// The entry points are [LoadFile] and [Load], the embedding front door:
// they evaluate an HCL topology (with variables) against a
// plugins.Registry and return a [Runtime] ready to run it, or a
// [*DiagnosticsError] that renders with file, line and snippet; [New] makes
// a Runtime for a *topology.Topology built some other way; [Runtime.Run]
// runs it. One [Options] value serves loading and running, so the registry
// is given once. An embedding program builds its own registry
// (builtin.Register plus its own kinds), loads, and runs:
//
//	rt, err := runtime.LoadFile(ctx, "app.hcl", runtime.Options{
//		Registry: &reg,
//		Vars:     map[string]any{"workers": 8},
//		Stdout:   os.Stdout,
//	})
//	if err != nil { return err }
//	err = rt.Run(ctx)
//
// Loading runs every node's kind check (plugins.Kind.Check) too, so values
// a kind would reject at start fail the load at the attribute's line; a
// plugin's kinds are checked in a process of the plugin ([CheckPluginNodes]).
// The diagnostics come in file order, a plugin that cannot start with what
// the rest of the file has ([PluginStartFailure] marks it).
// [Options].SkipPlugins validates without starting plugins, and
// [Runtime.Schemas] tells what validation knew of the kinds: the topo
// CLI's validate, plan and graph load with this same loader.
//
// A node with isolation = "process" runs in a subprocess: the default
// Launcher starts the program's own executable again. Such a program calls
// [ServeIfChild] with its registry first thing in main, so that the
// subprocess serves the node instead of running main:
//
//	if runtime.ServeIfChild(&reg) {
//		return
//	}
//
// Without the call the node fails with an error that says to add it.
//
// # Start-up
//
// Run creates one plugins.Actor per instance — plugins.NewActor for
// registered kinds, the [Launcher] (runtime/pluginhost) for plugin kinds and
// isolation = "process" — and drives them in phases: every actor binds,
// in the topology's start order (ephemeral ports such as tcp://127.0.0.1:0
// are read back); every actor connects, in the same order, as soon as it
// and every instance it connects to have bound (while the instances after
// it bind), references node.NAME.SOCKET re-resolved to the endpoints
// actually bound (a wildcard host becomes 127.0.0.1); and each node's
// body starts as soon as its own sockets have the peers the topology
// expects (Options.ReadyTimeout bounds the wait; after it the body starts
// anyway and a warning names the sockets still short, whose peers may be
// external). depends_on additionally waits for the named nodes' bodies.
//
// Expected peers come from topology.Edges: every edge is one connection and
// counts once on each of its two sockets (sink.in with a ventilator and 4
// workers expects 5). On PUB and XPUB sockets only subscribing peers count —
// SUB and XSUB peers — and the socket layer waits for their subscriptions,
// so a publisher never starts before its in-topology subscribers listen.
//
// # Many hosts
//
// A topology that declares hosts runs one host per process:
// Options.Host selects the instances placed on it (topology.AllHosts runs
// them all, each host on its own loopback address), references to
// instances of other hosts are dialled at their host's address, and the
// run ends when the selected task nodes finish. Readiness then names its
// peers (plugins.SocketSpec.Peers): a socket is wired when each distinct
// expected peer is connected right now, announcing a run of the same
// topology (RunID is TopologyID/HOST for every host of one file), so the
// hosts may start in any order, minutes apart: ReadyTimeout defaults to no
// bound, and a waiting node logs every ReadyReport who is still missing
// and from which host.
//
// # Supervision and lifecycle
//
// Each instance is supervised on its own goroutine. restart = "on-failure"
// (the default) restarts a node whose body (or start-up) fails or panics;
// "always" also restarts one that returned nil; "never" leaves it down.
// Start-up is covered: a node whose Bind fails (an address in use:
// a plugins.NodeError with Op "bind" around a plugins.BindError wrapping
// socket.ErrAddrInUse, with a hint about the port or the ipc socket file,
// for goroutine and process nodes alike) is retried by its supervisor with the same
// backoff while the rest of the topology starts, its peers connecting to
// the endpoints it declares; with "never", or with an ephemeral
// tcp://…:0 bind whose port its peers must learn, Run fails at once. A
// node whose actor cannot be created (its configuration, a plugin that
// cannot be found or started) fails at once too.
// Restarts back off exponentially (Options.BackoffInitial doubling to
// BackoffMax); more than MaxRestarts within IntensityWindow fails the whole
// topology with [ErrRestartLimit] naming the node. A failure never touches
// sibling nodes: a restarted node gets a fresh actor that binds the same
// endpoints its predecessor actually bound, and peers reconnect by
// themselves.
//
// Health. A node that implements plugins.HealthChecker is asked every
// Options.HealthInterval while its body runs; after Options.HealthMisses
// failures in a row it fails with an error naming it and wrapping
// plugins.ErrUnhealthy, and is restarted per its policy. A goroutine node
// is stopped as at shutdown (ctx cancelled, sockets closed after
// StopGrace) and restarted once its body returns: a goroutine cannot be
// killed, so a body that ignores both stays stuck (isolation = "process"
// is the cure for such a node). Plugin and process nodes are checked by
// the Launcher (runtime/pluginhost), which kills the process, and also
// fails one that stops answering at all.
//
// Run returns when every task node (plugins.Task) has finished successfully
// — services are then stopped — or when ctx is done (a clean stop is not an
// error), or when a node fails the topology. A topology without task nodes
// runs until ctx is done. Stopping cancels every body and tells the run's
// sockets (socket.Context.StopRun) that every peer of the run is stopping,
// so closing them drops what is queued towards those peers instead of
// lingering; queues towards external peers still linger. A body that has
// not returned after Options.StopGrace has its sockets closed to unblock
// it; one that is then blocked writing its output (Options.Stdout not
// being read) holds the stop: the runtime logs "NAME held the stop", stops
// waiting for it, and Run's error names it, wrapping [ErrShutdownTimeout].
// Nodes still running after Options.ShutdownTimeout are named by
// [ErrShutdownTimeout] too.
//
// # Observing
//
// Options.OnEvent receives an [Event] per lifecycle step of every instance;
// Options.OnStats receives a [NodeStatus] snapshot (state, restarts,
// messages in/out, messages per second, messages held when it went down,
// whether the counts are approximate) every StatsInterval; [Runtime.Status]
// gives the same snapshot at any time, including after Run for a summary.
// Nothing is resent when a node dies (see topology.Edge.PeerLoss): Held
// says what a failed worker-like instance had received and not passed on,
// Approx that a killed process's last counts could not be read.
// Node output is written to Options.Stdout one whole line at a time as
// "name | line", names padded to the longest instance name.
package runtime
