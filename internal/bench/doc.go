// Command bench drives topo's sockets (runtime/socket) in the roles of
// ../shared/zmqbench's gobench, cbench and pybench — same flags, same one JSON
// line per run on stdout — so scripts/bench.sh can run topo side by side with
// zmq4, libzmq (C), pyzmq and raw Go in one run. Entry point: main (main.go).
//
//	go run ./internal/bench -role pull -bind -ep tcp://127.0.0.1:23701 -n 1000000 -size 16
//	go run ./internal/bench -role push -ep tcp://127.0.0.1:23701 -n 1000000 -size 16
//
// Roles: pull | sub | rep (measuring or echoing side), push | pub | req, and
// inproc-pushpull (both ends in one process over inproc://). Diagnostics go
// to stderr; the exit status is 1 when the JSON line carries an "error".
package main
