package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/topo-zmq/topo/runtime/socket"
)

// Node is the behaviour of one node instance. Built-in, embedded and plugin
// nodes are all this one type; only who calls Run differs.
//
// Run blocks until the node is done. A task returns nil when it has finished
// its work; a service returns only when ctx is done (and then returns nil, or
// ctx.Err(), both of which count as a clean stop). Run must return promptly
// once ctx is done, and must own no goroutine after it returns. The sockets in
// env belong to the caller: Run must not close them.
//
// A returned error (or a panic, which the caller recovers) is a failure and is
// handled by the node's restart policy.
type Node interface {
	Run(ctx context.Context, env Env) error
}

// NodeFunc adapts a function to Node.
type NodeFunc func(ctx context.Context, env Env) error

// Run calls f.
func (f NodeFunc) Run(ctx context.Context, env Env) error { return f(ctx, env) }

// HealthChecker may be implemented by a Node that can tell whether its body
// is still doing its job: not deadlocked, not spinning, not stuck on one
// message. It is opt-in; without it a node counts as healthy while its
// plugin process answers (plugin and isolation = "process" nodes) or its
// body has not returned (goroutine nodes).
//
// Health is called every health interval (runtime.Options.HealthInterval,
// pluginhost.Options.HealthInterval; default 1s) while Run is in flight, on
// another goroutine than Run's, so it must be safe concurrently with Run.
// It returns nil when healthy or an error saying what is wrong, and should
// return at once: a call that has not returned by ctx's deadline counts as
// a failure, and so does every later check while it is still running.
// After the health misses in a row (default 3) the node fails with an error
// wrapping ErrUnhealthy that quotes the last failure, and is restarted per
// its restart policy: a plugin process is killed; a goroutine node is
// stopped as at shutdown (ctx cancelled, sockets closed after the stop
// grace) and restarted once its body has returned.
//
// A typical Health watches a timestamp Run's loop keeps:
//
//	type worker struct{ busySince atomic.Int64 } // unix ns; 0 while idle
//
//	func (w *worker) Run(ctx context.Context, env plugins.Env) error {
//		for {
//			m, err := env.Socket("in").Recv(ctx)
//			if err != nil {
//				return err
//			}
//			w.busySince.Store(time.Now().UnixNano())
//			handle(m)
//			w.busySince.Store(0)
//		}
//	}
//
//	func (w *worker) Health(context.Context) error {
//		if t := w.busySince.Load(); t != 0 && time.Since(time.Unix(0, t)) > time.Minute {
//			return fmt.Errorf("stuck on one message for %s", time.Since(time.Unix(0, t)).Round(time.Second))
//		}
//		return nil
//	}
type HealthChecker interface {
	Health(ctx context.Context) error
}

// ErrUnhealthy marks the error a node fails with when its Health
// (HealthChecker) failed the health misses in a row. Check with errors.Is.
var ErrUnhealthy = errors.New("node reported unhealthy")

// Env is what a running node may use.
type Env struct {
	// Name is the instance name, e.g. "worker[2]".
	Name string
	// Sockets holds the node's sockets by the names its kind declares,
	// already bound, connected and (when the runtime starts a body) wired.
	// Optional sockets the topology did not declare are absent.
	Sockets map[string]*socket.Socket
	// Out is where user-visible output goes (topo's stdout, line-buffered,
	// prefixed by the runtime as it sees fit). Never write to os.Stdout.
	Out io.Writer
	// Log is the node's logger, already tagged with its name. Never nil.
	Log *slog.Logger
}

// Socket returns the named socket or nil.
func (e Env) Socket(name string) *socket.Socket { return e.Sockets[name] }

// Life says whether a kind finishes on its own.
type Life int

const (
	// Service nodes run until stopped: servers, publishers, workers, proxies.
	Service Life = iota
	// Task nodes finish: clients, sinks, counters. `topo apply` completes
	// when every task has finished.
	Task
)

func (l Life) String() string {
	if l == Task {
		return "task"
	}
	return "service"
}

