package observe_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/observe"
	"github.com/topo-zmq/topo/runtime/pluginhost"
)

func TestMain(m *testing.M) {
	var reg plugins.Registry
	reg.MustRegister(builtin.Kinds()...)
	if runtime.ServeIfChild(&reg) {
		return
	}
	goleak.VerifyTestMain(m)
}

func registry() *plugins.Registry {
	var reg plugins.Registry
	reg.MustRegister(builtin.Kinds()...)
	return &reg
}

// pubTopo: gen publishes n messages on a PUB with a high-water mark of 1
// to a count node that subscribes to everything: fast enough to drop.
func pubTopo(isolation string, n int) string {
	iso := ""
	if isolation != "" {
		iso = `isolation = "` + isolation + `"`
	}
	return `
node "gen" {
  type     = "generate"
  messages = ` + itoa(n) + `
  size     = 64
  ` + iso + `
  socket "out" {
    type = "PUB"
    bind = "tcp://127.0.0.1:0"
    hwm  = 1
  }
}
node "sink" {
  type = "count"
  ` + iso + `
  socket "in" {
    type    = "SUB"
    connect = node.gen.out
  }
}
`
}

func itoa(n int) string { return strconv.Itoa(n) }

type events struct {
	mu sync.Mutex
	ev []runtime.Event
	ch chan runtime.Event
}

func (e *events) on(ev runtime.Event) {
	e.mu.Lock()
	e.ev = append(e.ev, ev)
	e.mu.Unlock()
	select {
	case e.ch <- ev:
	default:
	}
}

// metrics gathers g into name → label string → value.
func metrics(t *testing.T, g prometheus.Gatherer) map[string]map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, mf := range mfs {
		m := map[string]float64{}
		for _, mt := range mf.GetMetric() {
			byName := map[string]string{}
			for _, l := range mt.GetLabel() {
				byName[l.GetName()] = l.GetValue()
			}
			var ls []string
			for _, k := range []string{"node", "kind", "socket", "type", "state", "reason", "host", "from", "to"} {
				if v, ok := byName[k]; ok {
					ls = append(ls, k+"="+v)
				}
			}
			m[strings.Join(ls, ",")] = value(mf.GetType(), mt)
		}
		out[mf.GetName()] = m
	}
	return out
}

