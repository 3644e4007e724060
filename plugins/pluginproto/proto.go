package pluginproto

import (
	"encoding/json"
	"fmt"
	"os"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// ProtocolVersion is the version of this protocol. A host and a plugin
// built against different versions refuse each other with a
// "protocol version mismatch" error. Adding a method (as Health was) does
// not change it; see the package doc, Compatibility.
const ProtocolVersion = 1

// ProtocolRevision counts the compatible additions to ProtocolVersion a
// plugin serves, and is sent in Description.Revision: 0 is every plugin
// built before revisions were counted (Health included), 1 adds Check and
// KindDesc.Check, 2 adds SocketSpec.Curve, 3 adds the Tap stream. A host
// uses it to skip calls a plugin cannot answer, to refuse to hand CURVE
// sockets to a plugin that would ignore the field, and to refuse a tap on
// a plugin that cannot stream one.
const ProtocolRevision = 3

// The go-plugin magic cookie: not a security measure, it tells a binary that
// it was started by topo as a plugin.
const (
	MagicCookieKey   = "TOPO_PLUGIN"
	MagicCookieValue = "9c1f6d4e-topo-node-plugin"
)

// PluginName is the name the node service is dispensed under.
const PluginName = "node"

// Environment variables the host sets for a plugin process.
const (
	// EnvParentFD names the file descriptor of a pipe whose write end the
	// host holds: when it reads EOF the host is gone and the plugin exits.
	EnvParentFD = "TOPO_PLUGIN_PARENT_FD"
	// EnvLogLevel is the slog level ("DEBUG", "INFO", ...) the plugin logs at.
	EnvLogLevel = "TOPO_PLUGIN_LOG_LEVEL"
)

// Handshake returns the go-plugin handshake topo's host and plugins share.
func Handshake() plugin.HandshakeConfig {
	return HandshakeVersion(ProtocolVersion)
}

// HandshakeVersion is Handshake for another protocol version. Only tests and
// compatibility shims need it.
func HandshakeVersion(v uint) plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  v,
		MagicCookieKey:   MagicCookieKey,
		MagicCookieValue: MagicCookieValue,
	}
}

// IsChild reports whether this process was started by a topo host as a
// plugin (the magic cookie is in its environment). A test binary that serves
// itself checks it first thing in TestMain.
func IsChild() bool {
	return os.Getenv(MagicCookieKey) == MagicCookieValue
}

// Description is a plugin's answer to Describe.
type Description struct {
	// Protocol is the plugin's ProtocolVersion, checked again by the host
	// after go-plugin's own negotiation.
	Protocol int `json:"protocol"`
	// Revision is the plugin's ProtocolRevision (0 when it predates it).
	Revision int        `json:"revision,omitempty"`
	Kinds    []KindDesc `json:"kinds"`
	Pid      int        `json:"pid"`
}

// HealthStatus is a plugin's answer to Health: the node's own verdict.
type HealthStatus struct {
	// Error is what the node's Health returned, or why it gave no answer
	// in time; "" means healthy.
	Error string `json:"error,omitempty"`
}

// CheckRequest asks Check about the configurations of node instances,
// each of a kind the plugin serves.
type CheckRequest struct {
	Configs []CheckConfig `json:"configs"`
}

// CheckConfig is one instance's configuration: plugins.Config and its kind.
type CheckConfig struct {
	Kind  string `json:"kind"` // the bare kind name ("upper")
	Name  string `json:"name"` // the instance name ("shout[1]")
	Index int    `json:"index"`
	Attrs Value  `json:"attrs"` // object, defaults applied
}

// CheckReply answers a CheckRequest: Problems[i] is what the kind's check
// found wrong with Configs[i]; empty when nothing is, or when the kind has
// no check.
type CheckReply struct {
	Problems [][]AttrProblem `json:"problems"`
}

// AttrProblem is plugins.AttrError on the wire.
type AttrProblem struct {
	Attr string `json:"attr,omitempty"` // "" for the node as a whole
	Msg  string `json:"msg"`
}

// KindDesc describes one kind (plugins.Kind without New).
type KindDesc struct {
	Name    string       `json:"name"`
	Doc     string       `json:"doc,omitempty"`
	Life    string       `json:"life"` // "task" or "service"
	Attrs   []AttrDesc   `json:"attrs,omitempty"`
	Sockets []SocketDesc `json:"sockets,omitempty"`
	// Check is set when the kind has a configuration check
	// (plugins.Kind.Check) that the Check call runs (revision 1).
	Check bool `json:"check,omitempty"`
}

// AttrDesc describes one attribute. Type is a cty type as ctyjson.MarshalType
// writes it; Default is the default value with its own type, or nil when the
// attribute is required.
type AttrDesc struct {
	Name    string          `json:"name"`
	Type    json.RawMessage `json:"type"`
	Default *Value          `json:"default,omitempty"`
	Doc     string          `json:"doc,omitempty"`
}

