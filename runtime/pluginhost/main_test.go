package pluginhost

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/zclconf/go-cty/cty"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/topo-zmq/topo/examples/plugin/text"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/pluginproto"
	"github.com/topo-zmq/topo/runtime/socket"
)

// The test binary is also the plugin: started by a Host (the magic cookie is
// in its environment) it serves testKinds; TOPO_TEST_PLUGIN_MODE picks
// misbehaving variants. TOPO_TEST_HOST=1 makes it a small host program for
// the host-SIGKILL test.
const (
	envMode = "TOPO_TEST_PLUGIN_MODE"
	envHost = "TOPO_TEST_HOST"
	// envNaive makes the binary an embedding program that never serves.
	envNaive = "TOPO_TEST_NAIVE_EMBEDDER"
	// envPIDFile: a plugin child in mode "stall" writes its pid there
	// before it stalls.
	envPIDFile = "TOPO_TEST_PID_FILE"
	// envNoDeathSignal=1 makes the host helper leave the Linux
	// parent-death signal off: only the parent pipe ends its plugin.
	envNoDeathSignal = "TOPO_TEST_NO_PDEATHSIG"
)

func TestMain(m *testing.M) {
	if os.Getenv(envNaive) == "1" {
		// An embedding program that forgot to serve when started as a
		// plugin: it runs its "topology" (launches itself) again.
		self, _ := os.Executable()
		h := New(Options{Self: []string{self}})
		_, err := h.Launch(context.Background(), nil, "", plugins.Spec{Name: "inner", Kind: "block"}, io.Discard, nil)
		fmt.Fprintln(os.Stderr, "naive embedder:", err)
		os.Exit(1)
	}
	if IsChild() {
		switch os.Getenv(envMode) {
		case "v2":
			serveVersion2()
		case "old":
			serveBeforeCheck()
		case "stall":
			// A plugin that hangs before serving (a slow init, a
			// deadlock): only the host killing it ends it early.
			if f := os.Getenv(envPIDFile); f != "" {
				os.WriteFile(f+".tmp", []byte(strconv.Itoa(os.Getpid())), 0o644)
				os.Rename(f+".tmp", f)
			}
			time.Sleep(time.Minute)
			plugins.Serve(testKinds()...)
		default:
			profilePlugin()
			plugins.Serve(testKinds()...)
		}
		return
	}
	if os.Getenv(envHost) == "1" {
		os.Exit(hostHelper())
	}
	goleak.VerifyTestMain(m)
}

// envCPUProfile=PATH makes every plugin child write a CPU profile of its
// first profileFor to PATH.PID (benchmarks: the host is killed-closed, so the
// profile cannot wait for the end of the process).
const (
	envCPUProfile = "BENCH_PLUGIN_CPUPROFILE"
	profileFor    = 3 * time.Second
)

// procsKind is a kind with that Kind.Procs whose node sends its process's
// GOMAXPROCS on "out".
func procsKind(name string, procs int) *plugins.Kind {
	return &plugins.Kind{
		Name:    name,
		Life:    plugins.Task,
		Procs:   procs,
		Sockets: []plugins.SocketDecl{{Name: "out", Types: []socket.Type{socket.PUSH}}},
		New: func(plugins.Config) (plugins.Node, error) {
			return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
				return env.Socket("out").Send(ctx, socket.Msg{[]byte(strconv.Itoa(goruntime.GOMAXPROCS(0)))})
			}), nil
		},
	}
}

