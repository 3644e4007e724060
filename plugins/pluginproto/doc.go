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
//     instance (Describe, Bind, Connect, Ready, Run, Stop, Stats, Close).
//     Register it with go-plugin through GRPCPlugin{Impl: srv}.
//   - Client is the host's view of that server (GRPCPlugin's GRPCClient
//     returns a *Client).
//
// Messages between nodes never cross this protocol: the plugin process opens
// its own ZeroMQ sockets from the Spec it receives. The protocol carries only
// lifecycle calls and, in Run's response stream, the node's user-visible
// output (Env.Out), in order, before Run's result.
package pluginproto
