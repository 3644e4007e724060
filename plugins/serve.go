package plugins

// The plugin-process side of topo's node SDK.
//
// A plugin is an ordinary Go program whose main is one call:
//
//	func main() { plugins.Serve(upperKind, lowerKind) }
//
// The kinds are the same *Kind values a built-in or embedded kind is; the
// host (runtime/pluginhost) starts the program once to Describe them (so
// `topo validate` and `topo nodes` know their attributes and sockets) and
// once per node instance to run it. Messages never cross the process
// boundary: the plugin opens its own ZeroMQ sockets with NewActor from the
// Spec the host sends; go-plugin (gRPC, AutoMTLS, handshake cookie
// TOPO_PLUGIN, see package pluginproto) carries only the lifecycle and the
// node's user-visible output.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"

	"github.com/topo-zmq/topo/plugins/pluginproto"
	"github.com/topo-zmq/topo/runtime/socket"
)

// Serve serves kinds to the topo host that started this process and blocks
// until the host is done with it. It is the whole of a plugin's main:
//
//	func main() { plugins.Serve(text.Upper(), text.Lower()) }
//
// A plugin process runs at most one node instance: the host starts one
// process per instance, so a crash or a kill takes down exactly one node,
// which the host's supervisor restarts per its restart policy.
//
// Like go-plugin's Serve, which it wraps, Serve owns the process: run by
// hand (not by topo) or given invalid kinds, it prints the problem to stderr
// and exits with status 1; when the host goes away, even killed with
// SIGKILL, the process exits within about a second (Serve watches a pipe
// only the host holds, and polls the parent pid; on Linux the host also
// sets a parent-death signal, which covers the time before Serve runs); a
// node stopped that way ends its Run with an error saying so, so that a
// host that is in fact alive (the plugin's parent was a wrapper script that
// died) restarts the node instead of seeing it return. Serve returns
// normally only after the host shut it down cleanly, so a test binary can
// serve itself from TestMain:
//
//	if pluginproto.IsChild() { plugins.Serve(kinds...); return }
//
// Output: Env.Out of a plugin node is streamed to the host and appears
// exactly like a goroutine node's output. Env.Log writes hclog JSON lines to
// the process's stderr, which the host logs in topo's log tagged with the
// node's name. Anything else the plugin prints to stdout or stderr once
// Serve runs is captured by go-plugin and logged by the host at debug level;
// it never reaches the user's output nor breaks the protocol. (Printing to
// stdout BEFORE calling Serve does break the handshake: the host then
// reports the program as "not a topo plugin".)
func Serve(kinds ...*Kind) {
	if err := serve(kinds, pluginproto.ProtocolVersion); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
}

func serve(kinds []*Kind, version uint) error {
	var reg Registry
	for _, k := range kinds {
		if k != nil && k.New == nil {
			return fmt.Errorf("plugins.Serve: kind %q has no New", k.Name)
		}
	}
	if err := reg.Register(kinds...); err != nil {
		return fmt.Errorf("plugins.Serve: %w", err)
	}
	desc, err := describe(&reg)
	if err != nil {
		return fmt.Errorf("plugins.Serve: %w", err)
	}
	if !pluginproto.IsChild() {
		return fmt.Errorf("this program is a topo plugin (serving %s): topo starts it "+
			"for the nodes that use it; it is not meant to be run by hand",
			strings.Join(reg.Names(), ", "))
	}

	// go-plugin swaps os.Stderr for a pipe it streams to the host; keep the
	// real stderr for structured logs, which the host parses line by line.
	stderr := os.Stderr
	level := slog.LevelInfo
	if v := os.Getenv(pluginproto.EnvLogLevel); v != "" {
		_ = level.UnmarshalText([]byte(v))
	}
	log := slog.New(newHCLogJSONHandler(stderr, level))
	hlog := hclog.New(&hclog.LoggerOptions{
		Name:       "plugin",
		Level:      hclog.Warn,
		Output:     stderr,
		JSONFormat: true,
	})

	srv := &nodeServer{reg: &reg, desc: desc, log: log}
	srv.desc.Protocol = int(version)
	srv.desc.Pid = os.Getpid()
	watchParent(log, srv.abandon)

	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pluginproto.HandshakeVersion(version),
		VersionedPlugins: map[int]plugin.PluginSet{
			int(version): {pluginproto.PluginName: &pluginproto.GRPCPlugin{Impl: srv}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
		Logger:     hlog,
	})
	srv.closeAll()
	return nil
}

// describe returns the wire description of every kind in reg (KindToWire):
// how a plugin describes itself (the host decodes it with KindFromWire).
func describe(reg *Registry) (*pluginproto.Description, error) {
	d := &pluginproto.Description{Protocol: pluginproto.ProtocolVersion, Revision: pluginproto.ProtocolRevision}
	for _, k := range reg.Kinds() {
		kd, err := KindToWire(k)
		if err != nil {
			return nil, err
		}
		d.Kinds = append(d.Kinds, kd)
	}
	return d, nil
}