func profilePlugin() {
	path := os.Getenv(envCPUProfile)
	if path == "" {
		return
	}
	f, err := os.Create(path + "." + strconv.Itoa(os.Getpid()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugin profile:", err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "plugin profile:", err)
		f.Close()
		return
	}
	go func() {
		time.Sleep(profileFor)
		pprof.StopCPUProfile()
		f.Close()
	}()
}

// testKinds are the kinds the test binary serves: the example's upper and
// collect, plus kinds that print, log, block and crash.
func testKinds() []*plugins.Kind {
	return append(text.Kinds(),
		&plugins.Kind{
			Name: "printer",
			Life: plugins.Task,
			Attrs: []plugins.Attr{
				{Name: "lines", Type: cty.Number, Default: cty.NumberIntVal(3)},
			},
			New: func(cfg plugins.Config) (plugins.Node, error) {
				var c struct {
					Lines int `cty:"lines"`
				}
				if err := cfg.Decode(&c); err != nil {
					return nil, err
				}
				return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
					fmt.Println("stray stdout from a plugin node") // must not reach env.Out or break anything
					fmt.Fprintln(os.Stderr, "stray stderr from a plugin node")
					env.Log.Info("hello from plugin", "lines", c.Lines)
					for i := range c.Lines {
						fmt.Fprintf(env.Out, "line %d of %s\n", i, env.Name)
					}
					return nil
				}), nil
			},
		},
		&plugins.Kind{
			// getenv sends the value of its environment variable "name".
			Name:  "getenv",
			Life:  plugins.Task,
			Attrs: []plugins.Attr{{Name: "name", Type: cty.String}},
			Sockets: []plugins.SocketDecl{
				{Name: "out", Types: []socket.Type{socket.PUSH}},
			},
			New: func(cfg plugins.Config) (plugins.Node, error) {
				var c struct {
					Name string `cty:"name"`
				}
				if err := cfg.Decode(&c); err != nil {
					return nil, err
				}
				return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
					return env.Socket("out").Send(ctx, socket.Msg{[]byte(os.Getenv(c.Name))})
				}), nil
			},
		},
		procsKind("gomaxprocs", 0),
		procsKind("gomaxprocs-all", -1),
		&plugins.Kind{
			Name: "block",
			Life: plugins.Service,
			Sockets: []plugins.SocketDecl{
				{Name: "in", Types: []socket.Type{socket.PULL}, Optional: true},
			},
			New: func(plugins.Config) (plugins.Node, error) {
				return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
					fmt.Fprintln(env.Out, "blocking")
					<-ctx.Done()
					fmt.Fprintln(env.Out, "stopped")
					return nil
				}), nil
			},
		},
		&plugins.Kind{
			Name: "crash",
			Life: plugins.Task,
			Attrs: []plugins.Attr{
				{Name: "how", Type: cty.String},
			},
			New: func(cfg plugins.Config) (plugins.Node, error) {
				how := cfg.Attrs.GetAttr("how").AsString()
				return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
					time.Sleep(50 * time.Millisecond)
					switch how {
					case "error":
						return errors.New("it went wrong")
					case "panic":
						panic("boom in Run")
					case "panic-goroutine":
						go func() { panic("boom in a goroutine") }()
					case "exit":
						os.Exit(7)
					}
					<-ctx.Done()
					return nil
				}), nil
			},
		},
		&plugins.Kind{
			// vanish is a service whose body returns nil on its own and
			// whose process is killed right after, as a plugin killed with
			// its wrapper script may be: the host must not take the return
			// for a finish.
			Name: "vanish",
			Life: plugins.Service,
			New: func(plugins.Config) (plugins.Node, error) {
				return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
					time.AfterFunc(20*time.Millisecond, func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) })
					return nil
				}), nil
			},
		},
		wedgeKind(),
	)
}

// wedgeKind is a transform (like text.upper) with a health hook. The first
// time it finds its marker file it removes it and wedges: its body blocks
// for good, ignoring ctx, while the process keeps answering. Its Health
// then says so (health = "error"), or itself hangs, ignoring ctx
// (health = "hang"). Without sockets the body ticks every 10ms instead of
// moving messages. A restarted instance finds no marker and carries on.
func wedgeKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "wedge",
		Life: plugins.Service,
		Attrs: []plugins.Attr{
			{Name: "marker", Type: cty.String},
			{Name: "health", Type: cty.String, Default: cty.StringVal("error")},
		},
		Sockets: []plugins.SocketDecl{
			{Name: "in", Types: []socket.Type{socket.PULL}, Optional: true},
			{Name: "out", Types: []socket.Type{socket.PUSH}, Optional: true},
		},
		New: func(cfg plugins.Config) (plugins.Node, error) {
			w := &wedgeNode{}
			if err := cfg.Decode(w); err != nil {
				return nil, err
			}
			return w, nil
		},
	}
}