// Attr describes one attribute a kind accepts in its node body.
type Attr struct {
	Name string
	// Type is the attribute's cty type (cty.String, cty.Number, cty.Bool,
	// cty.List(cty.String), ...). Durations are strings ("100ms").
	Type cty.Type
	// Default is used when the attribute is absent; cty.NilVal makes the
	// attribute required.
	Default cty.Value
	Doc     string
}

// Required reports whether the attribute has no default.
func (a Attr) Required() bool { return a.Default == cty.NilVal }

// SocketDecl describes one socket a kind uses.
type SocketDecl struct {
	Name string
	// Types lists the socket types the kind accepts for this socket.
	Types    []socket.Type
	Optional bool
	Doc      string
}

// Kind is a named node type: a config spec and a constructor.
type Kind struct {
	Name    string // "worker", or for a plugin's kinds the bare kind name ("upper")
	Doc     string
	Life    Life
	Attrs   []Attr
	Sockets []SocketDecl
	// Procs is how many CPUs (GOMAXPROCS) the process of a node of this
	// kind uses when the node runs in a process of its own, as a plugin or
	// with isolation = "process". 0 means half the machine's CPUs, at
	// least one: such a process runs one node, whose body is one goroutine
	// beside its sockets' I/O goroutines, while the host and the other
	// plugin processes share the same CPUs, and a Go scheduler sized for
	// the whole machine in every process makes them fight over it (each
	// keeps idle Ps that spin and wake threads; docs/BENCHMARKS.md,
	// "Plugins"). A negative value means every CPU (Go's default), for a
	// kind whose body runs parallel work of its own. GOMAXPROCS in the
	// process's environment (topo's own, or the plugin block's env) wins
	// over Procs. Goroutine nodes share the host's CPUs and ignore it.
	Procs int
	// New builds a Node from the decoded configuration. It should validate
	// cfg and return an error naming the attribute at fault; a kind with
	// Check calls it first, so the two never disagree.
	New func(cfg Config) (Node, error)
	// Check, if set, checks one node instance's configuration without
	// building anything: the constraints an attribute's type cannot say
	// (a range, a duration's syntax, a choice of words). cfg is what New
	// would get. Check returns nil, or what is wrong as *AttrError values
	// (AttrErrorf; several joined with errors.Join) naming the attribute
	// at fault; any other error is taken to be about the node as a whole.
	//
	// Validation (`topo validate`, `plan`, `apply`, runtime.Load) calls
	// Check for every instance and reports each problem at the attribute's
	// source line, so Check must be pure: no I/O, no goroutines, nothing
	// kept, safe for concurrent use. A plugin's kinds are checked across
	// the plugin boundary, in a process started for that. Config.Decode
	// and ParseDuration already return *AttrError.
	Check func(cfg Config) error
}

// AttrError is a problem with one attribute of a node's configuration, as
// Kind.Check and Kind.New return it. Validation points at the attribute.
type AttrError struct {
	Attr string // the attribute at fault, "max_work"; "" for the node as a whole
	Msg  string // what is wrong: `must not be negative, got -1`
}

// Error is `attribute "max_work": Msg`.
func (e *AttrError) Error() string {
	if e.Attr == "" {
		return e.Msg
	}
	return fmt.Sprintf("attribute %q: %s", e.Attr, e.Msg)
}

// AttrErrorf returns an *AttrError for attr with a formatted message.
func AttrErrorf(attr, format string, args ...any) error {
	return &AttrError{Attr: attr, Msg: fmt.Sprintf(format, args...)}
}

// CheckKind runs k.Check on cfg and returns what it found (nil when k has
// no Check): AttrErrors of its error, or, if Check panics, one problem
// quoting the panic. It is how validation calls a kind's check.
func CheckKind(k *Kind, cfg Config) (found []*AttrError) {
	if k == nil || k.Check == nil {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			found = []*AttrError{{Msg: fmt.Sprintf("kind %q: Check panicked: %v", k.Name, r)}}
		}
	}()
	return AttrErrors(k.Check(cfg))
}

