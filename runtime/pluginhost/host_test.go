package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// TestKindsDescribesExamplePlugin builds examples/plugin from source with
// the Go toolchain and checks what it says about its kinds.
func TestKindsDescribesExamplePlugin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cache := t.TempDir()
	h := newHost(t, Options{CacheDir: cache})
	p := &topology.Plugin{Name: "text", Source: "./examples/plugin"}
	kinds, err := h.Kinds(ctx, p, repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*plugins.Kind{}
	for _, k := range kinds {
		if k.New != nil {
			t.Errorf("kind %q: New is set", k.Name)
		}
		byName[k.Name] = k
	}
	up, ok := byName["upper"]
	if !ok || len(kinds) != 2 {
		t.Fatalf("kinds = %v, want upper and collect", kinds)
	}
	if up.Life != plugins.Service || !strings.Contains(up.Doc, "upper-cases") {
		t.Errorf("upper: life %v doc %q", up.Life, up.Doc)
	}
	a, ok := up.Attr("prefix")
	if !ok || !a.Type.Equals(cty.String) || a.Required() || !a.Default.RawEquals(cty.StringVal("")) {
		t.Errorf("upper.prefix = %#v", a)
	}
	in, ok := up.Socket("in")
	if !ok || len(in.Types) != 3 || in.Types[0] != socket.PULL {
		t.Errorf("upper.in = %#v", in)
	}
	col := byName["collect"]
	if col.Life != plugins.Task {
		t.Errorf("collect life = %v", col.Life)
	}
	if e, ok := col.Attr("expect"); !ok || !e.Required() || !e.Type.Equals(cty.Number) {
		t.Errorf("collect.expect = %#v", e)
	}

	// The binary is cached: a second host with the same cache does not rebuild.
	entries, _ := os.ReadDir(cache)
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), "text-") {
		t.Fatalf("cache holds %v, want one text-<hash> binary", entries)
	}
	st0, _ := entries[0].Info()
	h2 := newHost(t, Options{CacheDir: cache})
	if _, err := h2.Kinds(ctx, p, repoRoot(t)); err != nil {
		t.Fatal(err)
	}
	entries, _ = os.ReadDir(cache)
	st1, _ := entries[0].Info()
	if len(entries) != 1 || !st1.ModTime().Equal(st0.ModTime()) {
		t.Errorf("second host rebuilt the plugin: %v", entries)
	}
}

