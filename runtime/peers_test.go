package runtime

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/topo-zmq/topo/internal/lockedbuf"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
	"github.com/topo-zmq/topo/topology"
)

// Every socket of a run announces the run's id and its "instance.socket":
// each end of an edge names the other and counts it as a peer of the run,
// over every transport.
func TestSocketsNameTheirPeers(t *testing.T) {
	for _, ep := range []string{"tcp://127.0.0.1:0", "ipc://", "inproc://peers"} {
		t.Run(ep[:3], func(t *testing.T) {
			if ep == "ipc://" {
				ep = "ipc://" + t.TempDir() + "/peers.sock"
			}
			var mu sync.Mutex
			seen := map[string][]socket.PeerInfo{} // instance.socket -> its peers
			// probe records the peers of its socket once it has want of
			// them. The sink (a service, stopped when the gens finish) then
			// lets the gens finish, so everyone is there to be seen.
			sinkSaw := make(chan struct{})
			probe := func(sock string, want int, service bool) plugins.Node {
				return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
					for {
						if c := env.Sockets[sock].Stats().Conns; len(c) == want {
							mu.Lock()
							seen[env.Name+"."+sock] = c
							mu.Unlock()
							if service {
								close(sinkSaw)
								<-ctx.Done()
							} else {
								select {
								case <-sinkSaw:
								case <-ctx.Done():
								}
							}
							return nil
						}
						select {
						case <-ctx.Done():
							return nil
						case <-time.After(2 * time.Millisecond):
						}
					}
				})
			}
			var reg plugins.Registry
			reg.MustRegister(
				&plugins.Kind{Name: "in", Life: plugins.Service, Sockets: []plugins.SocketDecl{{Name: "in", Types: []socket.Type{socket.PULL}}},
					New: func(plugins.Config) (plugins.Node, error) { return probe("in", 2, true), nil }},
				&plugins.Kind{Name: "out", Life: plugins.Task, Sockets: []plugins.SocketDecl{{Name: "out", Types: []socket.Type{socket.PUSH}}},
					New: func(plugins.Config) (plugins.Node, error) { return probe("out", 1, false), nil }},
			)
			topo := mkTopo(
				tnode{name: "sink", kind: "in", sockets: []*topology.Socket{bindSock("in", "PULL", ep)}},
				tnode{name: "gen", kind: "out", count: 2, sockets: []*topology.Socket{connSock("out", "PUSH", "sink.in")}},
			)
			rt := New(topo, Options{Registry: &reg})
			if err := rt.Run(testCtx(t, 30*time.Second)); err != nil {
				t.Fatal(err)
			}
			if len(rt.RunID()) != 16 {
				t.Errorf("RunID() = %q, want 16 hex digits", rt.RunID())
			}
			mu.Lock()
			defer mu.Unlock()
			for _, name := range []string{"gen[0].out", "gen[1].out"} {
				c := seen[name]
				if len(c) != 1 || c[0].Name != "sink.in" || c[0].Run != rt.RunID() || c[0].External {
					t.Errorf("%s sees %+v, want sink.in of run %s, not external", name, c, rt.RunID())
				}
			}
			for _, c := range seen["sink.in"] {
				if (c.Name != "gen[0].out" && c.Name != "gen[1].out") || c.Run != rt.RunID() || c.External {
					t.Errorf("sink.in sees %+v, want gen[i].out of run %s, not external", c, rt.RunID())
				}
			}
			if len(seen["sink.in"]) != 2 || seen["sink.in"][0].Name == seen["sink.in"][1].Name {
				t.Errorf("sink.in saw %+v, want gen[0].out and gen[1].out", seen["sink.in"])
			}
		})
	}
}

// blockingWriter blocks every Write until release is closed, as a stdout
// nobody reads does.
type blockingWriter struct{ release chan struct{} }

func (w blockingWriter) Write(b []byte) (int, error) { <-w.release; return len(b), nil }

// A body blocked writing its output when the run stops holds the stop for
// StopGrace only: Run returns, naming it, wrapping ErrShutdownTimeout, and
// a log line says which node held the stop.
func TestBlockedOutputHoldsTheStop(t *testing.T) {
	release := make(chan struct{})
	bodyDone := make(chan struct{})
	var reg plugins.Registry
	reg.MustRegister(&plugins.Kind{Name: "talker", Life: plugins.Service,
		New: func(plugins.Config) (plugins.Node, error) {
			return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
				defer close(bodyDone)
				for ctx.Err() == nil {
					_, _ = io.WriteString(env.Out, "line\n")
				}
				return nil
			}), nil
		}})
	var logs lockedbuf.Buffer
	rt := New(mkTopo(tnode{name: "talker", kind: "talker"}), Options{
		Registry: &reg, Stdout: blockingWriter{release}, StopGrace: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- rt.Run(ctx) }()
	time.Sleep(100 * time.Millisecond) // the body is blocked in its first write
	cancel()
	var err error
	select {
	case err = <-ran:
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("Run did not return: the blocked body held the stop")
	}
	close(release) // let the abandoned body finish before goleak looks
	<-bodyDone
	if !errors.Is(err, ErrShutdownTimeout) || !strings.Contains(err.Error(), "talker held the stop") {
		t.Errorf("Run = %v, want ErrShutdownTimeout naming talker as holding the stop", err)
	}
	if !strings.Contains(logs.String(), "talker held the stop") {
		t.Errorf("no log line says talker held the stop:\n%s", logs.String())
	}
	if st := rt.Status(); st[0].State != StateStopped {
		t.Errorf("talker is %s, want stopped", st[0].State)
	}
}