// AttrErrors splits an error from Kind.Check or Kind.New into the
// attribute problems it holds: every *AttrError found through errors.Join
// and %w wrapping, and, for a branch without one, an AttrError with no
// Attr quoting that branch's message. nil gives nil.
func AttrErrors(err error) []*AttrError {
	if err == nil {
		return nil
	}
	switch e := err.(type) {
	case *AttrError:
		return []*AttrError{e}
	case interface{ Unwrap() []error }:
		var out []*AttrError
		for _, inner := range e.Unwrap() {
			out = append(out, AttrErrors(inner)...)
		}
		return out
	case interface{ Unwrap() error }:
		if inner := e.Unwrap(); inner != nil {
			found := AttrErrors(inner)
			for _, a := range found {
				if a.Attr != "" {
					return found
				}
			}
		}
	}
	return []*AttrError{{Msg: err.Error()}}
}

// Config is a node instance's configuration: constants, never expressions.
type Config struct {
	Name  string    // instance name, "worker[2]"
	Index int       // count.index, or 0 without count
	Attrs cty.Value // an object with every attribute of the kind (defaults applied)
}

// Decode copies Attrs into a struct whose fields carry `cty:"name"` tags.
// Attributes without a matching field are ignored; fields without a (non-null)
// attribute keep their current value.
func (c Config) Decode(into any) error {
	if c.Attrs == cty.NilVal || c.Attrs.IsNull() {
		return nil
	}
	ty, err := gocty.ImpliedType(into)
	if err != nil {
		return nodeErrorf(c.Name, "config", "config: %w", err)
	}
	// Fields without an attribute keep the value they already hold (so a
	// caller may pre-fill defaults); a null value cannot be stored in a
	// non-pointer field.
	current, err := gocty.ToCtyValue(into, ty)
	if err != nil {
		return nodeErrorf(c.Name, "config", "config: %w", err)
	}
	obj := map[string]cty.Value{}
	for name := range ty.AttributeTypes() {
		if c.Attrs.Type().IsObjectType() && c.Attrs.Type().HasAttribute(name) && !c.Attrs.GetAttr(name).IsNull() {
			obj[name] = c.Attrs.GetAttr(name)
		} else {
			obj[name] = current.GetAttr(name)
		}
	}
	if err := gocty.FromCtyValue(cty.ObjectVal(obj), into); err != nil {
		var pe cty.PathError
		if errors.As(err, &pe) && len(pe.Path) > 0 {
			if step, ok := pe.Path[0].(cty.GetAttrStep); ok {
				return &NodeError{Node: c.Name, Op: "config", Err: &AttrError{Attr: step.Name, Msg: err.Error()}}
			}
		}
		return nodeErrorf(c.Name, "config", "config: %w", err)
	}
	return nil
}

// Registry is a set of kinds by name. The zero value is empty and ready;
// a Registry is a value: an embedding program builds its own. Not safe for
// concurrent Register calls; lookups are safe once registration is done.
type Registry struct {
	kinds map[string]*Kind
}

// Register adds kinds. A duplicate or invalid name is an error, never an override.
func (r *Registry) Register(kinds ...*Kind) error {
	if r.kinds == nil {
		r.kinds = map[string]*Kind{}
	}
	for _, k := range kinds {
		if k == nil || k.Name == "" {
			return fmt.Errorf("plugins: register: kind without a name")
		}
		if k.New == nil {
			return fmt.Errorf("plugins: register %q: kind has no New", k.Name)
		}
		if _, dup := r.kinds[k.Name]; dup {
			return fmt.Errorf("plugins: register %q: a kind with that name is already registered", k.Name)
		}
		r.kinds[k.Name] = k
	}
	return nil
}

// MustRegister is Register for program set-up; it panics on error.
func (r *Registry) MustRegister(kinds ...*Kind) {
	if err := r.Register(kinds...); err != nil {
		panic(err)
	}
}