type wedgeNode struct {
	Marker     string       `cty:"marker"`
	HealthMode string       `cty:"health"`
	done       atomic.Int64 // messages (or ticks) done
	wedged     atomic.Bool
}

func (w *wedgeNode) Run(ctx context.Context, env plugins.Env) error {
	in, out := env.Socket("in"), env.Socket("out")
	for {
		if os.Remove(w.Marker) == nil {
			fmt.Fprintf(env.Out, "wedged after %d\n", w.done.Load())
			w.wedged.Store(true)
			select {} // a deadlock: only the host killing the process ends it
		}
		if in == nil || out == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(10 * time.Millisecond):
			}
		} else {
			m, err := in.Recv(ctx)
			if err != nil {
				return err
			}
			for i, f := range m {
				m[i] = bytes.ToUpper(f)
			}
			if err := out.Send(ctx, m); err != nil {
				return err
			}
		}
		w.done.Add(1)
	}
}

func (w *wedgeNode) Health(ctx context.Context) error {
	if !w.wedged.Load() {
		return nil
	}
	if w.HealthMode == "hang" {
		select {} // ignores ctx: the SDK must give up on it
	}
	return fmt.Errorf("wedged after %d", w.done.Load())
}

// serveVersion2 is a plugin built against a future topo: protocol 2.
func serveVersion2() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pluginproto.HandshakeVersion(2),
		VersionedPlugins: map[int]plugin.PluginSet{
			2: {pluginproto.PluginName: &pluginproto.GRPCPlugin{Impl: unimplemented{}}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}

// serveBeforeCheck is a plugin built before the Check call existed: it
// describes text's collect kind and answers Check as gRPC answers a
// method it does not know, codes.Unimplemented.
func serveBeforeCheck() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pluginproto.Handshake(),
		VersionedPlugins: map[int]plugin.PluginSet{
			pluginproto.ProtocolVersion: {pluginproto.PluginName: &pluginproto.GRPCPlugin{Impl: beforeCheck{}}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}

type beforeCheck struct{ unimplemented }

func (beforeCheck) Describe(context.Context) (*pluginproto.Description, error) {
	num, _ := pluginproto.EncodeType(cty.Number)
	return &pluginproto.Description{Protocol: pluginproto.ProtocolVersion, Pid: os.Getpid(), Kinds: []pluginproto.KindDesc{
		{Name: "collect", Life: "task", Attrs: []pluginproto.AttrDesc{{Name: "expect", Type: num}},
			Sockets: []pluginproto.SocketDesc{{Name: "in", Types: []string{"PULL"}}}},
	}}, nil
}

func (beforeCheck) Check(context.Context, *pluginproto.CheckRequest) (*pluginproto.CheckReply, error) {
	return nil, status.Error(codes.Unimplemented, "unknown method Check for service "+pluginproto.ServiceName)
}

type unimplemented struct{}

var errUnimplemented = errors.New("unimplemented")

func (unimplemented) Describe(context.Context) (*pluginproto.Description, error) {
	return nil, errUnimplemented
}
func (unimplemented) Bind(context.Context, *pluginproto.Spec) (map[string][]string, error) {
	return nil, errUnimplemented
}
func (unimplemented) Connect(context.Context, map[string][]string) error { return errUnimplemented }
func (unimplemented) Ready(context.Context) error                        { return errUnimplemented }
func (unimplemented) Run(context.Context, io.Writer) error               { return errUnimplemented }
func (unimplemented) Stop(context.Context) error                         { return errUnimplemented }
func (unimplemented) Health(context.Context) error                       { return errUnimplemented }
func (unimplemented) Check(context.Context, *pluginproto.CheckRequest) (*pluginproto.CheckReply, error) {
	return nil, errUnimplemented
}
func (unimplemented) Stats(context.Context) (map[string]socket.Stats, error) {
	return nil, errUnimplemented
}
func (unimplemented) Tap(context.Context, *pluginproto.TapRequest, func(*pluginproto.TapEvent) error) error {
	return errUnimplemented
}
func (unimplemented) Close(context.Context) error { return errUnimplemented }

// hostHelper is a tiny topo host: it launches the test binary as a plugin
// running a "block" node, prints "PID <plugin pid>" and waits to be killed.
func hostHelper() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	h := New(Options{Self: []string{self}, NoParentDeathSignal: os.Getenv(envNoDeathSignal) == "1"})
	ctx := context.Background()
	a, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "blocker", Kind: "block"}, io.Discard, nil)
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	if _, err := a.Bind(ctx); err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	go a.Run(ctx)
	fmt.Printf("PID %d\n", a.(*actor).PID())
	select {}
}

