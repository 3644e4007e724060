package runtime

import (
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/pluginhost"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// Options configure loading (Load, LoadFile) and running (New, Run) a
// topology; one value serves both. The zero value runs registered kinds with
// the defaults documented on each field, discarding output and logs.
type Options struct {
	// Registry holds the kinds nodes may use (built-in and embedded kinds).
	// Nil means an empty registry: only plugin kinds can run.
	Registry *plugins.Registry
	// Vars set the topology's variables by name, for a program that
	// embeds topo: Go values (string, bool, int, float64, []any,
	// map[string]any, ...; anything encoding/json can marshal) or
	// cty.Value, each converted to the variable's declared type
	// (map[string]any{"workers": 8}). They override defaults and TOPO_VAR_
	// environment variables; VarArgs override them. Load and LoadFile only.
	Vars map[string]any
	// VarArgs are -var and -var-file command-line flags in command-line
	// order ({Flag: "var", Value: "workers=8"}), later ones winning: what
	// the topo CLI passes, for programs with the same flags. Load and
	// LoadFile only.
	VarArgs []topology.VarArg
	// Environ is os.Environ()-style; TOPO_VAR_name entries set variables.
	// Nil means the environment is not consulted. Load and LoadFile only.
	Environ []string
	// OnWarnings, if set, receives the warnings of a file that loaded,
	// with the sources they point into. Load and LoadFile only.
	OnWarnings func(*DiagnosticsError)
	// SkipPlugins makes Load and LoadFile start none of the plugins the
	// file declares: nodes of plugin kinds are then not checked, each
	// with a warning that says so (what `topo validate -plugins=false`
	// does). Such a Runtime cannot run plugin nodes. Load and LoadFile
	// only.
	SkipPlugins bool
	// NewActor builds the Actor of a node that runs in this process (a
	// registered kind without isolation = "process"); nil means
	// plugins.NewActor. A program may wrap plugins.NewActor to trace or
	// to inject faults; tests use it to drive the supervisor.
	NewActor func(k *plugins.Kind, spec plugins.Spec, sockets *socket.Context, out io.Writer, log *slog.Logger) (plugins.Actor, error)
	// Launcher runs plugin kinds and isolation = "process" nodes, and
	// tells Load the kinds of the plugins a file declares. Nil means
	// pluginhost.New with Logger, HealthInterval and HealthMisses. Run
	// closes it when it returns (a Runtime runs once); a Load or LoadFile
	// that fails closes the one it made, and leaves one you gave open.
	Launcher Launcher
	// BaseDir is the directory of the topology file; plugin commands and
	// sources are relative to it. Empty means the working directory
	// (LoadFile: the file's directory).
	BaseDir string
	// Stdout receives the nodes' output, one line at a time, each prefixed
	// with the instance name padded to the longest name and " | ":
	// "hello-client | Received reply 0 [ World ]". Nil discards.
	Stdout io.Writer
	// Logger receives the runtime's structured log; nil discards. Each
	// node's records carry "node" (once); a node's warnings and errors are
	// rate-limited per message (5 per 10s, then one "suppressed N similar
	// warnings" record with the count, at the latest when Run returns).
	Logger *slog.Logger
	// OnEvent, if set, is called for every Event. Calls are serialised
	// (never concurrent), in order per instance; it should return quickly.
	OnEvent func(Event)
	// OnStats, if set, is called every StatsInterval with a status snapshot
	// of every instance, from one goroutine.
	OnStats func([]NodeStatus)
	// StatsInterval is how often socket counters are polled; default 1s.
	StatsInterval time.Duration
	// ReadyTimeout bounds how long a node's body waits for its expected
	// peers; after it, the body starts anyway and a warning names the
	// sockets still waiting (their peers may be external). 0 means the
	// default: 10s, or no bound when the topology declares hosts (its
	// peers run in processes of their own that may start minutes apart);
	// a negative value means no bound.
	ReadyTimeout time.Duration
	// ReadyReport is how often a node still waiting for its peers logs
	// which sockets are short of which peers, and the host each missing
	// peer should come from. Default 10s.
	ReadyReport time.Duration
	// Host selects the share of a topology that declares hosts which this
	// process runs: the instances placed on that host (their peers on
	// other hosts are reached at the host addresses), or every host with
	// topology.AllHosts ("all"; Load and LoadFile then give each host its
	// own loopback address, topology.Options.LoopbackHosts). A topology
	// with host blocks needs it to run (Run fails with a *HostError
	// otherwise; Load and LoadFile fail for a name the file does not
	// declare); one without accepts only "" and "all". The
	// run ends when the selected task nodes have finished; a host with
	// only services runs until ctx is done.
	Host string
	// HostAddresses replace the address of declared hosts, by host name
	// (topo apply -host-address NAME=ADDR). Load and LoadFile only.
	HostAddresses map[string]string
	// ShutdownTimeout bounds how long stopping the topology may take; nodes
	// still running after it are reported by name. Default 5s.
	ShutdownTimeout time.Duration
	// StopGrace is how long a stopped node's body may take to return
	// before the runtime closes its sockets to unblock it. Default 500ms.
	// When the run stops, a body still blocked writing to Stdout then
	// holds the stop: the runtime stops waiting for it (see Run).
	StopGrace time.Duration
	// BackoffInitial and BackoffMax shape the delay before a restart: it
	// starts at BackoffInitial and doubles with every restart inside
	// IntensityWindow, up to BackoffMax. Defaults 100ms and 5s.
	BackoffInitial, BackoffMax time.Duration
	// MaxRestarts within IntensityWindow is the restart-intensity limit: one
	// more failure makes the node fail the topology. Defaults 5 and 10s.
	MaxRestarts     int
	IntensityWindow time.Duration
	// HealthInterval and HealthMisses govern health checks of goroutine
	// nodes that implement plugins.HealthChecker: every HealthInterval
	// while the body runs, each check bounded by HealthInterval; after
	// HealthMisses failed checks in a row the node fails with
	// plugins.ErrUnhealthy. Defaults 1s and 3; a negative HealthInterval
	// turns checks off. The default Launcher gets the same values for
	// plugin nodes (pluginhost.Options); a Launcher of your own has its own.
	HealthInterval time.Duration
	HealthMisses   int
	// Registerer, if set, gets the run's metrics collector (Collector)
	// while Run runs: registered when Run starts (Run fails if that does),
	// unregistered when it returns. Give it a registry of your own
	// (prometheus.NewRegistry) or your service's; see runtime/observe
	// for the HTTP handlers topo apply -http serves.
	Registerer prometheus.Registerer
}

func (o Options) withDefaults() Options {
	if o.Registry == nil {
		o.Registry = &plugins.Registry{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HealthInterval == 0 {
		o.HealthInterval = time.Second
	}
	if o.HealthMisses <= 0 {
		o.HealthMisses = 3
	}
	if o.NewActor == nil {
		o.NewActor = plugins.NewActor
	}
	if o.Launcher == nil {
		o.Launcher = pluginhost.New(pluginhost.Options{Logger: o.Logger, HealthInterval: o.HealthInterval, HealthMisses: o.HealthMisses})
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.StatsInterval <= 0 {
		o.StatsInterval = time.Second
	}
	if o.ReadyReport <= 0 {
		o.ReadyReport = 10 * time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 500 * time.Millisecond
	}
	if o.BackoffInitial <= 0 {
		o.BackoffInitial = 100 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 5 * time.Second
	}
	if o.BackoffMax < o.BackoffInitial {
		o.BackoffMax = o.BackoffInitial
	}
	if o.MaxRestarts <= 0 {
		o.MaxRestarts = 5
	}
	if o.IntensityWindow <= 0 {
		o.IntensityWindow = 10 * time.Second
	}
	return o
}