// TestLifecycleMovesMessages runs the example's "upper" kind in a plugin
// process: the plugin binds its PULL, connects its PUSH to a test socket,
// and real messages flow over tcp through the subprocess.
func TestLifecycleMovesMessages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var sctx socket.Context
	defer sctx.Close()
	sink, _ := sctx.NewSocket(socket.PULL, socket.Options{})
	defer sink.Close()
	if err := sink.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	h := newHost(t, Options{})
	spec := plugins.Spec{
		Name:  "shout[1]",
		Index: 1,
		Kind:  "upper",
		Attrs: cty.ObjectVal(map[string]cty.Value{"prefix": cty.StringVal("hey ")}),
		Sockets: []plugins.SocketSpec{
			{Name: "in", Type: socket.PULL, Bind: []string{"tcp://127.0.0.1:0"}},
			{Name: "out", Type: socket.PUSH, Expect: 1},
		},
	}
	a, err := h.Launch(ctx, nil, "", spec, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	eps, err := a.Bind(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(eps["in"]) != 1 || strings.HasSuffix(eps["in"][0], ":0") {
		t.Fatalf("bound endpoints = %v", eps)
	}
	if err := a.Connect(ctx, map[string][]string{"out": sink.Endpoints()}); err != nil {
		t.Fatal(err)
	}
	if err := a.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	src, _ := sctx.NewSocket(socket.PUSH, socket.Options{})
	defer src.Close()
	if err := src.Connect(eps["in"][0]); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- a.Run(runCtx) }()
	const n = 200
	for i := range n {
		if err := src.Send(ctx, socket.Msg{[]byte(fmt.Sprintf("msg %d", i)), []byte("two")}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		m, err := sink.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("HEY MSG %d|TWO", i)
		if got := string(m[0]) + "|" + string(m[1]); got != want {
			t.Fatalf("message %d = %q, want %q", i, got, want)
		}
	}
	// Counts are exact once the node's sockets are idle (its Recv may still
	// be polling for a moment after the last message).
	st := a.Stats()
	for deadline := time.Now().Add(2 * time.Second); (st["in"].MsgsIn != n || st["out"].MsgsOut != n) && time.Now().Before(deadline); st = a.Stats() {
		time.Sleep(10 * time.Millisecond)
	}
	if st["in"].MsgsIn != n || st["out"].MsgsOut != n {
		t.Errorf("stats = %+v", st)
	}
	stop()
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run after stop = %v, want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("Run did not return after stop")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

// TestOutputAndLogs: Env.Out reaches the host's writer in order, logs reach
// the host's slog tagged with the node, stray prints do neither harm nor
// reach the output.
func TestOutputAndLogs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := &recordHandler{}
	log := slog.New(rec).With("node", "p")
	h := newHost(t, Options{})
	var out lockedbuf.Buffer
	a, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "p", Kind: "printer",
		Attrs: cty.ObjectVal(map[string]cty.Value{"lines": cty.NumberIntVal(50)})}, &out, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := range 50 {
		fmt.Fprintf(&want, "line %d of p\n", i)
	}
	if out.String() != want.String() {
		t.Errorf("output =\n%s\nwant\n%s", out.String(), want.String())
	}
	// Logs and stray stdout travel go-plugin's own streams, asynchronously
	// to Run's result: wait (bounded) for them while the plugin still lives.
	var sawLog, sawStray bool
	for !(sawLog && sawStray) && ctx.Err() == nil {
		for _, l := range rec.lines() {
			if strings.Contains(l, "hello from plugin") && strings.Contains(l, "node=p") && strings.Contains(l, "lines=50") {
				sawLog = true
			}
			if strings.Contains(l, "stray stdout from a plugin node") {
				sawStray = true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.Close()
	if !sawLog || !sawStray {
		t.Errorf("log (plugin line %v, stray stdout %v):\n%s", sawLog, sawStray, strings.Join(rec.lines(), "\n"))
	}
	if strings.Contains(out.String(), "stray") {
		t.Errorf("stray stdout reached the node output:\n%s", out.String())
	}
}

// TestStopIsClean: a service stopped through ctx returns nil and its
// output written while stopping is delivered.
func TestStopIsClean(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := newHost(t, Options{})
	var out lockedbuf.Buffer
	a, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "svc", Kind: "block"}, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	go func() {
		for !strings.Contains(out.String(), "blocking") && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		stop()
	}()
	if err := a.Run(runCtx); err != nil {
		t.Fatal(err)
	}
	if out.String() != "blocking\nstopped\n" {
		t.Errorf("output = %q", out.String())
	}
}

// TestCrashMidRun: the plugin process killed with SIGKILL, exiting, or
// panicking outside Run's recovery makes Run return an error that names the
// instance and wraps ErrExited; an error or a recovered panic in the body is
// returned with the instance name.
func TestCrashMidRun(t *testing.T) {
	h := newHost(t, Options{})
	for _, tc := range []struct {
		how    string
		exited bool
		want   string
	}{
		{"sigkill", true, "signal: killed"},
		{"exit", true, "exit status 7"},
		{"panic-goroutine", true, "boom in a goroutine"},
		{"panic", false, "node panicked: boom in Run"},
		{"error", false, "it went wrong"},
	} {
		t.Run(tc.how, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			name := "worker[" + tc.how + "]"
			a, err := h.Launch(ctx, nil, "", plugins.Spec{Name: name, Kind: "crash",
				Attrs: cty.ObjectVal(map[string]cty.Value{"how": cty.StringVal(tc.how)})}, io.Discard, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if _, err := a.Bind(ctx); err != nil {
				t.Fatal(err)
			}
			pid := a.(*actor).PID()
			if tc.how == "sigkill" {
				time.AfterFunc(200*time.Millisecond, func() { syscall.Kill(pid, syscall.SIGKILL) })
			}
			start := time.Now()
			err = a.Run(ctx)
			if err == nil {
				t.Fatal("Run returned nil")
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("Run took %v to notice", time.Since(start))
			}
			if !strings.HasPrefix(err.Error(), name+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to start with %q and contain %q", err, name, tc.want)
			}
			if errors.Is(err, ErrExited) != tc.exited {
				t.Errorf("errors.Is(err, ErrExited) = %v, want %v (%v)", !tc.exited, tc.exited, err)
			}
			if tc.exited && !strings.Contains(err.Error(), "pid "+strconv.Itoa(pid)) {
				t.Errorf("error %q does not name pid %d", err, pid)
			}
			if err := a.Close(); err != nil && !tc.exited {
				t.Errorf("Close: %v", err)
			}
			if alive(pid) {
				t.Errorf("plugin pid %d still alive after Close", pid)
			}
		})
	}
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) STATE ...
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// TestHostSIGKILLLeavesNoPlugin runs a host program (this test binary in
// helper mode) that launches a plugin, kills the host with SIGKILL and
// waits for the plugin process to disappear: once with every mechanism,
// once with the parent pipe alone (no Linux parent-death signal).
func TestHostSIGKILLLeavesNoPlugin(t *testing.T) {
	t.Run("default", func(t *testing.T) { hostSIGKILLLeavesNoPlugin(t, envHost+"=1") })
	t.Run("pipe only", func(t *testing.T) { hostSIGKILLLeavesNoPlugin(t, envHost+"=1", envNoDeathSignal+"=1") })
}

func hostSIGKILLLeavesNoPlugin(t *testing.T, env ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, selfExe(t))
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid, err := readPID(stdout)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal(err)
	}
	if !alive(pid) {
		t.Fatalf("plugin pid %d not running", pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killed := time.Now()
	for alive(pid) {
		if time.Since(killed) > 5*time.Second {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("plugin pid %d outlived its SIGKILLed host by 5s", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("plugin exited %v after its host was killed", time.Since(killed).Round(time.Millisecond))
}

// TestErrors produces every start error and checks it names the node, the
// plugin and the path.
func TestErrors(t *testing.T) {
	dir := t.TempDir()
	self := selfExe(t)
	notExec := filepath.Join(dir, "plain")
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644)
	garbage := script(t, dir, "garbage", `echo "hello, I am not a plugin"; exec sleep 5`)
	slow := script(t, dir, "slow", `exec sleep 30`)
	v2 := script(t, dir, "v2", envMode+`=v2 exec "`+self+`" "$@"`)
	wrapper := script(t, dir, "wrapper", `exec "`+self+`" "$@"`)
	crasher := script(t, dir, "crasher", `echo "fatal: cannot start" >&2; exit 3`)
	sum := sha256.Sum256([]byte("#!/bin/sh\nexec \"" + self + "\" \"$@\"\n"))
	good := hex.EncodeToString(sum[:])

	cases := []struct {
		name    string
		p       topology.Plugin
		kind    string
		timeout time.Duration
		is      error
		want    []string
	}{
		{"missing binary", topology.Plugin{Name: "x", Command: "./bin/missing"}, "upper", 0, ErrNotFound,
			[]string{`plugin "x"`, filepath.Join(dir, "bin/missing"), "no such file"}},
		{"not executable", topology.Plugin{Name: "x", Command: "plain"}, "upper", 0, ErrNotExecutable,
			[]string{`plugin "x"`, notExec, "chmod +x"}},
		{"directory", topology.Plugin{Name: "x", Command: dir}, "upper", 0, ErrNotExecutable,
			[]string{dir, "is a directory"}},
		{"exits at once", topology.Plugin{Name: "x", Command: "/bin/true"}, "upper", 0, ErrNotPlugin,
			[]string{`plugin "x"`, "/bin/true", "not a topo plugin", "exited before the topo plugin handshake", "exit status 0"}},
		{"exits with stderr", topology.Plugin{Name: "x", Command: crasher}, "upper", 0, ErrNotPlugin,
			[]string{crasher, "not a topo plugin", "exit status 3", "fatal: cannot start"}},
		{"prints garbage", topology.Plugin{Name: "x", Command: garbage}, "upper", 0, ErrNotPlugin,
			[]string{garbage, "not a topo plugin", `printed "hello, I am not a plugin"`}},
		{"handshake timeout", topology.Plugin{Name: "x", Command: slow}, "upper", time.Second, ErrHandshakeTimeout,
			[]string{slow, "handshake timeout after 1s"}},
		{"checksum mismatch", topology.Plugin{Name: "x", Command: wrapper, SHA256: strings.Repeat("ab", 32)}, "upper", 0, ErrChecksum,
			[]string{wrapper, "sha256 " + good, "pins " + strings.Repeat("ab", 32)}},
		{"protocol version", topology.Plugin{Name: "x", Command: v2}, "upper", 0, ErrProtocolVersion,
			[]string{v2, "protocol version mismatch", "speaks protocol 2", "this topo speaks 1"}},
		{"unknown kind", topology.Plugin{Name: "x", Command: wrapper, SHA256: good}, "lower", 0, ErrUnknownKind,
			[]string{wrapper, `does not serve kind "lower"`, "block, collect, crash, getenv, gomaxprocs, gomaxprocs-all, printer, upper"}},
		{"source missing", topology.Plugin{Name: "x", Source: "./nope"}, "upper", 0, ErrNotFound,
			[]string{filepath.Join(dir, "nope"), "no such directory"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			h := newHost(t, Options{StartTimeout: tc.timeout})
			p := tc.p
			a, err := h.Launch(ctx, &p, dir, plugins.Spec{Name: "node[3]", Kind: tc.kind}, io.Discard, nil)
			if err == nil {
				a.Close()
				t.Fatal("Launch succeeded")
			}
			msg := err.Error()
			if !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", msg, tc.is)
			}
			for _, w := range append([]string{"node[3]: "}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if tc.kind == "upper" && tc.name != "unknown kind" {
				// Kinds reports the same problem, naming the plugin.
				if _, kerr := h.Kinds(ctx, &p, dir); !errors.Is(kerr, tc.is) || !strings.Contains(kerr.Error(), `plugin "x"`) {
					t.Errorf("Kinds error = %v", kerr)
				}
			}
		})
	}
}

// TestCloseKillsEverything: Host.Close kills launched plugins, and Launch
// after Close fails.
func TestCloseKillsEverything(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := newHost(t, Options{})
	var pids []int
	for i := range 2 {
		a, err := h.Launch(ctx, nil, "", plugins.Spec{Name: fmt.Sprintf("b[%d]", i), Kind: "block"}, io.Discard, nil)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, a.(*actor).PID())
	}
	h.Close()
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d alive after Close", pid)
		}
	}
	if _, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "late", Kind: "block"}, io.Discard, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Launch after Close = %v", err)
	}
}

