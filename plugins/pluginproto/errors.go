package pluginproto

import (
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors cross the protocol as gRPC statuses: an error the node or its
// Actor returned is codes.Unknown with the error's whole text as the
// message. Since plugins.NodeError, the status also carries one
// errdetails.ErrorInfo with Domain ErrorDomain: its Reason names the
// sentinel the error wraps (ReasonAddrInUse, ...; the table that maps
// sentinels to reasons is in package plugins, used by both sides), and its
// Metadata holds the particulars (MetaNode, MetaOp, MetaText, and for a
// bind MetaSocket, MetaEndpoint, MetaCause), so the host rebuilds the same
// error with the same text. A plugin built before the details existed
// sends the message alone (or, for an address in use, ReasonAddrInUse
// with only MetaSocket and MetaEndpoint); the host then falls back to it.
const (
	// ErrorDomain is the ErrorInfo domain of topo's plugin protocol.
	ErrorDomain = "plugin.topo-zmq.dev"
	// ReasonAddrInUse: a socket could not bind because its address is
	// in use (socket.ErrAddrInUse).
	ReasonAddrInUse = "ADDR_IN_USE"
	// ReasonNone: the error wraps no sentinel the protocol knows.
	ReasonNone = "NODE_ERROR"
)

// Metadata keys of a node error's ErrorInfo.
const (
	MetaNode     = "node"     // plugins.NodeError.Node
	MetaOp       = "op"       // plugins.NodeError.Op
	MetaText     = "text"     // the text of plugins.NodeError.Err
	MetaSocket   = "socket"   // plugins.BindError.Socket
	MetaEndpoint = "endpoint" // plugins.BindError.Endpoint
	MetaCause    = "cause"    // the text of plugins.BindError.Err
)

// ErrorInfo is what an error carries across the protocol besides its text.
type ErrorInfo struct {
	Reason   string
	Metadata map[string]string
}

// StatusError returns the status error (codes.Unknown) with message msg
// and, when info is not nil, info as an errdetails.ErrorInfo of
// ErrorDomain: what a plugin answers a failed call with.
func StatusError(msg string, info *ErrorInfo) error {
	st := status.New(codes.Unknown, msg)
	if info != nil {
		if d, err := st.WithDetails(&errdetails.ErrorInfo{Domain: ErrorDomain, Reason: info.Reason, Metadata: info.Metadata}); err == nil {
			st = d
		}
	}
	return st.Err()
}

// ErrorDetails is the inverse of StatusError for an error returned by a
// Client call: ok reports whether err is a codes.Unknown status (an error
// of the node or its Actor, not of the transport), msg is its message and
// info its ErrorInfo of ErrorDomain, nil when it has none.
func ErrorDetails(err error) (msg string, info *ErrorInfo, ok bool) {
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return "", nil, false
	}
	st := se.GRPCStatus()
	if st.Code() != codes.Unknown {
		return "", nil, false
	}
	for _, d := range st.Details() {
		if ei, isInfo := d.(*errdetails.ErrorInfo); isInfo && ei.GetDomain() == ErrorDomain {
			info = &ErrorInfo{Reason: ei.GetReason(), Metadata: ei.GetMetadata()}
			break
		}
	}
	return st.Message(), info, true
}
