package topology

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Topology is a decoded, evaluated and validated topology file: pure data.
// Every element keeps the source range it came from.
type Topology struct {
	// Hosts are the host blocks in file order: the machines the
	// instances are placed on. Empty when the file declares none; then
	// every instance runs in the one process (Instance.Host is a label)
	// and references resolve as on one machine.
	Hosts []*Host
	// Nodes are the node blocks in file order.
	Nodes []*Node
	// Instances are the node replicas (count expanded) in file order:
	// "ventilator", "worker[0]", ..., "sink".
	Instances []*Instance
	// Edges are the socket pairs the topology wires: one per (connecting
	// socket, bound socket) pair resolved through a reference or a literal
	// endpoint that some instance binds.
	Edges []*Edge
	// Plugins are the plugin blocks by name.
	Plugins []*Plugin
	// Variables are the declared variables with their final values.
	Variables []*Variable
	// StartOrder lists instance names in the order the runtime creates
	// and binds them, and connects them (each once the instances it
	// connects to have bound, while later ones bind): depends_on targets first,
	// then (where no cycle prevents it) binders before connectors, ties in
	// file order. Bodies start later, each once its ExpectedPeers are
	// connected and its depends_on nodes are running. InStartOrder returns
	// the instances themselves.
	StartOrder []string
	// Curve is the top-level curve block (the seed every socket's CURVE
	// keys are derived from), or nil.
	Curve *Curve
}

// Node is one node block.
type Node struct {
	Name      string
	Kind      string // the type attribute: "worker", "text.upper"
	Count     int    // -1 when the block has no count
	Restart   string // "never" | "on-failure" | "always"
	Isolation string // "goroutine" | "process"
	// Host is the host every instance of the node is placed on when they
	// all share one, "" when the node sets no host or its replicas are
	// spread over several (host = "w${count.index % 2}"). Placement is
	// per instance: read Instance.Host. Node.Host stays for callers that
	// label a node as a whole (runtime's Prometheus host label).
	Host      string
	DependsOn []string
	DeclRange hcl.Range
	TypeRange hcl.Range
	// AttrRanges holds the range of the value of each kind attribute
	// written in the block, by name: where a diagnostic about the value
	// points (see CheckDiagnostics).
	AttrRanges map[string]hcl.Range
}

// Instance is one replica of a node: what the runtime runs.
type Instance struct {
	Name  string // "worker[2]", or the node name without count
	Node  *Node
	Index int // count.index; 0 without count
	// Host is the host the instance is placed on: the node's host
	// expression evaluated for this replica (it may use count.index).
	// When the file declares hosts it names one of Topology.Hosts;
	// without host blocks it is a free label, "" when unset.
	Host      string
	Attrs     cty.Value // object with every attribute of the kind, defaults applied
	Sockets   []*Socket
	DeclRange hcl.Range
}