// TestLaunchCtxKills: the process is killed when Launch's ctx is done.
func TestLaunchCtxKills(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newHost(t, Options{})
	a, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "b", Kind: "block"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid := a.(*actor).PID()
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		t.Fatalf("pid %d alive after ctx cancel", pid)
	}
}

// TestNoLeaks: launching and closing plugins leaves no file descriptor
// behind in the host.
func TestNoLeaks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := newHost(t, Options{})
	countFDs := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		return len(ents)
	}
	launch := func() {
		a, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "b", Kind: "block"}, io.Discard, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Bind(ctx); err != nil {
			t.Fatal(err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	launch() // warm up lazily opened descriptors
	before := countFDs()
	for range 10 {
		launch()
	}
	if after := countFDs(); after > before+2 {
		t.Errorf("file descriptors: %d before, %d after 10 launches", before, after)
	}
}

// TestNaiveEmbedderDoesNotRecurse: a program that runs a topology with
// isolation = "process" but does not serve when started as a plugin would
// launch itself again and again; the child refuses to launch, so the parent
// gets a clear "not a topo plugin" error quoting the child's explanation.
func TestNaiveEmbedderDoesNotRecurse(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := newHost(t, Options{Env: []string{envNaive + "=1"}})
	_, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "outer", Kind: "block"}, io.Discard, nil)
	if !errors.Is(err, ErrNotPlugin) {
		t.Fatalf("Launch = %v, want ErrNotPlugin", err)
	}
	for _, w := range []string{"outer: self", "exit status 1", "inner: self: this process was started as a topo plugin", "runtime.ServeIfChild(&reg)"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// TestSourceRebuildAndBuildError: a source plugin is rebuilt when its code
// changes (the new binary is the one that runs), and a build failure is
// reported with the compiler's message. The module here is not a topo
// plugin, which also shows how that is reported for a source plugin.
func TestSourceRebuildAndBuildError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	src := filepath.Join(dir, "notplugin")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.com/notplugin\n\ngo 1.21\n"), 0o644)
	write := func(body string) {
		os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nimport \"os\"\n\nfunc main() {\n"+body+"\n}\n"), 0o644)
	}
	cache := t.TempDir()
	p := &topology.Plugin{Name: "np", Source: "./notplugin"}
	kinds := func() error {
		h := newHost(t, Options{CacheDir: cache})
		_, err := h.Kinds(ctx, p, dir)
		return err
	}

	write(`os.Stderr.WriteString("version one\n"); os.Exit(2)`)
	err := kinds()
	if !errors.Is(err, ErrNotPlugin) || !strings.Contains(err.Error(), "version one") || !strings.Contains(err.Error(), "exit status 2") {
		t.Fatalf("first build: %v", err)
	}
	write(`os.Stderr.WriteString("version two\n"); os.Exit(2)`)
	err = kinds()
	if !errors.Is(err, ErrNotPlugin) || !strings.Contains(err.Error(), "version two") {
		t.Fatalf("after the change: %v", err)
	}
	if ents, _ := os.ReadDir(cache); len(ents) != 2 {
		t.Errorf("cache holds %d binaries, want 2 (one per source version)", len(ents))
	}

	write(`this is not Go`)
	err = kinds()
	if !errors.Is(err, ErrBuild) || !strings.Contains(err.Error(), `plugin "np"`) || !strings.Contains(err.Error(), "main.go") {
		t.Fatalf("build error: %v", err)
	}
}

