package socket

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-zeromq/zmq4"
)

// Type is a ZeroMQ socket type, spelled as in zmq_socket(3): "PUSH", "PULL", ...
type Type string

// The eleven socket types.
const (
	PAIR   Type = "PAIR"
	PUB    Type = "PUB"
	SUB    Type = "SUB"
	XPUB   Type = "XPUB"
	XSUB   Type = "XSUB"
	REQ    Type = "REQ"
	REP    Type = "REP"
	DEALER Type = "DEALER"
	ROUTER Type = "ROUTER"
	PUSH   Type = "PUSH"
	PULL   Type = "PULL"
)

// Types lists every socket type in a stable order.
var Types = []Type{PAIR, PUB, SUB, XPUB, XSUB, REQ, REP, DEALER, ROUTER, PUSH, PULL}

// ParseType accepts a socket type name in any case ("push", "PUSH").
func ParseType(s string) (Type, error) {
	t := Type(strings.ToUpper(strings.TrimSpace(s)))
	for _, k := range Types {
		if k == t {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown socket type %q (want one of PAIR PUB SUB XPUB XSUB REQ REP DEALER ROUTER PUSH PULL)", s)
}

// CanSend reports whether an application may send on a socket of type t.
func (t Type) CanSend() bool { return t != PULL && t != SUB }

// CanRecv reports whether an application may receive on a socket of type t.
func (t Type) CanRecv() bool { return t != PUSH && t != PUB }

// Compatible reports whether sockets of types a and b may be peers (ZMTP 3.x's
// matrix, symmetric): PAIR–PAIR, PUB/XPUB–SUB/XSUB, REQ–REP/ROUTER,
// DEALER–REP/DEALER/ROUTER, ROUTER–ROUTER, PUSH–PULL.
func Compatible(a, b Type) bool {
	pairs := [...][2]Type{
		{PAIR, PAIR}, {PUB, SUB}, {PUB, XSUB}, {XPUB, SUB}, {XPUB, XSUB},
		{REQ, REP}, {REQ, ROUTER}, {DEALER, REP}, {DEALER, DEALER},
		{DEALER, ROUTER}, {ROUTER, ROUTER}, {PUSH, PULL},
	}
	for _, p := range pairs {
		if p == [2]Type{a, b} || p == [2]Type{b, a} {
			return true
		}
	}
	return false
}

// Msg is one ZeroMQ message: one or more frames. A Msg handed to Send belongs
// to the socket until Send returns... and possibly longer: the caller must not
// modify its frames after Send. A Msg returned by Recv belongs to the caller.
type Msg [][]byte

// Options configure a socket. The zero value gives libzmq's defaults where
// they are safe and a bounded, documented value where libzmq's is unbounded.
type Options struct {
	// SendHWM and RecvHWM bound the messages queued per peer, in each
	// direction (libzmq ZMQ_SNDHWM / ZMQ_RCVHWM). 0 means the default, 1000;
	// a negative value means unbounded. Over tcp and ipc a bounded
	// SendHWM of a PUSH, DEALER, PAIR or REQ also holds at most about
	// 1 MiB of large messages (32 KiB and up) unwritten per peer, and over
	// inproc a bounded RecvHWM of the receiver holds such a sender to 1 MiB
	// of large messages not yet received (doc.go, "Patterns").
	SendHWM, RecvHWM int
	// Identity is the routing id announced to ROUTER peers (ZMQ_ROUTING_ID).
	Identity []byte
	// Linger bounds how long Close waits to flush queued messages.
	// 0 means the default (1s); a negative value means do not wait.
	// Once the socket's run is stopping (Context.StopRun), Close does not
	// wait for peers of the same run (Run): only external peers get it.
	Linger time.Duration
	// MaxMsgSize is the largest message (sum of frames) accepted from a peer;
	// a peer announcing more is disconnected before anything is allocated.
	// 0 means the default (64 MiB); a negative value means 2^31-1.
	MaxMsgSize int64
	// HandshakeTimeout bounds the ZMTP greeting and security handshake of
	// each connection. 0 means the default (10s).
	HandshakeTimeout time.Duration
	// ReconnectIvl and ReconnectIvlMax set the reconnect backoff of connected
	// endpoints (ZMQ_RECONNECT_IVL / _MAX). 0 means 100ms and 5s.
	ReconnectIvl, ReconnectIvlMax time.Duration
	// ReqRelaxed lets a REQ send a new request before the reply to the
	// previous one arrived (say after a Recv timed out); late replies to
	// earlier requests are discarded. Requests then carry a 4-byte request
	// id frame before the delimiter, as libzmq's ZMQ_REQ_RELAXED with
	// ZMQ_REQ_CORRELATE; REP and ROUTER peers echo it back unchanged.
	ReqRelaxed bool
	// XPubVerbose makes an XPUB pass every subscribe message its peers send
	// to Recv, duplicates included (libzmq ZMQ_XPUB_VERBOSE); by default
	// only a prefix's first subscription across all peers is passed. Cancels
	// are still passed only when no peer is left subscribed to the prefix.
	XPubVerbose bool
	// XPubVerboser makes an XPUB pass every subscribe and every cancel of a
	// prefix the peer had subscribed (libzmq ZMQ_XPUB_VERBOSER), including a
	// cancel for each prefix of a peer that disconnects, even while other
	// peers stay subscribed to it. It implies XPubVerbose. A cancel for a
	// prefix the peer never subscribed is ignored in every mode.
	XPubVerboser bool
	// MaxSubs and MaxSubBytes are a PUB's or XPUB's budget for what one
	// peer may subscribe to: distinct prefixes held, and their total
	// length. A peer that subscribes past either is disconnected
	// (EventDisconnected with an error wrapping ErrSubLimit, counted in
	// Stats.SubLimited) and its subscriptions are released; an XPUB passes
	// the matching cancels to Recv as for any peer that leaves, so a proxy
	// cancels them upstream. libzmq has no such limit and resends every
	// subscription on reconnect, so the defaults leave room for real use:
	// 0 means 100,000 prefixes and 16 MiB per peer; negative means no limit.
	MaxSubs     int
	MaxSubBytes int64
	// RouterMandatory makes a ROUTER's Send fail with ErrUnroutable for an
	// unknown identity; otherwise the message is dropped and counted.
	RouterMandatory bool
	// HeartbeatIvl, when positive, sends ZMTP PINGs on every connection and
	// drops a peer that stays silent for HeartbeatTimeout (default 3×Ivl).
	//
	// Independently of these options (even when HeartbeatIvl is 0), a
	// peer's PING may carry a TTL (ZMTP 3.1; ZMQ_HEARTBEAT_TTL on a libzmq
	// peer): from then on the connection is closed (EventDisconnected,
	// Stats.Disconnects) when no byte at all arrives from that peer for the
	// TTL, until a PING with TTL 0 withdraws it. Only incoming traffic
	// counts, never the PONGs and PINGs this side sends. Unlike libzmq,
	// which forgets the TTL at the next frame of any kind and re-arms it only
	// at the next PING (so a peer whose last frame was a PONG is never timed
	// out), the TTL stays in force.
	HeartbeatIvl, HeartbeatTimeout time.Duration
	// HeartbeatTTL is the TTL advertised in our PINGs (ZMQ_HEARTBEAT_TTL):
	// the peer drops the connection when nothing arrives from us for that
	// long. 0, the default as in libzmq, advertises none, so a late PING
	// under load never costs the link; a value is rounded up to the wire's
	// 100 ms unit (at most 6553.5 s).
	HeartbeatTTL time.Duration
	// Security is the ZMTP security mechanism; nil means NULL. NULL,
	// PLAIN (this package's Plain) and CURVE (this package's Curve, or
	// *Curve) are supported; NewSocket rejects others with
	// ErrNotSupported, zmq4's security/plain included (its client forgets
	// its credentials after one handshake, so reconnects would send empty
	// ones). With PLAIN the binding side acts as the server, the
	// connecting side as the client, on every connection, and messages
	// are not encrypted. With CURVE the keys decide the role (see Curve),
	// every frame of a tcp or ipc connection is encrypted and
	// authenticated, and inproc connections are not affected (no wire).
	// A client refused by the server (an ERROR) reconnects with the dial
	// backoff, not every ReconnectIvl.
	Security zmq4.Security
	// Run and Name say which run of a topology the socket belongs to and
	// which socket of it this is ("worker[2].out"). When either is set the
	// socket announces both on every tcp/ipc connection, as the properties
	// X-Topo-Run and X-Topo-Peer of its ZMTP READY (or PLAIN INITIATE)
	// metadata; inproc peers learn them in memory. libzmq peers ignore
	// properties they do not know, and announce none: a peer whose run is
	// not this socket's (or who names none) is external (PeerInfo). The
	// cost is per connection, nothing per message.
	Run, Name string
	// Logger receives connection-level diagnostics; nil discards.
	Logger *slog.Logger
	// OnEvent, if set, is called for every Event. It must not block.
	OnEvent func(Event)
}

// EventKind names what happened on a socket.
type EventKind string

// Events reported through Options.OnEvent.
const (
	EventListening       EventKind = "listening"
	EventConnected       EventKind = "connected" // a peer finished its handshake
	EventDisconnected    EventKind = "disconnected"
	EventHandshakeFailed EventKind = "handshake-failed"
	EventSubscribed      EventKind = "subscribed" // PUB/XPUB: a peer subscribed
	EventDropped         EventKind = "dropped"
	EventClosed          EventKind = "closed"
)

// Event is one socket event.
type Event struct {
	Kind     EventKind
	Endpoint string // the bound or connected endpoint it concerns
	Peer     string // remote address, if known ("inproc" for inproc peers)
	// PeerRun and PeerName are what the peer announced (Options.Run and
	// Name), on events about an established connection (connected,
	// subscribed, disconnected); empty for a peer that announced none.
	PeerRun, PeerName string
	// External reports, on those events, that the peer is not of this
	// socket's run (see PeerInfo.External).
	External bool
	Err      error
}

// PeerInfo describes one connection past its handshake: which peer it is.
type PeerInfo struct {
	Endpoint string // the bound or connected endpoint it belongs to
	Addr     string // remote address; "inproc" for inproc peers
	// Run and Name are what the peer announced in its handshake
	// (Options.Run and Name of a topo socket); empty for a libzmq peer.
	Run  string
	Name string
	// External is true unless the peer announced this socket's own,
	// non-empty Run: a libzmq peer, a topo socket of another run, or any
	// peer of a socket that has no Run.
	External bool
	// Subscribed is true, on a PUB or XPUB, once the peer has sent a
	// subscription on this connection.
	Subscribed bool
}

// The ZMTP metadata properties that carry Options.Run and Name.
const (
	PropRun  = "X-Topo-Run"
	PropPeer = "X-Topo-Peer"
)

// Stats are a socket's counters since it was created. Safe to read at any time.
type Stats struct {
	Peers             int    // connections past their handshake right now
	Subscribers       int    // PUB/XPUB: peers that sent at least one subscription
	MsgsIn, MsgsOut   uint64 // messages received by / sent from the application
	BytesIn, BytesOut uint64
	Dropped           uint64 // messages dropped (HWM on PUB, unroutable on ROUTER, ...)
	Connects          uint64 // handshakes completed
	Disconnects       uint64
	HandshakeFailures uint64 // counted after the EventHandshakeFailed for it is delivered
	// Subscribes counts peer connections that sent their first subscription
	// (PUB/XPUB); a peer that reconnects and subscribes again counts again.
	Subscribes uint64
	// SubLimited counts peers a PUB or XPUB disconnected for subscribing
	// past MaxSubs or MaxSubBytes.
	SubLimited uint64
	// SendBlocked is the time Send spent waiting because every peer was at
	// its high-water mark (PUSH, DEALER, REQ, PAIR; a ROUTER with
	// RouterMandatory): back-pressure. Time waiting with no pipe at all (a
	// socket that has neither bound nor connected) is not counted. Only a
	// Send that waits reads the clock.
	SendBlocked time.Duration
	// Conns names the peer of every connection past its handshake right
	// now (len(Conns) == Peers), in no particular order.
	Conns []PeerInfo
	// Edges is what the socket exchanged with each peer, one entry per
	// peer name its peers announced (Options.Name) and a single entry
	// for every external peer together (PeerInfo.External), so its length
	// is bounded by the run's sockets whoever connects. Counters include
	// connections that have since gone; the queue depths are now's.
	Edges []EdgeStats `json:",omitempty"`
}

// EdgeStats are what a socket exchanged with one peer, or with all of its
// external peers (Stats.Edges). Subscriptions and other messages the
// socket sends on its own are not counted; a PUB's drops are not sent.
type EdgeStats struct {
	// Peer is the name the peer announced (X-Topo-Peer); empty when
	// External.
	Peer     string `json:",omitempty"`
	External bool   `json:",omitempty"`
	// Sent counts messages queued (or written) towards the peer: the
	// ones this socket's pattern routed to it (PUSH round-robin, PUB
	// fan-out, ROUTER by identity, ...). Received counts messages from
	// the peer queued for Recv (what a SUB's filter kept).
	Sent, Received uint64
	// QueuedOut is how many messages wait in the queue towards the peer
	// (tcp and ipc; an inproc peer's queue is its QueuedIn); QueuedIn how
	// many from it wait for Recv. Both count what the high-water mark is
	// counted over: a batch the consumer has already taken is not in them.
	QueuedOut, QueuedIn int
}

// Wired is what WaitPeers counts for a socket of type t: peer connections
// that completed a handshake since the socket was created (PUB and XPUB:
// that sent a subscription), including peers that have since left.
func (st Stats) Wired(t Type) uint64 {
	if t == PUB || t == XPUB {
		return st.Subscribes
	}
	return st.Connects
}

// Errors returned by sockets; check with errors.Is.
var (
	ErrClosed        = errors.New("socket: closed")
	ErrUnroutable    = errors.New("socket: no peer with that routing id")
	ErrState         = errors.New("socket: operation not valid in the current state") // REQ/REP alternation
	ErrNotSupported  = errors.New("socket: operation not supported by this socket type")
	ErrTooLarge      = errors.New("socket: message larger than MaxMsgSize")
	ErrAddrInUse     = errors.New("socket: address already in use")
	ErrBadEndpoint   = errors.New("socket: invalid endpoint")
	ErrNoSuchAddress = errors.New("socket: no such bound endpoint")
	ErrSubLimit      = errors.New("socket: peer subscribed past its budget (MaxSubs, MaxSubBytes)")
)
