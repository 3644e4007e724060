package socket

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/go-zeromq/zmq4"

	"github.com/topo-zmq/topo/runtime/socket/internal/curve"
)

// CURVE on topo's connections (Options.Security = Curve). The handshake
// runs after zmq4's greeting (mechanism "CURVE") as a zmq4.Security of its
// own (curveShake), one per connection, driving the mechanism core
// (internal/curve) with the socket's keys; the metadata it carries is the
// one NULL's READY carries (Socket-Type, Identity, X-Topo-Run, X-Topo-Peer,
// through announcer). Its result is the connection's curve.Session, which
// the frame layer then uses for every frame in both directions: curveCodec
// seals what the connection writes (under conn.wmu, so the writer
// goroutine and direct writes take nonces in wire order), and the
// frameReader opens what it reads (frame.go).

// curveConf is a socket's CURVE configuration, fixed by NewSocket.
type curveConf struct {
	client     bool
	key        curve.KeyPair
	serverKey  [32]byte
	serverKeys map[string]CurveKey
	allow      map[[32]byte]struct{} // nil: any client
}

// newCurveConf checks c and completes its key pair (a fresh one when the
// secret is zero).
func newCurveConf(c Curve) (*curveConf, error) {
	cc := &curveConf{client: c.Client(), serverKey: c.ServerKey}
	switch {
	case c.Key.Secret.IsZero():
		kp, err := curve.GenerateKey(nil)
		if err != nil {
			return nil, err
		}
		cc.key = kp
	default:
		pub := curve.PublicFromSecret(c.Key.Secret)
		if !c.Key.Public.IsZero() && c.Key.Public != CurveKey(pub) {
			return nil, errors.New("CURVE: Key.Public is not the public key of Key.Secret")
		}
		cc.key = curve.KeyPair{Public: pub, Secret: c.Key.Secret}
	}
	if len(c.ServerKeys) > 0 {
		cc.serverKeys = make(map[string]CurveKey, len(c.ServerKeys))
		for ep, k := range c.ServerKeys {
			if k.IsZero() {
				return nil, fmt.Errorf("CURVE: ServerKeys[%q] is zero", ep)
			}
			cc.serverKeys[ep] = k
		}
	}
	if c.Allow != nil {
		if cc.client {
			return nil, errors.New("CURVE: Allow is for a server (a Curve without ServerKey or ServerKeys)")
		}
		cc.allow = make(map[[32]byte]struct{}, len(c.Allow))
		for _, k := range c.Allow {
			cc.allow[k] = struct{}{}
		}
	}
	return cc, nil
}

// serverKeyFor is the server key a client uses on a connection of endpoint
// ep ("" for an accepted connection); false if it has none.
func (cc *curveConf) serverKeyFor(ep string) ([32]byte, bool) {
	if k, ok := cc.serverKeys[ep]; ok && ep != "" {
		return k, true
	}
	return cc.serverKey, cc.serverKey != [32]byte{}
}

// errNotAllowed is what Authorize returns for a key not in Allow.
var errNotAllowed = errors.New("public key not in Allow")

func (cc *curveConf) authorize(k [32]byte) error {
	if cc.allow == nil {
		return nil
	}
	if _, ok := cc.allow[k]; ok {
		return nil
	}
	return errNotAllowed
}

// curveShake is the zmq4.Security of one CURVE handshake: zmq4.Open writes
// the greeting with its Type ("CURVE") and calls Handshake, which runs the
// core in the role the keys give and leaves the Session in sess.
type curveShake struct {
	cc       *curveConf
	endpoint string // connected endpoint ("" when accepted): picks the server key
	sess     *curve.Session
}

func (*curveShake) Type() zmq4.SecurityType { return zmq4.CurveSecurity }

// Encrypt and Decrypt pass handshake commands through: zmq4 calls them on
// every command it sends and receives; the data phase never goes through
// zmq4.
func (*curveShake) Encrypt(w io.Writer, data []byte) (int, error) { return w.Write(data) }
func (*curveShake) Decrypt(w io.Writer, data []byte) (int, error) { return w.Write(data) }

// Handshake runs the CURVE handshake on conn. The role comes from the
// keys, not from zmq4's server flag.
func (h *curveShake) Handshake(conn *zmq4.Conn, _ bool) error {
	raw, err := conn.Meta.MarshalZMTP()
	if err != nil {
		return fmt.Errorf("CURVE: metadata: %w", err)
	}
	meta, err := curve.ParseMetadata(raw, 0)
	if err != nil {
		return fmt.Errorf("CURVE: metadata: %w", err)
	}
	var peer curve.Metadata
	if h.cc.client {
		peer, err = h.client(conn, meta)
	} else {
		peer, err = h.server(conn, meta)
	}
	if err != nil {
		return err
	}
	enc, err := curve.AppendMetadata(nil, peer, 0)
	if err != nil {
		return fmt.Errorf("%w: CURVE: peer metadata: %v", errProtocol, err)
	}
	if err := conn.Peer.Meta.UnmarshalZMTP(enc); err != nil {
		return fmt.Errorf("%w: CURVE: peer metadata: %v", errProtocol, err)
	}
	return nil
}

