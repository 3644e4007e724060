// Package socket provides ZeroMQ sockets with libzmq semantics (zmq_socket(3))
// for topo: all eleven socket types over tcp://, ipc:// and an in-memory
// inproc:// transport, interoperating on the wire with libzmq peers.
//
// The entry point is Context.NewSocket:
//
//	var zctx socket.Context // the zero value is ready; it scopes inproc:// names
//	pull, err := zctx.NewSocket(socket.PULL, socket.Options{})
//	...
//	err = pull.Bind("tcp://127.0.0.1:0")
//	ep := pull.Endpoints()[0]           // the real port
//	push, _ := zctx.NewSocket(socket.PUSH, socket.Options{})
//	_ = push.Connect(ep)                // asynchronous; reconnects with backoff
//	_ = push.Send(ctx, socket.Msg{[]byte("hello")})
//	m, err := pull.Recv(ctx)
//
// # Wire and transport
//
// go-zeromq/zmq4's zmq4.Open performs only the ZMTP 3.0 greeting and the
// security handshake (NULL; PLAIN through this package's Plain, which
// sends its credentials on every connection and checks them on the binding
// side; zmq4's own PLAIN client forgets them after one handshake and is
// refused; or CURVE through Curve, below), under a deadline (Options.HandshakeTimeout)
// and behind a guard that refuses any handshake frame over 64 KiB (zmq4
// allocates a frame's announced size before reading it); a panic inside
// zmq4 during the handshake is recovered and fails only that connection.
// After the handshake this package owns the stream: a buffered frame reader
// that enforces Options.MaxMsgSize before allocating, and a per-connection
// writer goroutine that drains the outbound queue into a bufio.Writer and
// flushes only when the queue is empty. That queue is lock-free (spsc, as
// inproc's below) on every socket type but SUB and XSUB, whose Subscribe
// and new connections queue subscriptions from other goroutines than
// Send's (a mutex-guarded queue there). Both 64 KiB buffers come from pools
// on the Context and are held only while bytes move: an idle connection
// holds neither (bufpool.go). Nor does it keep its writer goroutine: the
// writer ends once it has flushed everything and its queues are empty, and
// the next message queued for the connection (or Close's linger flush)
// starts another, so an idle connection costs one goroutine, its reader
// (with Options.HeartbeatIvl set the writer stays, to send its PINGs).
// Frames of 16 KiB or more bypass them on a
// NULL or PLAIN connection: the writer sends such a frame from the sent
// Msg's own memory (one vectored write of header and body), and the reader
// reads the part of its body not yet buffered straight into the received
// frame (a CURVE frame too, then opened in place); after such a frame the
// reader goroutine reads only the next frame's header at a message boundary,
// so that a stream of large frames is not read ahead into the read buffer
// (and copied out of it) but straight into each frame; a frame over 1 MiB is
// grown while it arrives (to at most 4 times what has arrived), so a header
// alone cannot make the reader allocate. A CURVE frame is sealed into the
// write buffer, so it is copied whatever its size. ZMTP commands never reach the
// application: PING is answered with PONG (and a TTL in the peer's PING is
// honoured: a peer that then sends nothing for the TTL is disconnected, see
// Options.HeartbeatIvl), SUBSCRIBE/CANCEL (ZMTP 3.1) are
// treated as the 3.0 subscription messages, ERROR ends the connection.
// inproc:// hands messages between sockets of one Context in memory: a
// message goes straight from Send into the receiving socket's queue for that
// peer, lock-free (spsc, a single-producer queue in the manner of libzmq's
// ypipe) except into PUB and XPUB, whose inbound subscriptions can come from
// several goroutines.
//
// # CURVE
//
// With Options.Security a Curve, every tcp and ipc connection runs CurveZMQ
// (RFC 26) as libzmq 4.3 does, byte for byte: the greeting names "CURVE",
// the handshake (HELLO, WELCOME, INITIATE, READY; internal/curve) carries
// the metadata NULL's READY carries (Socket-Type, Identity, X-Topo-Run,
// X-Topo-Peer), so peer identity, readiness and PeerInfo are the same. The
// role follows the keys (a Curve with a server key is a client), not the
// direction; a client connecting to several servers names each one's key
// in ServerKeys, by endpoint. After READY every frame, data and commands
// alike (PING, PONG, SUBSCRIBE, CANCEL), goes out as a MESSAGE box with the
// MORE and COMMAND flags inside it: the connection's frame codec seals it
// under the same lock for the writer goroutine and for REQ/REP direct
// writes, so nonces reach the wire in order; the reader opens each box in
// place, and any box that does not open, a nonce that does not increase, or
// a frame that is not a MESSAGE ends that connection alone (what arrived
// whole before it is delivered). CURVE connections are always read by their
// reader goroutine (no direct reads: a message's end cannot be seen through
// the boxes before opening them). A server with Curve.Allow refuses other
// clients with an ERROR ("400", as libzmq's ZAP does), counts them in
// Stats.HandshakeFailures, logs their address and public key (never a
// secret key) and reports EventHandshakeFailed; a client refused by a
// server (a CURVE or PLAIN ERROR) reconnects with the dial backoff
// (ReconnectIvl doubling to ReconnectIvlMax) and reports the server's
// reason in the event and a warning. inproc connections have no wire:
// Curve does not apply to them (the language refuses curve on inproc), and
// sockets of one Context talk over inproc in memory whatever their keys.
//
// # Which peer a connection is
//
// A socket made with Options.Run and Name (the runtime sets them: the run's
// id and "instance.socket") announces both in the metadata of every
// handshake, as the properties X-Topo-Run and X-Topo-Peer; inproc peers
// exchange them in memory. Stats().Conns and the connection events name
// each connection's peer and say whether it is external: not of this
// socket's run (a libzmq peer announces nothing and is always external).
// This costs one map entry per connection and nothing per message.
//
// Stats().Edges sums what the socket exchanged with each peer name (all
// external peers in one entry): messages its pattern routed to the peer,
// messages from it queued for Recv, and the depth of the queues between
// them. The queues count them under the locks they already take, and an
// inproc pipe's lock-free queue already has the count, so this too costs
// nothing per message. Stats().SendBlocked is the time Send waited with
// every peer at its high-water mark; only a Send that waits reads the
// clock. SetTap shows a function every message Send sends and Recv
// returns; unset, it costs one atomic load per message.
//
// # Waiting
//
// A Recv that finds nothing to read, and a Send refused at the high-water
// mark, poll for up to a few microseconds before they park. While a stream
// flows the next message (or room) is usually that close, and parking would
// make the other side's wake-up put them on its own P, so that producer and
// consumer take turns instead of running in parallel. The poll adapts: it
// shrinks to a token length while polls keep finding nothing (request-reply,
// idle sockets) and grows back when one succeeds (spin.go). Send and Recv also
// count messages locally and publish them to Stats every 64 messages and
// before they block; Stats adds an idle side's remainder itself, so it is
// exact whenever Send or Recv is not running.
//
// # Direct I/O
//
// A request-reply round trip is bound by wake-ups, not by bytes: each hand-off
// between goroutines while a CPU is idle wakes another OS thread, which on a
// small VM costs more than the system calls themselves. So REQ and REP skip
// the connection's goroutines when they can (direct.go). Send writes a message
// of up to 8 KiB straight to the connection with one non-blocking write when
// nothing is queued ahead of it; what the kernel does not take goes out
// through the writer goroutine, so Send still never blocks on the network.
// Recv on a socket with one peer connection reads it itself instead of
// waiting for the reader goroutine: the reader lends its read side at a
// message boundary, Recv parses only whole buffered messages, gives way at
// once when its ctx ends, the socket closes or another peer delivers, and the
// reader takes the read side back after 20 ms unused, so PINGs are still
// answered and disconnects seen while the application is not receiving.
// The semantics are those of the queued path; only the latency differs.
//
// The other socket types that send (all but PULL and SUB) write small
// messages directly in one case: Send writes a message of up to 8 KiB
// straight to the socket's only connection when that connection has had
// nothing to write for 200 µs or more (its writer goroutine has ended), and
// sends one that comes sooner through the queue, so that a stream is still
// written in batches. A paced PUB→SUB's median
// latency went from about 210 to 135 µs with it (session 10).
//
// Every socket type but PUB and XPUB (whose fan-out the connections' writers
// write in parallel) writes large messages the same way over plain (NULL or
// PLAIN) tcp and ipc: Send writes a single-frame message of 32 KiB or more
// straight from its buffer to the connection, header and body in one
// non-blocking vectored write, when nothing is queued ahead of it; the
// writer goroutine sends what the kernel did not take, from the same
// buffer, before anything queued after it. This saves the two goroutine
// hand-offs a large message otherwise costs (the writer had nothing else
// queued, went idle, and was started again for the next one).
//
// # Concurrency and ownership
//
// Send may be called from one goroutine at a time and Recv from one
// goroutine at a time; a Send and a Recv may run concurrently. All other
// methods (Bind, Connect, Subscribe, Stats, WaitPeers, Close, ...) are safe
// for concurrent use. A Msg passed to Send must not be modified afterwards; a
// Msg returned by Recv belongs to the caller. To save allocations, small
// frames received from tcp/ipc share backing arrays of a few KiB with
// neighbouring messages: copy a message you keep for a long time. Send and Recv block only as
// the pattern requires and return promptly when their ctx is done or the
// socket is closed. Each socket owns its goroutines (one per listener, per
// handshake, per connected endpoint and per connection writer); Close stops
// them all and waits for them, after flushing for up to Options.Linger.
// Options.OnEvent is called synchronously from those goroutines (sometimes
// with internal locks held) and must not block or call back into the socket
// or its Context.
//
// # Reusing frame buffers
//
// By default every large message costs fresh memory on both sides: the
// sender's new buffer (a sent Msg belongs to the socket, so it cannot be
// refilled) and the receiver's new frame. A program that moves many large
// messages can opt in to reusing them (framepool.go); one that never calls
// the four methods below behaves exactly as before, and never sees a buffer
// reused under it:
//
//   - Context.AllocFrame(n) (or Socket.AllocFrame) returns a buffer of n
//     bytes from the Context's pool of size-classed frame buffers (1 KiB to
//     1 GiB, four classes per power of two), or a new one. Its contents are
//     not zeroed and its capacity may exceed n. Under 1 KiB it is a plain
//     allocation.
//   - Socket.SendRelease(ctx, m) is Send that gives m's frames up for good:
//     the caller must not read, write or resend them afterwards, whatever it
//     returns. Over tcp and ipc the connection puts each frame of 1 KiB or
//     more back in the pool once its write has returned (a vectored write
//     from the frame, a copy into the write buffer, a CURVE seal into it, or
//     a direct write's copy, and, for a write the kernel takes in parts,
//     after the last part, whichever goroutine writes it). Over inproc the frames are handed to the
//     receiver as they are, and those of 4 KiB or more are lent: the
//     receiver's Release gives them back (recording a loan costs about as
//     much as a 1 KiB inproc message, so smaller ones go as Send's do).
//     Frames a PUB or XPUB fans out, frames not sent (an error, a drop, a
//     connection that ends first), and all frames while a tap is set, are
//     left to the garbage collector.
//   - Socket.Release(m) gives back a message Recv returned that the caller
//     has finished with: it must not use m's frames afterwards. Frames read
//     from tcp or ipc, and frames of 4 KiB or more an inproc peer sent with
//     SendRelease, go to the pool; others (frames under 1 KiB, frames an
//     inproc peer sent with Send, which Send lets it still read or send
//     elsewhere) are left to the garbage collector. A message never
//     released is garbage as before.
//   - Context.ReleaseFrame(b) gives the pool a buffer the caller owns
//     outright (one AllocFrame returned and that was never sent, say).
//
// Once any of them has been called on a Context, its connections read
// frames of 1 KiB or more into buffers of a class's size, taken from the
// pool when it has one (CURVE frames are then opened into such a buffer
// rather than in place), so released buffers carry the next messages and
// a steady stream allocates nothing on either side. Frames read before the
// first call are plain allocations (Release files them under the next
// smaller class, where frames of their own size do not find them): a
// receiver that will release calls Release(nil) before messages flow, which
// turns the pool on and gives nothing back. A frame received into
// a pooled buffer is the receiver's until it releases it: the socket never
// writes it again, and a message kept unreleased stays as it arrived.
// MaxMsgSize is checked before any buffer is taken (a class's size is at
// most 1.25 times the frame's), and a frame over 1 MiB with no pooled
// buffer still grows as it arrives (to at most 4 times what has arrived). The bytes of a pooled
// buffer past a frame's length, up to its capacity, are left from an
// earlier message of the same process. The pools are sync.Pools, and for
// buffers of 16 KiB and more a last-in-first-out stack in front of them
// (at most 32 MiB a Context, emptied by every garbage collection), so the
// buffer given back last, still warm in the cache, is the next one reused:
// what they hold the garbage collector may free.
//
// # Sending a copy
//
// Socket.SendCopy(ctx, m) is Send for a program that keeps its message:
// the socket copies whatever it holds on to, so the caller may change or
// reuse m's frames as soon as the call returns, whatever it returns (as
// zmq_send copies the caller's buffer). A program that refills one buffer
// per message and sends it with SendCopy allocates nothing for small
// messages, where Send needs a fresh Msg each time and so a garbage
// collection every few megabytes of them (at 16 to 32 bytes a message, the
// collector is most of a flat-out sender's cost). How it copies:
//
//   - a one-frame message of up to 40 bytes queued for a tcp or ipc
//     connection (every type but SUB and XSUB, whose queues Subscribe
//     shares) is copied into a slot of the outbound queue's own memory,
//     reused once the writer has written it;
//   - a PUB or XPUB with more than one peer copies the message once,
//     into memory all its peers' queues share (as they share a Msg given
//     to Send), rather than once into each queue;
//   - a small message written to the connection at once (idle and REQ/REP
//     direct writes, "Direct I/O") is copied only into the write buffer;
//   - a message with a frame of 1 KiB or more has every frame copied into
//     one from AllocFrame and goes as SendRelease sends it (so over tcp and
//     ipc the copies come back to the pool once written);
//   - anything else (larger or multi-frame small messages queued, or sent
//     to an inproc peer, which keeps what it receives) is copied into
//     memory of its own, which for messages up to 1 KiB is carved from
//     16 KiB blocks (one allocation per block, as the frame reader carves
//     received frames), so SendCopy of them costs no more than a program's
//     own carving of fresh buffers.
//
// # Patterns
//
// PUSH round-robins over its peers with a queue per peer bounded by SendHWM
// and blocks when all are full; PULL fair-queues. Over tcp and ipc, the
// queue of a PUSH, DEALER, PAIR or REQ (the types whose Send blocks at the
// high-water mark) with a bounded SendHWM also counts as full while it
// holds 1 MiB or more of messages of 32 KiB and up not yet written to the
// connection, always admitting one message however large, and takes more
// once less than half of that is left. A sender of large messages then
// runs a few messages ahead of its connection, not up to 2×SendHWM of them
// (2 GB of 1 MiB messages), so the buffers it fills stay few and warm in
// the cache. Small messages are bounded by SendHWM alone; an unbounded
// SendHWM (-1) leaves bytes unbounded too. Over inproc, where a message
// goes straight into the receiver's queue, the same bound holds a PUSH,
// DEALER, PAIR or REQ to 1 MiB of large messages the receiver has not yet
// taken, when the receiver's RecvHWM is bounded (a sender of 1 MiB
// messages ran up to 60 of them ahead). libzmq counts messages only;
// the byte bound only makes Send wait sooner, and loses nothing. A peer
// full for the byte bound alone (below SendHWM) keeps its round-robin
// turn: Send waits for it rather than skip it, so the peers' shares stay
// as even as libzmq's when large messages are among small ones; a peer at
// SendHWM is skipped, as in libzmq.
//
// DEALER round-robins out and fair-queues in. ROUTER prefixes each message with the sender's routing id
// (its Identity, or a generated 5-byte id) and routes replies by it; an
// unknown id is dropped and counted, or ErrUnroutable with RouterMandatory.
// REQ and REP add and strip the empty-delimiter envelope and enforce strict
// alternation (ErrState). PAIR accepts one peer. PUB fans out with a queue
// per subscriber, filters by prefix on the publisher side, and drops (and
// counts) for a subscriber at its high-water mark without slowing the others.
// A PUB or XPUB holds each peer's subscriptions within a budget
// (Options.MaxSubs and MaxSubBytes, by default 100,000 prefixes and 16 MiB
// per peer): a peer that subscribes past it is disconnected and counted
// (Stats.SubLimited), and what it held is released, an XPUB passing the
// cancels to Recv. libzmq has no such limit.
// Subscriptions are counted, as in libzmq: Unsubscribe (or a peer's
// cancel) removes one reference, and a prefix goes when its last one does;
// a count saturates at 2^32-1, and one peer's set on a PUB or XPUB holds
// at most 4 GiB of prefix bytes, past which a subscribe is not recorded
// (far past the default budget). A SUB's own prefixes live in a counted
// trie (trie.go) and a PUB's per-peer sets in an extendible hash
// (subset.go) past 16 prefixes; their nodes and slots hold no Go
// pointers, so the garbage collector does not scan them.
// SUB sends its subscriptions to every publisher and again after a
// reconnect; XPUB passes subscription messages to Recv (a prefix's first
// subscribe and last cancel across peers; every subscribe with
// Options.XPubVerbose, every subscribe and cancel with XPubVerboser); XSUB forwards
// subscription messages given to Send upstream. As in libzmq, an endpoint
// passed to Connect gets its queue at once, so messages sent before the peer
// is up wait for it (and survive a reconnect).
package socket
