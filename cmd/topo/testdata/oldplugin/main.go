// Command oldplugin is a topo plugin as built before plugins could be
// asked to check their nodes' attribute values: it serves one kind,
// "collect" (expect must be at least 1, which only New enforces), and
// answers the Check call as gRPC answers any method it does not know,
// codes.Unimplemented. cmd/topo's tests build it (plugin "old" { source =
// ... }) to show validate skipping the check with a warning.
package main

import (
	"context"
	"errors"
	"io"
	"os"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/zclconf/go-cty/cty"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/topo-zmq/topo/plugins/pluginproto"
	"github.com/topo-zmq/topo/runtime/socket"
)

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pluginproto.Handshake(),
		VersionedPlugins: map[int]plugin.PluginSet{
			pluginproto.ProtocolVersion: {pluginproto.PluginName: &pluginproto.GRPCPlugin{Impl: server{}}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}

type server struct{}

var errNo = errors.New("this test plugin only describes itself")

func (server) Describe(context.Context) (*pluginproto.Description, error) {
	num, err := pluginproto.EncodeType(cty.Number)
	if err != nil {
		return nil, err
	}
	return &pluginproto.Description{Protocol: pluginproto.ProtocolVersion, Pid: os.Getpid(), Kinds: []pluginproto.KindDesc{{
		Name: "collect", Life: "task",
		Attrs:   []pluginproto.AttrDesc{{Name: "expect", Type: num}},
		Sockets: []pluginproto.SocketDesc{{Name: "in", Types: []string{"PULL"}}},
	}}}, nil
}

func (server) Check(context.Context, *pluginproto.CheckRequest) (*pluginproto.CheckReply, error) {
	return nil, status.Error(codes.Unimplemented, "unknown method Check for service "+pluginproto.ServiceName)
}

func (server) Bind(context.Context, *pluginproto.Spec) (map[string][]string, error) {
	return nil, errNo
}
func (server) Connect(context.Context, map[string][]string) error     { return errNo }
func (server) Ready(context.Context) error                            { return errNo }
func (server) Run(context.Context, io.Writer) error                   { return errNo }
func (server) Stop(context.Context) error                             { return nil }
func (server) Health(context.Context) error                           { return nil }
func (server) Stats(context.Context) (map[string]socket.Stats, error) { return nil, nil }
func (server) Close(context.Context) error                            { return nil }

// Tap answers as a plugin built before taps did (revision < 3).
func (server) Tap(context.Context, *pluginproto.TapRequest, func(*pluginproto.TapEvent) error) error {
	return status.Error(codes.Unimplemented, "unknown method Tap for service "+pluginproto.ServiceName)
}
