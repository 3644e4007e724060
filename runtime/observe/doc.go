// Package observe serves a running topology over HTTP: Prometheus
// metrics, Kubernetes-style health and readiness probes, and a JSON
// status snapshot. [Handler] is the entry point: `topo apply -http ADDR`
// serves it, and a Go service that embeds topo can mount it, or the
// single handlers ([Metrics], [Healthz], [Readyz], [Status]), on its own mux, with
// runtime.Options.Registerer set to the registry its own /metrics serves.
//
// The endpoints:
//
//	/metrics    the registry's series (runtime.Runtime.Collector: topo_node_*, topo_socket_*), gzipped at BestSpeed when accepted
//	/healthz    200 while Run runs and no node has failed for good, else 503
//	/readyz     200 once every node has passed its ready phase (and from then on), else 503 naming the nodes and sockets still short
//	/v1/status  JSON: every node and socket, as the end-of-run summary
//
// [Tap] serves /v1/tap?socket=NODE.SOCKET, a stream of the messages through
// one socket (runtime.Runtime.Tap). It shows message contents, so Handler
// leaves it out: mount it only when asked to (`topo apply -http-tap` does).
//
// Everything is read at request time from runtime.Runtime's Status,
// Sockets and Readiness: serving costs the running nodes nothing between
// requests. Handlers are safe for concurrent use.
package observe
