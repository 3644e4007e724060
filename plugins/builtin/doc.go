// Package builtin holds topo's built-in node kinds: the zguide seed programs
// (hello-server, hello-client, weather-publisher, weather-client, ventilator,
// worker, sink), the proxy device, and the load and debugging tools generate,
// count and print.
//
// The entry point is Register, which adds every kind to a plugins.Registry
// (a value the caller owns; there is no global registry):
//
//	var reg plugins.Registry
//	if err := builtin.Register(&reg); err != nil { ... }
//
// Each kind decodes its attributes into a config struct in New, validates
// them (errors name the attribute), and returns a Node whose Run uses
// context-aware Send and Recv, so it returns promptly when ctx is done. Nodes
// write user-visible lines to Env.Out, one Write per line, mirroring the
// output of the seed programs, and never touch os.Stdout.
//
// Sockets: a kind's SUB socket with no `subscribe` in the topology is
// subscribed by the kind itself (weather-client to its zip, count, print and
// a proxy's SUB frontend to everything) through plugins.Subscriber, before
// the node is wired, so no message is lost to a late subscription.
package builtin
