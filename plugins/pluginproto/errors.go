package pluginproto

import (
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors cross the protocol as gRPC statuses: an error the node or its
// Actor returned is codes.Unknown with the error's text as the message,
// which the host shows as is. A few failures the host must act on, or add
// a hint to, also carry an errdetails.ErrorInfo in the status details, with
// Domain ErrorDomain and one of the Reason constants; its Metadata holds
// the particulars. A host that does not know a reason, or a plugin built
// before it existed, falls back to the message.
const (
	// ErrorDomain is the ErrorInfo domain of topo's plugin protocol.
	ErrorDomain = "plugin.topo-zmq.dev"
	// ReasonAddrInUse: a socket could not bind because its address is
	// in use (socket.ErrAddrInUse). Metadata "socket" and "endpoint".
	ReasonAddrInUse = "ADDR_IN_USE"
)

// AddrInUseError returns the status error a plugin answers Bind with when
// socket sock could not bind endpoint because the address is in use; msg
// is the whole error text (naming the instance).
func AddrInUseError(msg, sock, endpoint string) error {
	st := status.New(codes.Unknown, msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{
		Domain:   ErrorDomain,
		Reason:   ReasonAddrInUse,
		Metadata: map[string]string{"socket": sock, "endpoint": endpoint},
	}); err == nil {
		st = d
	}
	return st.Err()
}

// AddrInUse reports whether err, returned by a Client call, is a plugin's
// AddrInUseError, and if so which socket and endpoint it names.
func AddrInUse(err error) (sock, endpoint string, ok bool) {
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return "", "", false
	}
	for _, d := range se.GRPCStatus().Details() {
		if info, isInfo := d.(*errdetails.ErrorInfo); isInfo && info.GetDomain() == ErrorDomain && info.GetReason() == ReasonAddrInUse {
			return info.GetMetadata()["socket"], info.GetMetadata()["endpoint"], true
		}
	}
	return "", "", false
}