// TestSelfDefaultInTestBinary: without Options.Self, a test binary is told
// to set it instead of re-running its test suite as a "plugin".
func TestSelfDefaultInTestBinary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := New(Options{})
	defer h.Close()
	_, err := h.Launch(ctx, nil, "", plugins.Spec{Name: "n", Kind: "block"}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "n: self: ") || !strings.Contains(err.Error(), "needs pluginhost.Options.Self") {
		t.Fatalf("Launch = %v", err)
	}
}

// A plugin block's env reaches the plugin process, after (so over) the
// host's own environment.
func TestPluginEnv(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Setenv("TOPO_TEST_ENV_PROBE", "from the host")
	h := newHost(t, Options{})
	p := &topology.Plugin{Name: "self", Command: selfExe(t), Env: map[string]string{"TOPO_TEST_ENV_PROBE": "from the plugin block", "GOMAXPROCS": "1"}}
	for _, name := range []string{"TOPO_TEST_ENV_PROBE", "GOMAXPROCS"} {
		got := runProbe(ctx, t, h, p, "getenv", cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name)}))
		if want := p.Env[name]; got != want {
			t.Errorf("plugin saw %s=%q, want %q from the plugin block", name, got, want)
		}
	}
}

// A node's own process runs with the GOMAXPROCS its Kind.Procs asks for
// (half the CPUs by default), unless the environment sets GOMAXPROCS.
func TestPluginProcs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Setenv("GOMAXPROCS", "") // restored after the test; unset for the plugins
	os.Unsetenv("GOMAXPROCS")
	h := newHost(t, Options{})
	cpus := goruntime.NumCPU()
	self := &topology.Plugin{Name: "self", Command: selfExe(t)}
	pinned := &topology.Plugin{Name: "self", Command: selfExe(t), Env: map[string]string{"GOMAXPROCS": "3"}}
	for _, tc := range []struct {
		kind string
		p    *topology.Plugin
		want int
	}{
		{"gomaxprocs", self, max(1, cpus/2)},
		{"gomaxprocs-all", self, cpus},
		{"gomaxprocs", pinned, 3},
		{"gomaxprocs-all", pinned, 3},
	} {
		got := runProbe(ctx, t, h, tc.p, tc.kind, cty.EmptyObjectVal)
		if got != strconv.Itoa(tc.want) {
			t.Errorf("%s (env %v): GOMAXPROCS in the plugin = %s, want %d", tc.kind, tc.p.Env, got, tc.want)
		}
	}
}

// runProbe runs one node of kind in a plugin process of p to the end and
// returns the one message it sends on its "out" socket.
func runProbe(ctx context.Context, t *testing.T, h *Host, p *topology.Plugin, kind string, attrs cty.Value) string {
	t.Helper()
	var sctx socket.Context
	defer sctx.Close()
	sink, _ := sctx.NewSocket(socket.PULL, socket.Options{})
	defer sink.Close()
	if err := sink.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	a, err := h.Launch(ctx, p, "", plugins.Spec{Name: "probe", Kind: kind, Attrs: attrs,
		Sockets: []plugins.SocketSpec{{Name: "out", Type: socket.PUSH}},
	}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(ctx, map[string][]string{"out": sink.Endpoints()}); err != nil {
		t.Fatal(err)
	}
	if err := a.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := sink.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(m[0])
}
