// Package pluginproto is the wire protocol between topo (the host, package
// runtime/pluginhost) and a plugin process (plugins.Serve). Both sides import
// it; it imports neither.
//
// The transport is hashicorp/go-plugin in gRPC mode with AutoMTLS. There is
// no protoc step: the service is a hand-written grpc.ServiceDesc whose
// messages are protobuf well-known types — emptypb.Empty, and
// wrapperspb.BytesValue carrying a JSON document (the structs of this
// package; cty types and values as github.com/zclconf/go-cty/cty/json).
//
// Entry points:
//
//   - Handshake returns the go-plugin HandshakeConfig (magic cookie
//     TOPO_PLUGIN, ProtocolVersion); IsChild reports whether this process was
//     started by a topo host as a plugin.
//   - Server is what a plugin process implements: the lifecycle of ONE node
//     instance (Describe, Bind, Connect, Ready, Run, Stop, Health, Stats,
//     Tap, Close), plus Check, which runs the kinds' configuration checks
//     (plugins.Kind.Check) for validation without building anything.
//     Register it with go-plugin through GRPCPlugin{Impl: srv}.
//   - Client is the host's view of that server (GRPCPlugin's GRPCClient
//     returns a *Client).
//
// Messages between nodes never cross this protocol: the plugin process opens
// its own ZeroMQ sockets from the Spec it receives. The protocol carries only
// lifecycle calls and, in Run's response stream, the node's user-visible
// output (Env.Out), in order, before Run's result; and, only while
// someone taps a socket (Tap), copies of that socket's messages.
//
// Health. The host calls Health every health interval while a node runs.
// The answer is the node's own verdict (plugins.HealthChecker) in a
// HealthStatus, not a gRPC error: a call that fails means the process did
// not answer, a HealthStatus with an Error means it answered and the node
// is not well. The service gives Server.Health four fifths of the time left
// before the host's deadline, so a node whose Health hangs is reported as
// such rather than as a silent process. (go-plugin's standard gRPC health
// service still runs in every plugin; topo's host asks Health instead,
// since an answer to it proves the same liveness and more.)
//
// Check. The host sends the attribute values of node instances
// (CheckRequest, one CheckConfig per instance, defaults applied) and gets
// one list of AttrProblem per instance back, in order: the validation
// step of `topo validate`, `plan` and `apply`, in a plugin process started
// only for it.
//
// Compatibility. Within ProtocolVersion 1 methods and fields are only
// added, so hosts and plugins of different builds work together. A plugin
// without Health answers it with codes.Unimplemented, which Client.Health
// reports as healthy (the process answered; it has no node hook): such a
// plugin is checked for liveness only, and a host that never asks still
// gets the standard health service every plugin serves. Check came with
// revision 1 (ProtocolRevision, 3 now): a plugin states its revision in
// Description.Revision (0 when absent) and which kinds have a check in
// KindDesc.Check, so the host knows from Describe alone whether to ask. A
// plugin of revision 0 answers Check with codes.Unimplemented all the
// same, which Client.Check reports as ErrUnsupported; either way the host
// skips the check (the nodes are validated by type only, with a warning),
// and a host of revision 0 never asks and ignores the new fields.
// Revision 2 adds SocketSpec.Curve: a host does not give a CURVE socket to
// a plugin of an older revision, which would run it in plaintext.
// Revision 3 adds Tap, a server stream of TapEvents: copies of the
// messages through one of the node's sockets, from a bounded ring on the
// plugin side whose overflow is counted (TapEvent.Skipped), never waited
// for; a host refuses to tap a node of a plugin of an older revision.
// ProtocolVersion changes only when a method changes meaning or a message
// its shape.
//
// Errors are gRPC statuses whose message is the error's text, with an
// errdetails.ErrorInfo (Domain ErrorDomain) whose Reason names the sentinel
// the error wraps and whose Metadata holds a plugins.NodeError's fields
// (StatusError, ErrorDetails; see ErrorInfo), so the host rebuilds the
// same error, e.g. ReasonAddrInUse for a bind on an address in use.
// Either side may lack the details: the message alone is what older peers
// send and read.
package pluginproto