// Socket returns the instance's socket with that name, or nil.
func (i *Instance) Socket(name string) *Socket {
	for _, s := range i.Sockets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Socket is one socket block of an instance, evaluated.
type Socket struct {
	Name      string
	Type      string // upper case: "PUSH"
	Bind      []Endpoint
	Connect   []Endpoint
	Subscribe []string
	HWM       int // 0 = default
	Identity  string
	// Curve is the socket's curve block, or nil: plaintext, unless it
	// connects to an in-file CURVE server (see Edge.Curve).
	Curve *SocketCurve
	// CurveRole is the socket's CURVE role, set by Decode: "server",
	// "client" (its curve block has a server key, or it connects to an
	// in-file CURVE server, whose key the runtime hands it), or ""
	// (plaintext).
	CurveRole string
	DeclRange hcl.Range
}

// Endpoint is one bind or connect address.
type Endpoint struct {
	// URL is the endpoint as written or resolved: "tcp://*:5557" for a
	// bind; for a connect through a reference, the bound endpoint with a
	// wildcard host made connectable ("tcp://127.0.0.1:5557").
	URL string
	// Ref is set when a connect came from a reference node.NAME.SOCKET:
	// the instance and socket it points at. The runtime uses it to
	// re-resolve ephemeral ports (tcp://127.0.0.1:0) after binding.
	// Across hosts the URL is the bind's tcp endpoint with its host
	// replaced by the bound instance's host address
	// ("tcp://10.0.0.3:5558" for tcp://*:5558 on host sink); Ref still
	// names the bound socket.
	Ref *SocketRef
	// Written is a bind as the file wrote it ("tcp://*:5557") when URL
	// is not: Options.LoopbackHosts (-host all) put the host's loopback
	// address in URL ("tcp://127.0.0.2:5557"). Empty otherwise.
	Written string
	Range   hcl.Range
}

// SocketRef names one socket of one instance.
type SocketRef struct {
	Instance string // "sink", "worker[1]"
	Socket   string // "in"
}

func (r SocketRef) String() string { return r.Instance + "." + r.Socket }

// Edge is one wired pair: Connect's socket connects to Bind's socket.
type Edge struct {
	Connect     SocketRef
	Bind        SocketRef
	ConnectType string
	BindType    string
	Endpoint    string // the endpoint the connect uses: for a cross-host edge, on the bound host's address
	// ConnectHost and BindHost are the hosts of the two instances
	// (Instance.Host). CrossHost is set when the file declares hosts and
	// they differ: the edge then goes over tcp to the bound host's
	// address, which Endpoint holds.
	ConnectHost string
	BindHost    string
	CrossHost   bool
	// Lossy explains when messages can be dropped on this edge ("" if never):
	// "PUB drops for a subscriber at its HWM", ...
	Lossy string
	// PeerLoss explains what is lost on this edge when the node at either
	// end dies or restarts (never ""): ZeroMQ neither acknowledges nor
	// resends, so a PUSH→PULL edge loses what sat in the dead puller's
	// queues and socket buffers and what it had taken but not finished.
	PeerLoss string
	// Curve is set when the edge is encrypted and authenticated with
	// CURVE: one end is a CURVE server (a curve block without server_key),
	// the other its client.
	Curve bool
	Range hcl.Range // the connect expression
}

// Host is one host block: a machine instances are placed on.
type Host struct {
	Name string
	// Address is how instances on other hosts reach this one: an IP
	// address (IPv6 without brackets) or a DNS name. It is the file's
	// address unless Options.HostAddresses or Options.LoopbackHosts gave
	// another at decode time.
	Address string
	// AddressSource says where Address came from: "file",
	// "HostAddresses" (-host-address) or "loopback" (-host all).
	AddressSource string
	DeclRange     hcl.Range
}

// Plugin is one plugin block.
type Plugin struct {
	Name    string
	Command string // an executable path, relative to the file's directory
	Source  string // a Go package directory to build, relative to the file
	SHA256  string // optional pin of the executable
	// Env is added to the plugin process's environment (after topo's own),
	// e.g. GOMAXPROCS or the plugin's own settings.
	Env       map[string]string
	DeclRange hcl.Range
}

// Variable is a declared variable and its final value.
type Variable struct {
	Name        string
	Description string
	Type        cty.Type
	Value       cty.Value
	Source      string // "default", "-var", "-var-file", "env", "program" (Options.Values)
	DeclRange   hcl.Range
}

// Schemas tells the topology package what kinds exist. The caller supplies it
// (built-in kinds, registered kinds, plugin kinds), so topology never
// imports the runtime.
type Schemas interface {
	// Schema returns the schema of a kind by its full name ("worker",
	// "text.upper"), or false.
	Schema(kind string) (*KindSchema, bool)
	// Kinds lists every known kind name (for "did you mean").
	Kinds() []string
}

// KindSchema is what validation knows of a kind.
type KindSchema struct {
	Name    string
	Task    bool // finishes on its own
	Attrs   []AttrSchema
	Sockets []SocketSchema
	// Check, if set, is the kind's own check of one instance's
	// attributes (inst.Attrs: converted, defaults applied, all known),
	// for what the types cannot say: ranges, formats, choices. Decode
	// calls it for every instance whose attributes had no other error
	// and reports what it returns with CheckDiagnostics. It must be pure
	// and must not keep inst.
	Check func(inst *Instance) []AttrProblem
}

// AttrProblem is one thing a kind's own check found wrong with an
// instance's attributes.
type AttrProblem struct {
	Attr string // the attribute at fault; "" for the node as a whole
	Msg  string // what is wrong: "must not be negative, got -1"
}

// InstanceProblem is an AttrProblem found in one instance.
type InstanceProblem struct {
	Instance *Instance
	AttrProblem
}

// AttrSchema is one kind attribute.
type AttrSchema struct {
	Name     string
	Type     cty.Type
	Required bool
	Default  cty.Value // used when absent and not required
	Doc      string
}

// SocketSchema is one socket a kind uses.
type SocketSchema struct {
	Name     string
	Types    []string // upper case
	Optional bool
	Doc      string
	// Subscribes is set when the kind picks its own SUB subscriptions for
	// this socket if the topology gives none (the weather client subscribes
	// to its zip code); validation then does not warn about a SUB socket
	// without subscribe.
	Subscribes bool
}

// Options steer evaluation. The zero value evaluates with defaults only
// and knows no kinds (every node type is then "unknown").
type Options struct {
	// Args are the -var and -var-file flags in command-line order, each
	// as {Flag: "var", Value: "name=value"} or {Flag: "var-file", Value: path}.
	// Later ones win, as in Terraform.
	Args []VarArg
	// Environ is os.Environ()-style; TOPO_VAR_name=value entries set
	// variables with the lowest precedence above defaults.
	Environ []string
	// Values are variable values set by an embedding program, by name.
	// They override defaults and Environ, and Args override them; each is
	// converted to the variable's type. Setting an undeclared variable is
	// an error, as with -var.
	Values map[string]cty.Value
	// Schemas knows the kinds; nil means none.
	Schemas Schemas
	// HostAddresses replace the address of declared hosts, by host name
	// (`topo apply -host-address NAME=ADDR`: a pod's DNS name, a NAT, a
	// test). Each value must be an IP address or a DNS name; a name that
	// no host block declares is an error. They apply after LoopbackHosts.
	HostAddresses map[string]string
	// LoopbackHosts runs a multi-host file on one machine (`topo apply
	// -host all`): every declared host gets its own loopback address,
	// LoopbackAddresses' 127.0.0.2, 127.0.0.3, ... in declaration order,
	// and every tcp bind of an instance on a host binds that host's
	// address instead of the one written (tcp://*:5558 on the second host
	// becomes tcp://127.0.0.3:5558), so replicas that share a port on
	// different hosts do not collide. Without host blocks it does nothing.
	LoopbackHosts bool
}

// VarArg is one -var or -var-file command-line flag.
type VarArg struct {
	Flag  string // "var" or "var-file"
	Value string
}

// The loading API (implemented in this package's other files):
//
//	func Parse(filename string, src []byte) (*File, hcl.Diagnostics)  // .hcl or .hcl.json by name
//	func ParseFile(path string) (*File, hcl.Diagnostics)
//	func (f *File) Sources() map[string]*hcl.File                      // for hcl.NewDiagnosticTextWriter
//	func (f *File) Plugins(opts Options) ([]*Plugin, hcl.Diagnostics)  // plugin blocks, evaluated, before kinds are known
//	func Decode(f *File, opts Options) (*Topology, hcl.Diagnostics)    // evaluate + validate; warnings too
//	func Load(filename string, src []byte, opts Options) (*Topology, *File, hcl.Diagnostics) // Parse + Decode
