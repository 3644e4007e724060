package runtime

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// helloOn is hello-server (bound at ep, restart policy restart) and a
// hello-client sending two requests.
func helloOn(ep, restart string, isolation string) *topology.Topology {
	t := mkTopo(
		tnode{name: "server", kind: "hello-server", restart: restart, sockets: []*topology.Socket{bindSock("in", "REP", ep)}},
		tnode{name: "client", kind: "hello-client", sockets: []*topology.Socket{connSock("out", "REQ", "server.in")}},
	)
	t.Nodes[0].Isolation = isolation
	setAttrs(t, "client", map[string]cty.Value{"requests": cty.NumberIntVal(2)})
	return t
}

// TestAddrInUseOneCleanMessage: a bind on a port in use fails with one
// message naming node, socket and endpoint, once, with the hint, and
// wrapping socket.ErrAddrInUse: for a goroutine node and for a process
// node (whose error crosses the plugin protocol).
func TestAddrInUseOneCleanMessage(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep := "tcp://" + l.Addr().String()
	want := `server: socket "in": bind ` + ep + `: address already in use (is another program, or another topology, using that port?)`
	for _, isolation := range []string{"goroutine", "process"} {
		t.Run(isolation, func(t *testing.T) {
			o := Options{Registry: processRegistry(t)}
			if isolation == "process" {
				o.Launcher = selfLauncher()
			}
			rt := New(helloOn(ep, "never", isolation), o)
			start := time.Now()
			err := rt.Run(testCtx(t, 30*time.Second))
			if err == nil || err.Error() != want {
				t.Fatalf("Run =\n  %v\nwant\n  %s", err, want)
			}
			if !errors.Is(err, socket.ErrAddrInUse) {
				t.Errorf("Run = %v, does not wrap socket.ErrAddrInUse", err)
			}
			// The typed error, built where the bind failed (in the plugin
			// process for a process node) and carried to here.
			var ne *plugins.NodeError
			var be *plugins.BindError
			if !errors.As(err, &ne) || ne.Node != "server" || ne.Op != "bind" {
				t.Errorf("Run = %#v, want a *plugins.NodeError of server, op bind", err)
			}
			if !errors.As(err, &be) || be.Socket != "in" || be.Endpoint != ep {
				t.Errorf("Run = %v, want a *plugins.BindError of socket in, endpoint %s (got %+v)", err, ep, be)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf(`restart = "never" took %s to fail`, d)
			}
			if st := rt.Status()[0]; st.State != StateFailed || st.Restarts != 0 {
				t.Errorf("server status = %+v", st)
			}
		})
	}
}

// TestAddrInUseIPCHintNamesSocketFile: for ipc:// the hint is about the
// socket file another program listens on, not a port.
func TestAddrInUseIPCHintNamesSocketFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep := "ipc://" + path
	rt := New(helloOn(ep, "never", "goroutine"), Options{Registry: builtinRegistry(t)})
	err = rt.Run(testCtx(t, 20*time.Second))
	want := `server: socket "in": bind ` + ep + `: address already in use (is another program, or another topology, listening on the socket file ` + path + `? topo replaces a stale one only when nothing answers on it)`
	if err == nil || err.Error() != want || !errors.Is(err, socket.ErrAddrInUse) {
		t.Fatalf("Run =\n  %v\nwant\n  %s", err, want)
	}
	if strings.Contains(err.Error(), "port") {
		t.Errorf("an ipc hint talks about a port: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the other program's socket file is gone: %v", err)
	}
}

// TestStartupBindFailureRetried: a node whose bind fails at start-up is
// retried per its restart policy with backoff, like a failure while
// running: the port is freed after ~300 ms, the node comes up and the run
// completes. For a goroutine node and a process node.
func TestStartupBindFailureRetried(t *testing.T) {
	for _, isolation := range []string{"goroutine", "process"} {
		t.Run(isolation, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			ep := "tcp://" + l.Addr().String()
			// Free the port ~300 ms after the first failed bind (a process
			// node takes longer than that to start at all).
			var freeOnce sync.Once
			var ev eventLog
			o := Options{Registry: processRegistry(t), ShutdownTimeout: 5 * time.Second, OnEvent: func(e Event) {
				ev.add(e)
				if e.Instance == "server" && e.Kind == EventFailed {
					freeOnce.Do(func() { time.AfterFunc(300*time.Millisecond, func() { l.Close() }) })
				}
			}}
			if isolation == "process" {
				o.Launcher = selfLauncher()
			}
			rt := New(helloOn(ep, "", isolation), o)
			if err := rt.Run(testCtx(t, 60*time.Second)); err != nil {
				t.Fatalf("Run: %v", err)
			}
			failed := ev.of("server", EventFailed)
			if len(failed) == 0 {
				t.Fatal("no failure reported for the bind on a port in use")
			}
			if err := failed[0].Err; !errors.Is(err, socket.ErrAddrInUse) || !strings.HasPrefix(err.Error(), `server: socket "in": bind `+ep+": address already in use (") {
				t.Errorf("first failure = %v", err)
			}
			if len(ev.of("server", EventRestarting)) == 0 || len(ev.of("server", EventRunning)) != 1 {
				t.Errorf("restarting %d, running %d times", len(ev.of("server", EventRestarting)), len(ev.of("server", EventRunning)))
			}
			st := rt.Status()
			if st[0].Restarts != len(failed) || st[0].MsgsIn != 2 || st[1].State != StateFinished || st[1].MsgsIn != 2 {
				t.Errorf("status = %+v", st)
			}
		})
	}
}
