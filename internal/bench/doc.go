// Command bench drives topo's sockets (runtime/socket) in the roles of
// ../shared/zmqbench's gobench, cbench and pybench — same flags, same one JSON
// line per run on stdout — so scripts/bench.sh can run topo side by side with
// zmq4, libzmq (C), pyzmq and raw Go in one run. Entry point: main (main.go).
//
//	go run ./internal/bench -role pull -bind -ep tcp://127.0.0.1:23701 -n 1000000 -size 16
//	go run ./internal/bench -role push -ep tcp://127.0.0.1:23701 -n 1000000 -size 16
//
// Roles: pull | sub | rep (measuring or echoing side), push | pub | req, and
// inproc-pushpull (both ends in one process over inproc://).
//
// The cost curves of scripts/curves.sh (issue 16; their libzmq counterparts
// are in cbench-curves/cbench_curves.c) add: raw-recv | raw-send (raw Go
// net.Conn, messages up to 64 MiB), pull-many | sub-many (-conns sockets in
// one process; sub-many reports send-to-receive latency of a -stamp PUB),
// req-many (-conns concurrent REQ clients), idle-hold | idle-peers (memory
// per idle connection and a live peer's rate), topo-size (-nodes idle nodes
// run by the runtime: wall and CPU time to running and to stopped, memory
// per node) and proxy-chain
// (generate → -hops proxy nodes → count). sub takes -subs N prefixes;
// push/pub take -peers, -rate and -stamp.
//
// CURVE (issue 14; scripts/curves.sh curve): -curve server|client runs
// pull, push, idle-peers and hs-accept over CURVE with built-in benchmark
// keys (libzmq's test key pairs, which cbench-curves uses too, so either
// side may be topo or libzmq). hs-accept binds a PULL and reports the rate
// of completed handshakes, first to last, from -conns idle-peers clients.
//
// Diagnostics go to stderr; the exit status is 1 when the JSON line carries
// an "error".
package main
