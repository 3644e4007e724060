package socket

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/go-zeromq/zmq4"
)

// Plain is the ZMTP PLAIN security mechanism (RFC 24, libzmq's
// ZMQ_PLAIN_USERNAME / _PASSWORD / ZMQ_PLAIN_SERVER), for Options.Security.
// A connecting socket is the PLAIN client: every handshake, first connection
// and reconnects alike, sends Username and Password. A binding socket is the
// server: it accepts a client whose credentials Authenticate approves, or,
// with Authenticate nil, exactly Username and Password. Credentials and
// messages cross the wire in clear.
//
// A Plain value is never modified by a handshake, so one value may serve
// any number of sockets and concurrent handshakes. (zmq4's own
// security/plain client clears its credentials after its first handshake,
// so a reconnect would send empty ones; NewSocket rejects it.)
type Plain struct {
	Username, Password string
	// Authenticate, if set, decides on a binding socket whether a client
	// may connect. It is called from the socket's handshake goroutines,
	// possibly concurrently, and must not block for long (the handshake
	// deadline runs).
	Authenticate func(username, password string) bool
}

var _ zmq4.Security = Plain{}

// Type returns zmq4.PlainSecurity.
func (Plain) Type() zmq4.SecurityType { return zmq4.PlainSecurity }

// Encrypt copies data to w: PLAIN does not encrypt.
func (Plain) Encrypt(w io.Writer, data []byte) (int, error) { return w.Write(data) }

// Decrypt copies data to w: PLAIN does not encrypt.
func (Plain) Decrypt(w io.Writer, data []byte) (int, error) { return w.Write(data) }

// errAuth is a PLAIN handshake refused for its credentials.
var errAuth = errors.New("socket: PLAIN credentials refused")

// Handshake runs the PLAIN handshake after the greeting, as the server
// (HELLO, WELCOME, INITIATE, READY) or the client. zmq4.Open calls it.
func (pl Plain) Handshake(conn *zmq4.Conn, server bool) error {
	if server {
		return pl.serverHandshake(conn)
	}
	return pl.clientHandshake(conn)
}

func (pl Plain) clientHandshake(conn *zmq4.Conn) error {
	if len(pl.Username) > 255 || len(pl.Password) > 255 {
		return fmt.Errorf("PLAIN: username and password must be at most 255 bytes")
	}
	hello := make([]byte, 0, 2+len(pl.Username)+len(pl.Password))
	hello = append(hello, byte(len(pl.Username)))
	hello = append(hello, pl.Username...)
	hello = append(hello, byte(len(pl.Password)))
	hello = append(hello, pl.Password...)
	if err := conn.SendCmd(zmq4.CmdHello, hello); err != nil {
		return fmt.Errorf("PLAIN: send HELLO: %w", err)
	}
	if err := expectCmd(conn, zmq4.CmdWelcome); err != nil {
		return err
	}
	meta, err := conn.Meta.MarshalZMTP()
	if err != nil {
		return fmt.Errorf("PLAIN: metadata: %w", err)
	}
	if err := conn.SendCmd(zmq4.CmdInitiate, meta); err != nil {
		return fmt.Errorf("PLAIN: send INITIATE: %w", err)
	}
	cmd, err := recvCmd(conn, zmq4.CmdReady)
	if err != nil {
		return err
	}
	if err := conn.Peer.Meta.UnmarshalZMTP(cmd.Body); err != nil {
		return fmt.Errorf("%w: PLAIN: peer metadata: %v", errProtocol, err)
	}
	return nil
}

func (pl Plain) serverHandshake(conn *zmq4.Conn) error {
	cmd, err := recvCmd(conn, zmq4.CmdHello)
	if err != nil {
		return err
	}
	user, pass, ok := parsePlainHello(cmd.Body)
	if !ok {
		_ = conn.SendCmd(zmq4.CmdError, errorReason("malformed HELLO"))
		return fmt.Errorf("%w: PLAIN: malformed HELLO", errProtocol)
	}
	if !pl.accept(user, pass) {
		_ = conn.SendCmd(zmq4.CmdError, errorReason("400")) // libzmq's reason for refused credentials
		return fmt.Errorf("PLAIN: user %q: %w", user, errAuth)
	}
	if err := conn.SendCmd(zmq4.CmdWelcome, nil); err != nil {
		return fmt.Errorf("PLAIN: send WELCOME: %w", err)
	}
	cmd, err = recvCmd(conn, zmq4.CmdInitiate)
	if err != nil {
		return err
	}
	if err := conn.Peer.Meta.UnmarshalZMTP(cmd.Body); err != nil {
		return fmt.Errorf("%w: PLAIN: peer metadata: %v", errProtocol, err)
	}
	meta, err := conn.Meta.MarshalZMTP()
	if err != nil {
		return fmt.Errorf("PLAIN: metadata: %w", err)
	}
	if err := conn.SendCmd(zmq4.CmdReady, meta); err != nil {
		return fmt.Errorf("PLAIN: send READY: %w", err)
	}
	return nil
}

func (pl Plain) accept(user, pass string) bool {
	if pl.Authenticate != nil {
		return pl.Authenticate(user, pass)
	}
	u := subtle.ConstantTimeCompare([]byte(user), []byte(pl.Username))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(pl.Password))
	return u&p == 1
}

// parsePlainHello parses a HELLO command body from an untrusted peer:
// username length, username, password length, password, nothing after.
func parsePlainHello(b []byte) (user, pass string, ok bool) {
	if len(b) < 1 || len(b) < 1+int(b[0])+1 {
		return "", "", false
	}
	user = string(b[1 : 1+int(b[0])])
	b = b[1+int(b[0]):]
	if len(b) != 1+int(b[0]) {
		return "", "", false
	}
	return user, string(b[1:]), true
}

// errorReason encodes an ERROR command body (a short string).
func errorReason(r string) []byte {
	return append([]byte{byte(len(r))}, r...)
}

// recvCmd reads the next command and fails unless it is want; an ERROR
// from the peer is reported with its reason.
func recvCmd(conn *zmq4.Conn, want string) (zmq4.Cmd, error) {
	cmd, err := conn.RecvCmd()
	if err != nil {
		return cmd, fmt.Errorf("PLAIN: waiting for %s: %w", want, err)
	}
	if cmd.Name == zmq4.CmdError {
		reason := cmd.Body
		if len(reason) > 0 && int(reason[0]) == len(reason)-1 {
			reason = reason[1:]
		}
		return cmd, fmt.Errorf("PLAIN: peer sent ERROR %q instead of %s: %w", reason, want, errAuth)
	}
	if cmd.Name != want {
		return cmd, fmt.Errorf("%w: PLAIN: got %s, want %s", errProtocol, cmd.Name, want)
	}
	return cmd, nil
}

func expectCmd(conn *zmq4.Conn, want string) error {
	_, err := recvCmd(conn, want)
	return err
}