// specFromWire turns a wire Spec into a Spec.
func specFromWire(w *pluginproto.Spec) (Spec, error) {
	attrs, err := pluginproto.DecodeValue(w.Attrs)
	if err != nil {
		return Spec{}, nodeErrorf(w.Name, "bind", "attributes: %w", err)
	}
	spec := Spec{Name: w.Name, Run: w.Run, Index: w.Index, Kind: w.Kind, Attrs: attrs}
	for _, s := range w.Sockets {
		t, err := socket.ParseType(s.Type)
		if err != nil {
			return Spec{}, nodeErrorf(w.Name, "bind", "socket %q: %w", s.Name, err)
		}
		curve, err := CurveFromWire(s.Curve)
		if err != nil {
			return Spec{}, nodeErrorf(w.Name, "bind", "socket %q: %w", s.Name, err)
		}
		spec.Sockets = append(spec.Sockets, SocketSpec{
			Name: s.Name, Type: t, Bind: s.Bind, Subscribe: s.Subscribe,
			HWM: s.HWM, Identity: s.Identity, Expect: s.Expect, Curve: curve, Peers: s.Peers,
		})
	}
	return spec, nil
}

// nodeServer is the plugin side of one node instance.
type nodeServer struct {
	reg  *Registry
	desc *pluginproto.Description
	log  *slog.Logger
	out  switchWriter

	mu       sync.Mutex
	sockets  *socket.Context // guarded by mu
	actor    Actor           // guarded by mu
	name     string          // guarded by mu
	stop     context.CancelFunc
	stopping bool                 // guarded by mu
	gone     string               // guarded by mu; why the host is gone, once abandon runs
	taps     map[string]*tapSides // guarded by mu; Tap streams by socket name
}

var _ pluginproto.Server = (*nodeServer)(nil)

func (s *nodeServer) Describe(context.Context) (*pluginproto.Description, error) { return s.desc, nil }

func (s *nodeServer) Bind(ctx context.Context, w *pluginproto.Spec) (map[string][]string, error) {
	spec, err := specFromWire(w)
	if err != nil {
		return nil, toWire(err)
	}
	k, ok := s.reg.Lookup(spec.Kind)
	if !ok {
		return nil, toWire(nodeErrorf(spec.Name, "bind", "this plugin does not serve kind %q (it serves %s)", spec.Kind, strings.Join(s.reg.Names(), ", ")))
	}
	s.mu.Lock()
	if s.actor != nil {
		s.mu.Unlock()
		return nil, toWire(nodeErrorf(spec.Name, "bind", "this plugin process already runs %s (one instance per process)", s.name))
	}
	setProcs(k.Procs)
	sockets := &socket.Context{}
	a, err := NewActor(k, spec, sockets, &s.out, s.log)
	if err != nil {
		s.mu.Unlock()
		sockets.Close()
		return nil, toWire(err)
	}
	s.sockets, s.actor, s.name = sockets, a, spec.Name
	if tp, ok := a.(Tapper); ok {
		for sock, h := range s.taps { // streams opened before Bind
			_ = tp.SetTap(sock, h.see)
		}
	}
	s.mu.Unlock()
	// Binding without mu: Health and Stats must not wait for it.
	eps, err := a.Bind(ctx)
	return eps, toWire(err) // the host rebuilds the NodeError (FromWire)
}

// setProcs sizes this process's Go scheduler for the node it is about to
// run (see Kind.Procs), unless GOMAXPROCS in the environment chose already.
func setProcs(procs int) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		return
	}
	runtime.GOMAXPROCS(processProcs(procs, runtime.NumCPU()))
}

// processProcs is the GOMAXPROCS for Kind.Procs procs on a machine with
// cpus CPUs.
func processProcs(procs, cpus int) int {
	switch {
	case procs < 0:
		return cpus
	case procs == 0:
		return max(1, cpus/2)
	}
	return procs
}

func (s *nodeServer) current() (Actor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.actor == nil {
		return nil, errors.New("no node instance: Bind was not called")
	}
	return s.actor, nil
}

func (s *nodeServer) Connect(ctx context.Context, eps map[string][]string) error {
	a, err := s.current()
	if err != nil {
		return toWire(err)
	}
	return toWire(a.Connect(ctx, eps))
}

func (s *nodeServer) Ready(ctx context.Context) error {
	a, err := s.current()
	if err != nil {
		return toWire(err)
	}
	return toWire(a.Ready(ctx))
}

