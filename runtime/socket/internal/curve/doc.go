// Package curve is the CurveZMQ security mechanism (ZeroMQ RFC 26, carried
// by ZMTP 3 as RFC 37 describes) for topo's sockets, byte for byte as libzmq
// 4.3 speaks it, and Z85 (RFC 32) for keys. It is a core with no I/O: it
// consumes and produces ZMTP command bodies; the socket layer frames them,
// writes the greeting with mechanism "CURVE", and owns the connection.
//
// # Handshake
//
// One Client or Server per connection, used by one goroutine, once:
//
//	client                          server
//	c, _ := NewClient(cfg)          s, _ := NewServer(cfg)
//	hello, _ := c.Hello()      →    welcome, err := s.OnHello(hello)
//	initiate, err :=           ←
//	    c.OnWelcome(welcome)   →    reply, sess, err := s.OnInitiate(initiate)
//	sess, err := c.OnReady(reply) ←
//
// Each body goes in a ZMTP command frame (the COMMAND flag set); none is
// longer than MaxHandshakeLen(MaxMetadata), so the framer can refuse a
// longer frame before reading it. libzmq 4.3 writes as-server 0 in its
// greeting whatever its role, so the role comes from configuration, not
// from the peer's greeting. Every error
// ends that connection and no other: close it. The one error with a reply is
// a refusal by ServerConfig.Authorize: OnInitiate then returns an ERROR body
// (reason ErrorReason, "400", as libzmq's ZAP sends) to write before closing,
// and a *RefusedError; the client's OnWelcome or OnReady turns an ERROR into a
// *PeerError. Both satisfy errors.Is(err, ErrRefused). A HELLO sealed for
// another server key, a cookie made for another connection, a replayed
// INITIATE, a nonce that does not increase, or metadata over MaxMetadata
// (DefaultMaxMetadata, 16 KiB, when zero) end the handshake without reply.
//
// Keys: each side has a long-term KeyPair (GenerateKey, PublicFromSecret,
// ParseKey for the 40-character Z85 form, DeriveKeyPair for keys shared
// through a seed) and NewClient/NewServer make a short-term pair for the
// connection. The server's cookie key is made in OnHello and wiped in
// OnInitiate, as libzmq does, so a cookie from another connection never
// opens; short-term secrets are wiped once the Session holds the
// precomputed shared key (box.Precompute), which is all the data path uses.
//
// Metadata (Socket-Type, Identity and any application properties) travels
// encrypted in INITIATE and READY, in ZMTP property encoding
// (AppendMetadata, ParseMetadata), and is available from
// Session.PeerMetadata; the client's long-term key from Session.PeerKey.
//
// # After the handshake
//
// Every frame, data and commands alike (PING, PONG, SUBSCRIBE, CANCEL), goes
// out as the body of a MESSAGE command made by Session.Seal: "\x07MESSAGE",
// an 8-byte short nonce (prefixed "CurveZMQMESSAGEC" from the client,
// "CurveZMQMESSAGES" from the server), and a box whose first plaintext byte
// holds FlagMore and FlagCommand, then the frame's bytes. As in libzmq 4.3,
// that body is written in a ZMTP frame with no flags set; Session.Open on
// the other side gives back the inner flags and payload. A command is
// sealed whole with FlagCommand: "\x04PING" with TTL and context, "\x04PONG"
// with the context, "\x09SUBSCRIBE" or "\x06CANCEL" with the prefix (what
// libzmq sends to a ZMTP 3.1 peer; to a 3.0 peer it sends a subscription as
// a data frame of 0x01 or 0x00 and the prefix). libzmq 4.3 recognises these
// commands inside a box whatever minor version the greeting named
// (process_command_message in zmtp_engine.cpp); the interop tests exercise
// PING, PONG and SUBSCRIBE against it.
//
// Seal takes the connection's next nonce (client from 3, server from 2, as
// libzmq counts), so every writer of a connection must share its Session and
// put bodies on the wire in the order Seal made them: the caller serializes
// Seal with the write. Open is called by the one reader, in arrival order,
// and accepts only strictly increasing nonces. Seal and Open may run
// concurrently with each other. Neither allocates when dst has room
// (SealedLen, MessageOverhead). SealFrame also writes the ZMTP frame header,
// so a writer sends each frame in one piece; OpenInPlace decrypts inside the
// received body and returns the payload as a subslice of it, with no copy.
package curve
