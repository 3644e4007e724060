// Package plugins is topo's node SDK: what a node is, how a kind describes
// itself, and how one node instance is run.
//
// Entry points:
//
//   - Node (with the NodeFunc adapter) is the behaviour of one node instance:
//     Run(ctx, env) blocks until the node is done and returns promptly when
//     ctx is done. Built-in, embedded and plugin nodes are all this type.
//   - HealthChecker is an optional second method of a Node: Health(ctx)
//     says whether the body is still doing its job (not deadlocked, not
//     stuck on one message). The runtime asks it every health interval
//     while Run is in flight, in-process and across the plugin boundary
//     alike; repeated failures fail the node with ErrUnhealthy, and its
//     restart policy restarts it. Without it a plugin node is healthy
//     while its process answers, a goroutine node always. See
//     HealthChecker for an example.
//   - Kind names a node type: its life (Task or Service), attributes with
//     types and defaults (Attr), sockets with allowed types (SocketDecl),
//     docs, and New, which builds a Node from a decoded Config.
//     Config.Decode fills a struct with `cty:"name"` tags; Kind.Defaults
//     completes an attribute object; ParseDuration reads duration attributes.
//   - Kind.Check is an optional pure check of a Config, for the limits an
//     attribute's type cannot say: it builds nothing and returns
//     *AttrError values (AttrErrorf, joined with errors.Join) naming the
//     attributes at fault. Validation (`topo validate`, `plan`, `apply`,
//     runtime.Load) runs it for every instance, across the plugin
//     boundary for a plugin's kinds, and points each problem at the
//     attribute's source line; New calls it first, so the two agree.
//     Config.Decode and ParseDuration return *AttrError too; AttrErrors
//     splits an error into its problems, CheckKind runs a Check safely.
//   - Registry is a set of kinds by name. It is a value: there is no global
//     registry and no init() registration. builtin.Register fills one with
//     topo's built-in kinds; an embedding program adds its own.
//   - NewActor runs one instance in-process: it turns a Spec (plain data: the
//     instance name, attributes and resolved SocketSpecs) into an Actor that
//     the runtime drives through Bind, Connect, Ready, Run and Close (and
//     Health, when the node has it). The Actor owns the instance's
//     sockets; the node borrows them through Env.
//   - NodeError is every failure of a node instance, shaped like
//     os.PathError: Node (the instance name), Op (the step: "new",
//     "config", "launch", "bind", "connect", "ready", "run", "health",
//     "close") and Err, to which it unwraps; it reads "Node: Err". It is
//     built once, where the failure happens (NewActor and its Actor,
//     Config.Decode, a plugin host, the runtime), and crosses the plugin
//     boundary intact: Serve sends its fields and the sentinel it wraps
//     (socket.ErrAddrInUse and the socket layer's other Err values,
//     context.Canceled and DeadlineExceeded, ErrPanic, ErrUnhealthy) as
//     an errdetails.ErrorInfo, and FromWire rebuilds it in the host. A
//     failed bind's Err is a BindError (Socket, Endpoint).
//
// The plugin-process side (Serve, the function a plugin's main calls) lives
// in serve.go and serves the same Kinds across a go-plugin boundary; the
// runtime sees the same Actor interface either way. A node that runs in a
// process of its own (a plugin, or isolation = "process") gets half the
// machine's CPUs as GOMAXPROCS unless its Kind's Procs or the environment
// says otherwise; see Kind.Procs.
package plugins
