// Package runtime turns a validated topology into running, supervised node
// instances.
//
// The entry points are [New] (a [Runtime] for one *topology.Topology) and
// [Runtime.Run]. [LoadFile] and [Load] are the embedding front door: they
// evaluate an HCL topology (with variables) against a plugins.Registry and
// return a *topology.Topology, or a [*DiagnosticsError] that renders with
// file, line and snippet. An embedding program builds its own registry
// (builtin.Register plus its own kinds), loads, and runs:
//
//	topo, err := runtime.Load("app.hcl", src, runtime.LoadOptions{Registry: &reg})
//	rt := runtime.New(topo, runtime.Options{Registry: &reg, Stdout: os.Stdout, OnEvent: ...})
//	err = rt.Run(ctx)
//
// # Start-up
//
// Run creates one plugins.Actor per instance — plugins.NewActor for
// registered kinds, the [Launcher] (runtime/pluginhost) for plugin kinds and
// isolation = "process" — and drives them in phases: every actor binds
// (ephemeral ports such as tcp://127.0.0.1:0 are read back), references
// node.NAME.SOCKET are re-resolved to the endpoints actually bound (a
// wildcard host becomes 127.0.0.1), every actor connects, and each node's
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
// # Supervision and lifecycle
//
// Each instance is supervised on its own goroutine. restart = "on-failure"
// (the default) restarts a node whose body (or start-up) fails or panics;
// "always" also restarts one that returned nil; "never" leaves it down.
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
// messages in/out, messages per second) every StatsInterval; [Runtime.Status]
// gives the same snapshot at any time, including after Run for a summary.
// Node output is written to Options.Stdout one whole line at a time as
// "name | line", names padded to the longest instance name.
package runtime