func (h *curveShake) client(conn *zmq4.Conn, meta curve.Metadata) (curve.Metadata, error) {
	sk, ok := h.cc.serverKeyFor(h.endpoint)
	if !ok {
		return nil, errors.New("CURVE: no server key for this endpoint")
	}
	c, err := curve.NewClient(curve.ClientConfig{Key: h.cc.key, ServerKey: sk, Metadata: meta})
	if err != nil {
		return nil, err
	}
	hello, err := c.Hello()
	if err != nil {
		return nil, err
	}
	if err := sendBody(conn, hello); err != nil {
		return nil, err
	}
	welcome, err := recvBody(conn)
	if err != nil {
		return nil, err
	}
	initiate, err := c.OnWelcome(welcome)
	if err != nil {
		return nil, err
	}
	if err := sendBody(conn, initiate); err != nil {
		return nil, err
	}
	ready, err := recvBody(conn)
	if err != nil {
		return nil, err
	}
	sess, err := c.OnReady(ready)
	if err != nil {
		return nil, err
	}
	h.sess = sess
	return sess.PeerMetadata(), nil
}

func (h *curveShake) server(conn *zmq4.Conn, meta curve.Metadata) (curve.Metadata, error) {
	s, err := curve.NewServer(curve.ServerConfig{Key: h.cc.key, Metadata: meta, Authorize: h.cc.authorize})
	if err != nil {
		return nil, err
	}
	hello, err := recvBody(conn)
	if err != nil {
		return nil, err
	}
	welcome, err := s.OnHello(hello)
	if err != nil {
		return nil, err
	}
	if err := sendBody(conn, welcome); err != nil {
		return nil, err
	}
	initiate, err := recvBody(conn)
	if err != nil {
		return nil, err
	}
	reply, sess, err := s.OnInitiate(initiate)
	if reply != nil {
		if serr := sendBody(conn, reply); serr != nil && err == nil {
			err = serr
		}
	}
	if err != nil {
		return nil, err
	}
	h.sess = sess
	return sess.PeerMetadata(), nil
}

// sendBody sends a command body as the core made it (name included).
func sendBody(conn *zmq4.Conn, b []byte) error {
	if len(b) < 1 || int(b[0]) > len(b)-1 {
		return fmt.Errorf("CURVE: malformed command")
	}
	n := int(b[0])
	return conn.SendCmd(string(b[1:1+n]), b[1+n:])
}

// recvBody reads the next command and gives its body with the name, as
// the core takes it.
func recvBody(conn *zmq4.Conn) ([]byte, error) {
	cmd, err := conn.RecvCmd()
	if err != nil {
		return nil, err
	}
	if len(cmd.Name) == 0 || len(cmd.Name) > 255 {
		return nil, fmt.Errorf("%w: CURVE: command name of %d bytes", errProtocol, len(cmd.Name))
	}
	b := make([]byte, 0, 1+len(cmd.Name)+len(cmd.Body))
	b = append(b, byte(len(cmd.Name)))
	b = append(b, cmd.Name...)
	return append(b, cmd.Body...), nil
}

// curveCodec is the frame codec of a CURVE connection: every frame, data
// and commands alike, goes out as a MESSAGE command body in a ZMTP frame
// with no flags, the frame's MORE and COMMAND flags inside the box, as
// libzmq 4.3 sends it. Used under conn.wmu only, so the nonce Seal takes
// follows the order frames reach the wire.
type curveCodec struct {
	sess    *curve.Session
	scratch []byte // frames that do not fit the writer's buffer
	err     error  // nonces exhausted: the connection must end
}

func curveFlags(flags byte) byte {
	var f byte
	if flags&flagMore != 0 {
		f |= curve.FlagMore
	}
	if flags&flagCommand != 0 {
		f |= curve.FlagCommand
	}
	return f
}

func (cc *curveCodec) appendFrame(b []byte, flags byte, body []byte) []byte {
	out, err := cc.sess.SealFrame(b, curveFlags(flags), body)
	if err != nil && cc.err == nil {
		cc.err = err
	}
	return out
}

func (cc *curveCodec) writeFrame(w *bufio.Writer, flags byte, body []byte) error {
	if cc.err != nil {
		return cc.err
	}
	need := 9 + curve.SealedLen(len(body))
	if w.Available() < need && w.Buffered() > 0 {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if w.Available() >= need {
		// Seal straight into the writer's buffer: no copy.
		out, err := cc.sess.SealFrame(w.AvailableBuffer(), curveFlags(flags), body)
		if err != nil {
			cc.err = err
			return err
		}
		_, err = w.Write(out)
		return err
	}
	out, err := cc.sess.SealFrame(cc.scratch[:0], curveFlags(flags), body)
	if err != nil {
		cc.err = err
		return err
	}
	if cap(out) <= 1<<20 {
		cc.scratch = out[:0]
	}
	_, err = w.Write(out)
	return err
}

func (cc *curveCodec) failed() error { return cc.err }
