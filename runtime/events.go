package runtime

import (
	"time"
)

// EventKind names a step in a node instance's life.
type EventKind string

// The events a Runtime reports through Options.OnEvent, in the order an
// instance normally goes through them.
const (
	EventStarting   EventKind = "starting"   // an actor is being created, bound and connected
	EventReady      EventKind = "ready"      // its sockets have the peers the topology expects (or the readiness timeout passed)
	EventRunning    EventKind = "running"    // its body is running
	EventFinished   EventKind = "finished"   // its body returned nil (tasks: work done)
	EventFailed     EventKind = "failed"     // its body (or start-up) returned an error or panicked; Err says why
	EventRestarting EventKind = "restarting" // it will be started again after Delay
	EventStopped    EventKind = "stopped"    // it was stopped by the runtime and its sockets are closed
)

// Event is one step of one node instance.
type Event struct {
	Time     time.Time
	Instance string // "worker[2]"
	Kind     EventKind
	Err      error         // EventFailed: the failure, naming the instance
	Restarts int           // restarts of this instance so far
	Delay    time.Duration // EventRestarting: the backoff before the restart
	// Waiting lists the sockets still short of their expected peers when
	// EventReady is reported after the readiness timeout ("in: 3/4 peers").
	Waiting []string
}

// State is where a node instance is in its life.
type State string

// Instance states as NodeStatus reports them.
const (
	StatePending    State = "pending"
	StateStarting   State = "starting"
	StateRunning    State = "running"
	StateRestarting State = "restarting"
	StateFinished   State = "finished"
	StateFailed     State = "failed"
	StateStopped    State = "stopped"
)

// NodeStatus is a snapshot of one node instance, for live views and the
// end-of-run summary.
type NodeStatus struct {
	Name     string
	Kind     string
	Task     bool
	State    State
	Restarts int
	// MsgsIn and MsgsOut count messages received and sent by the
	// application over all of the instance's sockets, across restarts.
	MsgsIn, MsgsOut uint64
	// RateIn and RateOut are messages per second over the last stats
	// interval (0 before the first one, and 0 once the instance is no
	// longer running).
	RateIn, RateOut float64
	// Dropped counts messages the instance's sockets dropped (Stats.Dropped:
	// a PUB past its high-water mark, a ROUTER with no such peer, ...),
	// across restarts.
	Dropped uint64
	// Blocked is the time the instance's sockets' Send calls waited at
	// their high-water mark (Stats.SendBlocked: back-pressure from a slow
	// peer), summed over its sockets, across restarts.
	Blocked time.Duration
	// Held is how many messages the instance was holding when it went
	// down, summed over its failures (a failed, panicked or killed body;
	// not a stop or a finish), as far as topo can know: for a node that
	// passes on or answers what it receives (one with a socket that sends:
	// a worker, a proxy, a server), what it had received and not sent, by
	// its counters at that moment. Messages still queued in its sockets
	// and in the kernel's socket buffers are not counted (nothing reports
	// them), so the loss can be larger; a pure consumer (sink, counter,
	// subscriber) holds nothing. Restarts says how many times it went down.
	Held uint64
	// Approx marks MsgsIn, MsgsOut and Held as approximate: a process
	// node's process died or was killed before its last counts could be
	// read, so what it counted since the last stats poll (StatsInterval)
	// is missing from the totals. Counts of a node whose body returned,
	// failed or panicked while its process lived are exact.
	Approx bool
	// Err is the last failure, if any.
	Err error
}