// waitPIDFile waits for a stalling child to write its pid into path.
func waitPIDFile(t testing.TB, path string, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			pid, err := strconv.Atoi(string(b))
			if err != nil {
				t.Fatalf("pid file %s: %v", path, err)
			}
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid file %s after %v", path, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reaped reports whether pid no longer exists at all (not even a zombie).
func reaped(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// selfExe is this test binary.
func selfExe(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// newHost returns a Host serving the test binary, closed at cleanup.
func newHost(t testing.TB, o Options) *Host {
	t.Helper()
	if o.Self == nil {
		o.Self = []string{selfExe(t)}
	}
	if o.CacheDir == "" {
		o.CacheDir = t.TempDir()
	}
	h := New(o)
	t.Cleanup(func() { h.Close() })
	return h
}

// script writes an executable shell script into dir.
func script(t testing.TB, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// recordHandler collects log records.
type recordHandler struct {
	mu    sync.Mutex
	recs  []string
	attrs []slog.Attr
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	var sb strings.Builder
	sb.WriteString(r.Level.String() + " " + r.Message)
	for _, a := range h.attrs {
		sb.WriteString(" " + a.String())
	}
	r.Attrs(func(a slog.Attr) bool {
		sb.WriteString(" " + a.String())
		return true
	})
	h.mu.Lock()
	h.recs = append(h.recs, sb.String())
	h.mu.Unlock()
	return nil
}
func (h *recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	// Shares the record slice: good enough for one logger tree per test.
	return &recordSub{h, as}
}
func (h *recordHandler) WithGroup(string) slog.Handler { return h }
func (h *recordHandler) lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.recs...)
}

type recordSub struct {
	root  *recordHandler
	attrs []slog.Attr
}

func (s *recordSub) Enabled(context.Context, slog.Level) bool { return true }
func (s *recordSub) Handle(ctx context.Context, r slog.Record) error {
	r2 := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r2.AddAttrs(s.attrs...)
	r.Attrs(func(a slog.Attr) bool { r2.AddAttrs(a); return true })
	return s.root.Handle(ctx, r2)
}
func (s *recordSub) WithAttrs(as []slog.Attr) slog.Handler {
	return &recordSub{s.root, append(append([]slog.Attr{}, s.attrs...), as...)}
}
func (s *recordSub) WithGroup(string) slog.Handler { return s }

// readPID reads "PID n" from the host helper's stdout.
func readPID(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var pid int
		if _, err := fmt.Sscanf(sc.Text(), "PID %d", &pid); err == nil {
			return pid, nil
		}
		if strings.HasPrefix(sc.Text(), "ERR") {
			return 0, errors.New(sc.Text())
		}
	}
	return 0, fmt.Errorf("host helper printed no pid: %v", sc.Err())
}
