// Package topology turns a topology file — HCL native syntax (.hcl) or its
// JSON form (.hcl.json) — into a Topology: pure, evaluated, validated data
// that the runtime wires and runs. It never opens a socket and imports
// nothing of topo but internal/endpoint (the endpoint syntax it shares with
// the runtime and the sockets) and internal/curvekey (CURVE keys); what it
// knows of node kinds comes from the Schemas the caller passes in Options.
//
// The entry point is Load (or Parse/ParseFile then Decode):
//
//	f, diags := topology.ParseFile("pipeline.hcl")
//	t, more := topology.Decode(f, topology.Options{Schemas: schemas, Args: args, Environ: os.Environ()})
//
// Every problem is an hcl.Diagnostic with a source range; render them with
// WriteDiagnostics (hcl.NewDiagnosticTextWriter's format, minus the source
// of curve blocks) over f.Sources(). The exceptions have no
// source to point into, so their Subject is nil: a file that cannot be read
// ("Cannot read x.hcl: no such file or directory", the whole message in
// the summary) and a value given on the command line or in the
// environment (-var workers=abc, TOPO_VAR_workers). A Topology returned
// with error diagnostics is for display only and must not be run.
//
// Names of nodes, sockets, variables and plugins are identifiers (letters,
// digits, underscores and dashes, starting with a letter) of at most
// MaxNameLength (64) bytes.
//
// Evaluation happens in this order, which is also what each expression may
// refer to:
//
//  1. variables: default, then TOPO_VAR_name, then -var and -var-file in
//     command-line order (later wins), as in Terraform;
//  2. locals: var.*, other locals (cycles are reported), functions;
//  3. plugin blocks, host blocks and node meta-arguments (type, count,
//     restart, isolation, depends_on): var.* and local.*;
//  4. per replica, host, socket type, bind, subscribe, hwm, identity: also
//     count.index;
//  5. per replica, connect and kind attributes: also node.NAME.SOCKET
//     (every replica's connectable bind endpoints) and node.NAME[i].SOCKET
//     (one replica's).
//
// A plugin block sets exactly one of command (an executable) and source (a
// Go package to build) — a relative path in either is relative to the
// directory of the topology file, not the working directory; a bare name
// in command is looked up in PATH — an optional sha256 pin, and
// an optional env, an object of environment variables added to the plugin
// process's environment (numbers and bools become strings):
//
//	plugin "text" {
//	  source = "./examples/plugin"
//	  env    = { GOMAXPROCS = 1 }
//	}
//
// A host "NAME" { address = "10.0.0.3" } block declares a machine (its
// address an IP or a DNS name the other hosts reach it at). When a file
// declares hosts, every instance's host must name one of them
// (Instance.Host, evaluated per replica, so host = "w${count.index % 2}"
// spreads replicas), and a reference from an instance on one host to a
// socket on another resolves to that socket's tcp binds on the other
// host's address (tcp://*:5558 on host sink becomes tcp://10.0.0.3:5558;
// an IPv6 address is bracketed); ipc and inproc binds are left out across
// hosts. On the same host, and in a file without host blocks, references
// resolve as on one machine. Options.HostAddresses and
// Options.LoopbackHosts replace the addresses at decode time; Edge's
// ConnectHost, BindHost and CrossHost, InstancesOn and CrossHostEdges say
// what runs where. The name "all" is reserved (`topo apply -host all`).
//
// Expressions may call file(PATH): the contents of a UTF-8 file of at most
// MaxReadFileSize bytes, PATH relative to the topology file's directory.
//
// CURVE: a socket's curve block (secret_key, server_key as a key or a map
// from connect endpoint to key, allow) decodes into Socket.Curve, and a
// top-level curve { seed = ... } into Topology.Curve. Decode sets each
// socket's CurveRole and each edge's Curve: the role follows the keys as in
// libzmq, and a socket connecting to an in-file CURVE server is its client
// (the runtime hands it the keys). Topology.CurveKeyPair gives a socket's
// pair when it is known before apply (secret_key, or derived from the seed
// under CurveKeyName, "INSTANCE.SOCKET"). Diagnostics inside a curve block
// are sensitive (IsSensitive); WriteDiagnostics renders them without
// source. Keys are parsed by internal/curvekey, as the sockets parse them.
//
// A Topology also says how it starts, for the runtime and `topo plan`
// alike: InStartOrder is the order in which the runtime binds every
// instance's sockets, and connects them, each instance once the instances
// it connects to have bound (depends_on targets first, then binders
// before connectors, ties in file order), and ExpectedPeers
// counts the in-topology peers each socket must have before its node's
// body starts.
//
// References are resolved through cty value marks, so an edge is found
// even when endpoints pass through functions (element, concat, ...), and
// ephemeral ports (tcp://127.0.0.1:0) keep pointing at the right socket
// through Endpoint.Ref. Kind attributes cannot be named like a node
// meta-argument (type, count, restart, isolation, host, depends_on).
//
// Nothing here keeps state between calls; Decode may run concurrently on
// different Files, but a File must not be decoded concurrently with itself
// (Decode records the -var-file sources it reads on the File).
package topology