func (s *nodeServer) Run(ctx context.Context, out io.Writer) error {
	a, err := s.current()
	if err != nil {
		return toWire(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.stop = cancel
	if s.stopping {
		cancel()
	}
	s.mu.Unlock()
	s.out.set(out)
	defer s.out.set(nil)
	err = a.Run(runCtx)
	s.mu.Lock()
	gone := s.gone
	s.mu.Unlock()
	if gone != "" {
		// Stopped because this process lost its host, not by the host: if
		// the host is in fact alive (this plugin's parent was a wrapper
		// script that died), the node has failed and must be restarted.
		return toWire(nodeErrorf(s.name, "run", "stopped: the topo host went away (%s); this plugin process is exiting", gone))
	}
	return toWire(err)
}

// Health is the node's verdict (see HealthChecker): nil unless the node
// implements HealthChecker and its Health fails. The Actor bounds the call
// by ctx's deadline even if the node's Health ignores ctx.
func (s *nodeServer) Health(ctx context.Context) error {
	s.mu.Lock()
	a := s.actor
	s.mu.Unlock()
	if hc, ok := a.(HealthChecker); ok {
		return hc.Health(ctx)
	}
	return nil
}

// Check runs each configuration's kind Check (see Kind.Check) and reports
// what it found; a panicking Check is a problem of its node, not the
// plugin's end.
func (s *nodeServer) Check(_ context.Context, req *pluginproto.CheckRequest) (*pluginproto.CheckReply, error) {
	r := &pluginproto.CheckReply{Problems: make([][]pluginproto.AttrProblem, len(req.Configs))}
	for i, c := range req.Configs {
		r.Problems[i] = []pluginproto.AttrProblem{}
		for _, p := range s.check(c) {
			r.Problems[i] = append(r.Problems[i], pluginproto.AttrProblem{Attr: p.Attr, Msg: p.Msg})
		}
	}
	return r, nil
}

func (s *nodeServer) check(c pluginproto.CheckConfig) (found []*AttrError) {
	k, ok := s.reg.Lookup(c.Kind)
	if !ok {
		return []*AttrError{{Msg: fmt.Sprintf("this plugin does not serve kind %q (it serves %s)", c.Kind, strings.Join(s.reg.Names(), ", "))}}
	}
	if k.Check == nil {
		return nil
	}
	attrs, err := pluginproto.DecodeValue(c.Attrs)
	if err != nil {
		return []*AttrError{{Msg: fmt.Sprintf("attributes: %v", err)}}
	}
	return CheckKind(k, Config{Name: c.Name, Index: c.Index, Attrs: attrs})
}

func (s *nodeServer) Stop(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sockets != nil {
		// The host stops a body when the run stops (or when it failed its
		// health checks): its sockets need not linger for peers of the run.
		s.sockets.StopRun()
	}
	s.stopping = true
	if s.stop != nil {
		s.stop()
	}
	return nil
}

func (s *nodeServer) Stats(context.Context) (map[string]socket.Stats, error) {
	a, err := s.current()
	if err != nil {
		return map[string]socket.Stats{}, nil
	}
	return a.Stats(), nil
}

func (s *nodeServer) Close(context.Context) error { return toWire(s.closeAll()) }

// closeAll stops the body and closes the actor and its socket context.
func (s *nodeServer) closeAll() error {
	s.mu.Lock()
	s.stopping = true
	if s.stop != nil {
		s.stop()
	}
	a, sockets := s.actor, s.sockets
	s.sockets = nil
	s.mu.Unlock()
	var errs []error
	if a != nil {
		errs = append(errs, a.Close())
	}
	if sockets != nil {
		errs = append(errs, sockets.Close())
	}
	return errors.Join(errs...)
}

// abandon is called when the host is gone (why says how it was noticed):
// stop, close briefly, exit.
func (s *nodeServer) abandon(why string) {
	s.mu.Lock()
	s.gone = why
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.closeAll()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(500 * time.Millisecond):
	}
	os.Exit(3)
}

// switchWriter forwards to the current Run stream; output written while no
// Run is in flight is discarded. Safe for concurrent use.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *switchWriter) set(to io.Writer) {
	w.mu.Lock()
	w.w = to
	w.mu.Unlock()
}

func (w *switchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.w == nil {
		return len(p), nil
	}
	return w.w.Write(p)
}

// watchParent calls gone (once, with the reason) when the host process goes away: the pipe
// named by EnvParentFD reads EOF (the kernel closes the host's end when it
// dies, whatever killed it), or, as a fallback, the parent pid changes.
// The watchers live as long as the process.
func watchParent(log *slog.Logger, gone func(why string)) {
	var once sync.Once
	fire := func(why string) {
		once.Do(func() {
			log.Warn("topo host went away; plugin exiting", "why", why)
			gone(why)
		})
	}
	if v := os.Getenv(pluginproto.EnvParentFD); v != "" {
		if fd, err := strconv.Atoi(v); err == nil && fd > 2 {
			f := os.NewFile(uintptr(fd), "topo-host")
			go func() {
				_, _ = io.Copy(io.Discard, f)
				fire("host pipe closed")
			}()
		}
	}
	ppid := os.Getppid()
	go func() {
		for {
			time.Sleep(250 * time.Millisecond)
			if os.Getppid() != ppid {
				fire("parent process changed")
				return
			}
		}
	}()
}

// newHCLogJSONHandler writes slog records as the JSON lines go-plugin's host
// parses from a plugin's stderr (@level, @message, @timestamp, then
// attributes).
func newHCLogJSONHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				l, _ := a.Value.Any().(slog.Level)
				name := "info"
				switch {
				case l < slog.LevelInfo:
					name = "debug"
				case l < slog.LevelWarn:
					name = "info"
				case l < slog.LevelError:
					name = "warn"
				default:
					name = "error"
				}
				return slog.String("@level", name)
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	})
}