func value(t dto.MetricType, m *dto.Metric) float64 {
	if t == dto.MetricType_COUNTER {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// runPub runs pubTopo until gen finished and sink received all it will,
// checking every series while the run is live, and returns the runtime.
func runPub(t *testing.T, isolation string) {
	const n = 20000
	reg := prometheus.NewRegistry()
	ev := &events{ch: make(chan runtime.Event, 64)}
	opts := runtime.Options{Registry: registry(), Registerer: reg, OnEvent: ev.on, StatsInterval: 50 * time.Millisecond}
	if isolation != "" {
		opts.Launcher = pluginhost.New(pluginhost.Options{Self: []string{os.Args[0]}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rt, err := runtime.Load(ctx, "pub.hcl", []byte(pubTopo(isolation, n)), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(observe.Handler(rt, reg))
	defer srv.Close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rt.Run(runCtx) }()
	defer func() { stop(); <-done }()
	// gen finishes; then the counts settle (the sink drains its queue).
	for {
		select {
		case e := <-ev.ch:
			if e.Instance == "gen" && e.Kind == runtime.EventFinished {
				goto finished
			}
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-ctx.Done():
			t.Fatal("gen did not finish")
		}
	}
finished:
	var m map[string]map[string]float64
	var socks map[string][]runtime.SocketStatus
	deadline := time.Now().Add(20 * time.Second)
	for prev := -1.0; ; time.Sleep(300 * time.Millisecond) {
		m = metrics(t, reg)
		socks = rt.Sockets()
		got := m["topo_socket_messages_received_total"]["node=sink,kind=count,socket=in,type=SUB"]
		if got == prev && got > 0 && float64(socks["sink"][0].Stats.MsgsIn) == got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink's count did not settle: %v", got)
		}
		prev = got
	}
	gl := "node=gen,kind=generate,socket=out,type=PUB"
	sl := "node=sink,kind=count,socket=in,type=SUB"
	gs, ss := socks["gen"][0].Stats, socks["sink"][0].Stats
	if gs.Dropped == 0 {
		t.Errorf("PUB at HWM 1 dropped nothing (sent %d): the test proves nothing about reason=hwm", gs.MsgsOut)
	}
	want := map[string]map[string]float64{
		"topo_node_up":                           {"node=gen,kind=generate": 0, "node=sink,kind=count": 1},
		"topo_node_restarts_total":               {"node=gen,kind=generate": 0, "node=sink,kind=count": 0},
		"topo_node_state":                        {"node=gen,kind=generate,state=finished": 1, "node=gen,kind=generate,state=running": 0, "node=sink,kind=count,state=running": 1},
		"topo_socket_messages_sent_total":        {gl: n, sl: 0},
		"topo_socket_messages_received_total":    {gl: 0, sl: float64(ss.MsgsIn)},
		"topo_socket_bytes_sent_total":           {gl: n * 64},
		"topo_socket_bytes_received_total":       {sl: float64(ss.MsgsIn) * 64},
		"topo_socket_dropped_messages_total":     {gl + ",reason=hwm": float64(gs.Dropped), gl + ",reason=subscription_limit": 0, sl + ",reason=hwm": 0},
		"topo_socket_peers":                      {sl: 0, gl: 0}, // gen finished: the connection is gone
		"topo_socket_subscribers":                {gl: 0},        // gen finished: its socket is closed
		"topo_socket_connects_total":             {gl: 1, sl: 1},
		"topo_socket_disconnects_total":          {sl: 1}, // gen's socket closed when it finished
		"topo_socket_handshake_failures_total":   {gl: 0, sl: 0},
		"topo_socket_expected_peers":             {gl: 1, sl: 1},
		"topo_socket_send_blocked_seconds_total": {gl: 0, sl: 0}, // a PUB drops, never waits
		// What the PUB queued towards the sink (the rest it dropped), all drained.
		"topo_edge_messages_total":  {"from=gen.out,to=sink.in": float64(ss.MsgsIn)},
		"topo_edge_queued_messages": {"from=gen.out,to=sink.in": 0},
	}
	for name, series := range want {
		for labels, v := range series {
			got, ok := m[name][labels]
			if !ok {
				t.Errorf("%s{%s} missing; have %v", name, labels, m[name])
				continue
			}
			if got != v {
				t.Errorf("%s{%s} = %v, want %v", name, labels, got, v)
			}
		}
	}
	if ss.MsgsIn+gs.Dropped != n {
		t.Errorf("sink received %d + gen dropped %d, want %d", ss.MsgsIn, gs.Dropped, n)
	}
	for _, st := range rt.Status() {
		if st.Name == "gen" && st.Dropped != gs.Dropped {
			t.Errorf("NodeStatus.Dropped = %d, socket %d", st.Dropped, gs.Dropped)
		}
	}

	// The HTTP side: /metrics, /healthz, /readyz, /v1/status.
	body, code := get(t, srv.URL+"/metrics")
	if code != 200 || !strings.Contains(body, `topo_socket_dropped_messages_total{kind="generate",node="gen",reason="hwm",socket="out",type="PUB"}`) {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	if body, code := get(t, srv.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if body, code := get(t, srv.URL+"/readyz"); code != 200 {
		t.Errorf("/readyz after the ready phase (gen finished): %d %s", code, body)
	}
	body, code = get(t, srv.URL+"/v1/status")
	var sb observe.StatusBody
	if err := json.Unmarshal([]byte(body), &sb); err != nil || code != 200 {
		t.Fatalf("/v1/status: %d %v\n%s", code, err, body)
	}
	if len(sb.Nodes) != 2 || sb.Nodes[1].Name != "sink" || sb.Nodes[1].Sockets[0].MsgsIn != ss.MsgsIn ||
		len(sb.Nodes[1].Sockets[0].Conns) != 0 && sb.Nodes[1].Sockets[0].Conns[0].External {
		t.Errorf("/v1/status: %s", body)
	}
	if e := sb.Nodes[1].Sockets[0].Edges; len(e) != 1 || e[0].Peer != "gen.out" || e[0].Received != ss.MsgsIn {
		t.Errorf("/v1/status sink's edges: %+v, want gen.out with %d received", e, ss.MsgsIn)
	}
	if sb.Nodes[0].Sockets[0].Dropped != gs.Dropped || sb.Run != rt.RunID() {
		t.Errorf("/v1/status gen: %+v", sb.Nodes[0])
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil
	if _, code := get(t, srv.URL+"/healthz"); code != 503 {
		t.Errorf("/healthz after Run returned: %d, want 503", code)
	}
	if got := metrics(t, reg); len(got) != 0 {
		t.Errorf("series left registered after Run: %v", got)
	}
}

func get(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

func TestEverySeriesGoroutineNode(t *testing.T) { runPub(t, "") }

func TestEverySeriesProcessNode(t *testing.T) { runPub(t, "process") }

// TestReadyz: /readyz is 503 while nodes start, naming them and their
// sockets short of peers, and 200 from the ready phase on.
func TestReadyz(t *testing.T) {
	src := `
node "sink" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = "tcp://127.0.0.1:0"
  }
}
node "gen" {
  type     = "generate"
  messages = 10
  socket "out" {
    type    = "PUSH"
    connect = node.sink.in
  }
}
`
	var srv *httptest.Server
	var during struct {
		body string
		code int
	}
	var once sync.Once
	opts := runtime.Options{Registry: registry(), OnEvent: func(e runtime.Event) {
		if e.Kind == runtime.EventStarting && e.Instance == "gen" {
			once.Do(func() { during.body, during.code = get(t, srv.URL+"/readyz") })
		}
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := runtime.Load(ctx, "ready.hcl", []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(observe.Handler(rt, nil))
	defer srv.Close()
	if body, code := get(t, srv.URL+"/readyz"); code != 503 || !strings.Contains(body, `"ready": false`) {
		t.Errorf("/readyz before Run: %d %s", code, body)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rt.Run(runCtx) }()
	defer func() { stop(); <-done }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st := rt.Status(); len(st) == 2 && st[1].State == runtime.StateFinished {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("gen did not finish")
		}
	}
	if during.code != 503 {
		t.Fatalf("/readyz while gen starts: %d %s", during.code, during.body)
	}
	var rb observe.ReadyBody
	if err := json.Unmarshal([]byte(during.body), &rb); err != nil {
		t.Fatal(err)
	}
	if len(rb.Waiting) != 2 || rb.Waiting[0].Node != "sink" || len(rb.Waiting[0].Sockets) != 1 ||
		rb.Waiting[0].Sockets[0] != "in: 0/1 peers" || rb.Waiting[1].Node != "gen" {
		t.Errorf("/readyz while gen starts names %+v, want sink (in: 0/1 peers) and gen\n%s", rb.Waiting, during.body)
	}
	if body, code := get(t, srv.URL+"/readyz"); code != 200 {
		t.Errorf("/readyz after the ready phase, gen finished: %d %s", code, body)
	}
}
