package runtime

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

// slowKind receives on "in" forever, sleeping `delay` after each message.
func slowKind() *plugins.Kind {
	return &plugins.Kind{
		Name:    "slow",
		Life:    plugins.Service,
		Attrs:   []plugins.Attr{{Name: "delay", Type: cty.String, Default: cty.StringVal("2ms")}},
		Sockets: []plugins.SocketDecl{{Name: "in", Types: []socket.Type{socket.PULL}}},
		New: func(cfg plugins.Config) (plugins.Node, error) {
			var c struct {
				Delay string `cty:"delay"`
			}
			if err := cfg.Decode(&c); err != nil {
				return nil, err
			}
			d, err := time.ParseDuration(c.Delay)
			if err != nil {
				return nil, err
			}
			return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
				in := env.Socket("in")
				for {
					if _, err := in.Recv(ctx); err != nil {
						return err
					}
					time.Sleep(d)
				}
			}), nil
		},
	}
}

// freeTCP returns a tcp endpoint on a loopback port that was free a
// moment ago.
func freeTCP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "tcp://" + ln.Addr().String()
}

// gatherSeries gathers g's series named name, by their labels in
// "k=v,..." form (label names sorted, as Prometheus sends them).
func gatherSeries(t *testing.T, g prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue()
			if mf.GetType() == dto.MetricType_COUNTER {
				v = m.GetCounter().GetValue()
			}
			out[strings.Join(ls, ",")] = v
		}
	}
	return out
}

// A real run: generate pushes 64 large messages at a high-water mark of 1
// to a slow PULL, which a socket outside the topology also pushes 10
// messages to. The PUSH's time blocked at the mark grows (in Stats,
// NodeStatus and topo_socket_send_blocked_seconds_total), and the edges
// are counted by name: gen.out → slow.in, external → slow.in. The sender
// runs as a goroutine node and as a process node.
func TestEdgesAndBlockedOverARun(t *testing.T) {
	for _, iso := range []string{"goroutine", "process"} {
		t.Run(iso, func(t *testing.T) {
			const n, ext = 64, 10
			sinkEP := freeTCP(t)
			src := `
node "gen" {
  type      = "generate"
  messages  = 64
  size      = 262144
  isolation = "` + iso + `"
  socket "out" {
    type = "PUSH"
    bind = "tcp://127.0.0.1:0"
    hwm  = 1
  }
}
node "slow" {
  type  = "slow"
  delay = "3ms"
  socket "in" {
    type    = "PULL"
    connect = node.gen.out
    bind    = "` + sinkEP + `"
    hwm     = 1
  }
}
# A task that never finishes: the run lasts until the test stops it.
node "idle" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = "tcp://127.0.0.1:0"
  }
}
`
			reg := prometheus.NewRegistry()
			o := Options{Registry: processRegistry(t), Registerer: reg, StatsInterval: 50 * time.Millisecond}
			if iso == "process" {
				o.Launcher = selfLauncher()
			}
			ctx := testCtx(t, 60*time.Second)
			rt, err := Load(ctx, "slow.hcl", []byte(src), o)
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- rt.Run(runCtx) }()
			defer func() { stop(); <-done }()

			// An outsider: a socket of no run pushes to slow.in.
			zc := &socket.Context{}
			defer zc.Close()
			outsider, err := zc.NewSocket(socket.PUSH, socket.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := outsider.Connect(sinkEP); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < ext; i++ {
				if err := outsider.Send(ctx, socket.Msg{[]byte("x")}); err != nil {
					t.Fatal(err)
				}
			}

			// Wait for gen to finish and slow to have everything.
			for {
				st := rt.Status()
				if len(st) == 3 && st[0].State == StateFinished && st[1].MsgsIn == n+ext {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("status: %+v", st)
				case <-time.After(20 * time.Millisecond):
				}
			}
			gs := rt.Sockets()["gen"][0].Stats
			if gs.SendBlocked <= 0 {
				t.Errorf("gen.out SendBlocked = %v, want > 0 (PUSH at HWM 1 to a slow PULL)", gs.SendBlocked)
			}
			if b := rt.Status()[0].Blocked; b != gs.SendBlocked {
				t.Errorf("NodeStatus.Blocked = %v, socket's %v", b, gs.SendBlocked)
			}
			blocked := gatherSeries(t, reg, "topo_socket_send_blocked_seconds_total")
			if v := blocked["kind=generate,node=gen,socket=out,type=PUSH"]; v <= 0 || v != gs.SendBlocked.Seconds() {
				t.Errorf("topo_socket_send_blocked_seconds_total of gen.out = %v, want %v > 0 (all: %v)", v, gs.SendBlocked.Seconds(), blocked)
			}
			edges := gatherSeries(t, reg, "topo_edge_messages_total")
			want := map[string]float64{"from=gen.out,to=slow.in": n, "from=external,to=slow.in": ext}
			for k, v := range want {
				if edges[k] != v {
					t.Errorf("topo_edge_messages_total{%s} = %v, want %v (all: %v)", k, edges[k], v, edges)
				}
			}
			if len(edges) != len(want) {
				t.Errorf("topo_edge_messages_total: %v, want just %v", edges, want)
			}
			queued := gatherSeries(t, reg, "topo_edge_queued_messages")
			for k := range want {
				if v, ok := queued[k]; !ok || v != 0 {
					t.Errorf("topo_edge_queued_messages{%s} = %v (present %v), want 0 once drained (all: %v)", k, v, ok, queued)
				}
			}
		})
	}
}