// SocketDesc describes one socket a kind uses.
type SocketDesc struct {
	Name     string   `json:"name"`
	Types    []string `json:"types"`
	Optional bool     `json:"optional,omitempty"`
	Doc      string   `json:"doc,omitempty"`
}

// Spec is plugins.Spec on the wire.
type Spec struct {
	Name    string       `json:"name"`
	Run     string       `json:"run,omitempty"`
	Index   int          `json:"index"`
	Kind    string       `json:"kind"`
	Attrs   Value        `json:"attrs"`
	Sockets []SocketSpec `json:"sockets"`
}

// SocketSpec is plugins.SocketSpec on the wire. A nil Subscribe (JSON null)
// and an empty one ([]) stay distinct.
type SocketSpec struct {
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	Bind      []string `json:"bind"`
	Subscribe []string `json:"subscribe"`
	HWM       int      `json:"hwm"`
	Identity  string   `json:"identity"`
	Expect    int      `json:"expect"`
	Peers     []string `json:"peers,omitempty"`
	// Curve is the socket's CURVE mechanism (revision 2); absent for
	// plaintext.
	Curve *CurveSpec `json:"curve,omitempty"`
}

// CurveSpec is socket.Curve on the wire: keys as 40 characters of Z85.
// Secret is the socket's secret key; it crosses only the host's private
// connection to its own plugin process.
type CurveSpec struct {
	Public     string            `json:"public,omitempty"`
	Secret     string            `json:"secret,omitempty"`
	ServerKey  string            `json:"server_key,omitempty"`
	ServerKeys map[string]string `json:"server_keys,omitempty"`
	Allow      []string          `json:"allow,omitempty"`
}

// TapRequest opens a Tap stream (revision 3) on the node's socket named
// Socket. Ring is the size of the plugin side's ring of copied messages
// (0 or less: 1024).
type TapRequest struct {
	Socket string `json:"socket"`
	Ring   int    `json:"ring,omitempty"`
}

// TapEvent is one message of a Tap stream. The first of every stream has
// Attached set and nothing else: the tap is installed on the socket, and
// every message from then on is either sent or counted in Skipped. Every
// other event carries Skipped (messages the plugin side's ring had no
// room for since the previous event) and, when Msg is set, one message
// the socket sent (Out) or received, copied at Time (Unix nanoseconds)
// with each frame cut to the plugin's TapFrameMax (Truncated).
type TapEvent struct {
	Attached  bool     `json:"attached,omitempty"`
	Skipped   uint64   `json:"skipped,omitempty"`
	Msg       bool     `json:"msg,omitempty"`
	Time      int64    `json:"time,omitempty"`
	Out       bool     `json:"out,omitempty"`
	Frames    [][]byte `json:"frames,omitempty"`
	Truncated bool     `json:"truncated,omitempty"`
}

// Value is a cty value with its type, so it round-trips exactly. The zero
// Value is cty.NilVal.
type Value struct {
	Type  json.RawMessage `json:"type,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
}

// EncodeValue encodes v; cty.NilVal encodes as the zero Value.
func EncodeValue(v cty.Value) (Value, error) {
	if v == cty.NilVal {
		return Value{}, nil
	}
	ty, err := ctyjson.MarshalType(v.Type())
	if err != nil {
		return Value{}, fmt.Errorf("encode type %s: %w", v.Type().FriendlyName(), err)
	}
	val, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return Value{}, fmt.Errorf("encode %s value: %w", v.Type().FriendlyName(), err)
	}
	return Value{Type: ty, Value: val}, nil
}

// DecodeValue is the inverse of EncodeValue.
func DecodeValue(w Value) (cty.Value, error) {
	if len(w.Type) == 0 {
		return cty.NilVal, nil
	}
	ty, err := ctyjson.UnmarshalType(w.Type)
	if err != nil {
		return cty.NilVal, fmt.Errorf("decode type: %w", err)
	}
	v, err := ctyjson.Unmarshal(w.Value, ty)
	if err != nil {
		return cty.NilVal, fmt.Errorf("decode %s value: %w", ty.FriendlyName(), err)
	}
	return v, nil
}

// EncodeType encodes a cty type (cty.NilType as JSON null).
func EncodeType(t cty.Type) (json.RawMessage, error) {
	if t == cty.NilType {
		return json.RawMessage("null"), nil
	}
	return ctyjson.MarshalType(t)
}

// DecodeType is the inverse of EncodeType.
func DecodeType(b json.RawMessage) (cty.Type, error) {
	if len(b) == 0 || string(b) == "null" {
		return cty.NilType, nil
	}
	return ctyjson.UnmarshalType(b)
}