// Lookup returns the kind with that name.
func (r *Registry) Lookup(name string) (*Kind, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Names returns every kind name, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Kinds returns every kind, sorted by name.
func (r *Registry) Kinds() []*Kind {
	out := make([]*Kind, 0, len(r.kinds))
	for _, n := range r.Names() {
		out = append(out, r.kinds[n])
	}
	return out
}

// Spec is everything needed to run one node instance. It is plain data and
// crosses the plugin process boundary unchanged.
type Spec struct {
	Name string // instance name, "worker[2]"
	// Run identifies the run of the topology the instance belongs to; its
	// sockets announce it with their name ("worker[2].out") to every peer
	// (socket.Options.Run and Name). Empty: the sockets announce nothing.
	Run     string
	Index   int       // count.index
	Kind    string    // kind name within the serving registry ("upper", not "text.upper")
	Attrs   cty.Value // object, defaults applied
	Sockets []SocketSpec
}

// SocketSpec is one socket of an instance as the topology resolved it.
type SocketSpec struct {
	Name      string
	Type      socket.Type
	Bind      []string // endpoints to bind ("tcp://*:5557", "tcp://127.0.0.1:0", ...)
	Subscribe []string // SUB prefixes
	HWM       int      // 0 = default
	Identity  string
	// Expect is how many in-topology peers must be connected (for PUB/XPUB:
	// subscribed) before the node's body starts: handshakes since the
	// socket was created, peers that have left included. Peers, when set,
	// replaces it.
	Expect int
	// Curve, when set, is the socket's CURVE mechanism (Options.Security):
	// its key pair, and for a client the server keys, by connect endpoint
	// as Connect receives them. Nil: plaintext (NULL). It holds a secret
	// key: never log it.
	Curve *socket.Curve
	// Peers names the distinct in-topology peer sockets the body waits
	// for ("worker[0].out", as they announce themselves), the rule of a
	// file that declares hosts, where peers run in other processes that
	// start, stop and restart on their own. Ready then waits until each
	// one is connected right now (PUB/XPUB: connected and subscribed),
	// announcing a run of the same topology (SameTopology with Spec.Run);
	// an outside client counts for nothing, nor does a peer that connected
	// and left, except on a socket that only receives (PULL, SUB, XSUB),
	// where a peer that sent and left was wired and nothing sent to it can
	// be lost.
	Peers []string
}

// SameTopology reports whether two announced run ids (Spec.Run) are of one
// topology: they are equal and not empty, or both have the form
// TOPOLOGY/HOST with the same non-empty TOPOLOGY, which is how the
// processes that run the hosts of one file (topo apply -host) name their
// runs.
func SameTopology(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	ta, _, oka := strings.Cut(a, "/")
	tb, _, okb := strings.Cut(b, "/")
	return oka && okb && ta != "" && ta == tb
}

// Actor is one node instance's life: sockets and body. The runtime drives
// it in this order: Bind (every actor of the topology), Connect, Ready, Run,
// and Close at the end; after a failure it builds a fresh Actor to restart.
// The same interface is implemented in-process (NewActor) and across a
// plugin process boundary, so the runtime does not know which it has.
type Actor interface {
	// Bind creates the sockets and binds them; it returns the endpoints
	// actually bound per socket name (ephemeral ports filled in).
	Bind(ctx context.Context) (map[string][]string, error)
	// Connect connects sockets to fully resolved endpoints, by socket name.
	// Connecting is asynchronous: peers need not be up yet.
	Connect(ctx context.Context, endpoints map[string][]string) error
	// Ready blocks until every socket has its Expect peers, or ctx is done.
	Ready(ctx context.Context) error
	// Run runs the node's body (see Node.Run).
	Run(ctx context.Context) error
	// Stats returns each socket's counters by socket name.
	Stats() map[string]socket.Stats
	// Close closes the sockets (lingering per their options) and releases
	// everything the actor holds. Safe to call more than once.
	Close() error
}

// Tapper is an Actor whose sockets can be tapped: the in-process actor of
// NewActor. A process or plugin node's actor is a StreamTapper instead.
type Tapper interface {
	// SetTap makes f see the messages of the socket named sock
	// (socket.Socket.SetTap), for this actor's sockets now and those its
	// Bind makes later; nil removes it. Unknown socket names are an error.
	SetTap(sock string, f socket.TapFunc) error
}
