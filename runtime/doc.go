// Package runtime turns a validated topology into running, supervised node
// instances.
//
// The entry points are [New] (a [Runtime] for one *topology.Topology) and
// [Runtime.Run], which binds every socket, connects, waits for the wiring the
// topology expects, runs each node's body under a supervisor and returns when
// every task node has finished (or ctx is done, or a node exceeded its
// restart limit). [LoadFile] and [Load] are the embedding front door: they
// evaluate an HCL topology against a plugins.Registry.
//
// Nodes run in-process through plugins.NewActor, or in a subprocess through a
// [Launcher] (runtime/pluginhost implements it).
package runtime
