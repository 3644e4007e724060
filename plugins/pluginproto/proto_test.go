package pluginproto

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/topo-zmq/topo/runtime/socket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestValueRoundTrip(t *testing.T) {
	for _, v := range []cty.Value{
		cty.NilVal,
		cty.StringVal("hey"),
		cty.NumberIntVal(42),
		cty.NumberFloatVal(1.5),
		cty.True,
		cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
		cty.ListValEmpty(cty.String),
		cty.NullVal(cty.Number),
		cty.ObjectVal(map[string]cty.Value{
			"prefix": cty.StringVal("x"),
			"n":      cty.NumberIntVal(3),
			"tags":   cty.MapVal(map[string]cty.Value{"k": cty.StringVal("v")}),
		}),
		cty.EmptyObjectVal,
	} {
		w, err := EncodeValue(v)
		if err != nil {
			t.Fatalf("encode %#v: %v", v, err)
		}
		b, _ := json.Marshal(w)
		var back Value
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		got, err := DecodeValue(back)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if v == cty.NilVal {
			if got != cty.NilVal {
				t.Errorf("NilVal came back as %#v", got)
			}
			continue
		}
		if !got.RawEquals(v) {
			t.Errorf("round trip of %#v gave %#v (wire %s)", v, got, b)
		}
	}
}

func TestSubscribeNilAndEmptyStayDistinct(t *testing.T) {
	in := Spec{Sockets: []SocketSpec{{Name: "a"}, {Name: "b", Subscribe: []string{}}}}
	b, _ := json.Marshal(in)
	var out Spec
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Sockets[0].Subscribe != nil || out.Sockets[1].Subscribe == nil {
		t.Errorf("subscribe lists: %#v", out.Sockets)
	}
}

// fake is a Server that records calls and streams output.
type fake struct {
	mu     sync.Mutex
	calls  []string
	stop   chan struct{}
	health func(context.Context) error // nil: healthy
}

func (f *fake) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fake) Describe(context.Context) (*Description, error) {
	f.record("describe")
	return &Description{Protocol: ProtocolVersion, Kinds: []KindDesc{{Name: "upper", Life: "service"}}}, nil
}
func (f *fake) Bind(_ context.Context, s *Spec) (map[string][]string, error) {
	f.record("bind " + s.Name)
	if s.Kind == "bad" {
		return nil, fmt.Errorf("%s: kind %q is bad", s.Name, s.Kind)
	}
	return map[string][]string{"in": {"tcp://127.0.0.1:1234"}}, nil
}
func (f *fake) Connect(_ context.Context, eps map[string][]string) error {
	f.record("connect " + strings.Join(eps["out"], ","))
	return nil
}
func (f *fake) Ready(context.Context) error { f.record("ready"); return nil }
func (f *fake) Run(ctx context.Context, out io.Writer) error {
	for i := range 100 {
		fmt.Fprintf(out, "line %d\n", i)
	}
	select {
	case <-f.stop:
		fmt.Fprintln(out, "stopped")
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (f *fake) Stop(context.Context) error { close(f.stop); return nil }
func (f *fake) Health(ctx context.Context) error {
	if f.health == nil {
		return nil
	}
	return f.health(ctx)
}
func (f *fake) Check(_ context.Context, req *CheckRequest) (*CheckReply, error) {
	r := &CheckReply{}
	for _, c := range req.Configs {
		v, err := DecodeValue(c.Attrs)
		if err != nil {
			return nil, err
		}
		var ps []AttrProblem
		if c.Kind == "upper" && v.GetAttr("prefix").AsString() == "bad" {
			ps = append(ps, AttrProblem{Attr: "prefix", Msg: fmt.Sprintf("must not be %q (%s)", "bad", c.Name)})
		}
		r.Problems = append(r.Problems, ps)
	}
	return r, nil
}
func (f *fake) Stats(context.Context) (map[string]socket.Stats, error) {
	return map[string]socket.Stats{"in": {MsgsIn: 7}}, nil
}
func (f *fake) Tap(ctx context.Context, req *TapRequest, send func(*TapEvent) error) error {
	if req.Socket != "in" {
		return fmt.Errorf("no socket %q", req.Socket)
	}
	if err := send(&TapEvent{Attached: true}); err != nil {
		return err
	}
	if err := send(&TapEvent{Msg: true, Time: 42, Out: true, Frames: [][]byte{[]byte("a"), {}}, Skipped: 3}); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func (f *fake) Close(context.Context) error { f.record("close"); return errors.New("close failed") }

// TestServiceOverGRPC drives the hand-written service descriptor over a
// real gRPC connection (no go-plugin, no subprocess).
func TestServiceOverGRPC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	f := &fake{stop: make(chan struct{})}
	if err := (&GRPCPlugin{Impl: f}).GRPCServer(nil, srv); err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	raw, _ := (&GRPCPlugin{}).GRPCClient(ctx, nil, cc)
	c := raw.(*Client)

	d, err := c.Describe(ctx)
	if err != nil || d.Protocol != ProtocolVersion || d.Kinds[0].Name != "upper" {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	eps, err := c.Bind(ctx, &Spec{Name: "w[1]", Kind: "upper"})
	if err != nil || eps["in"][0] != "tcp://127.0.0.1:1234" {
		t.Fatalf("Bind = %v, %v", eps, err)
	}
	if _, err := c.Bind(ctx, &Spec{Name: "w[2]", Kind: "bad"}); err == nil || !strings.Contains(err.Error(), `w[2]: kind "bad" is bad`) {
		t.Errorf("Bind error = %v", err)
	}
	if err := c.Connect(ctx, map[string][]string{"out": {"tcp://a", "tcp://b"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := c.Stats(ctx)
	if err != nil || st["in"].MsgsIn != 7 {
		t.Fatalf("Stats = %v, %v", st, err)
	}
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, &out) }()
	time.Sleep(100 * time.Millisecond)
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := range 100 {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	want.WriteString("stopped\n")
	if out.String() != want.String() {
		t.Errorf("Run output = %q", out.String())
	}
	if err := c.Close(ctx); err == nil || !strings.Contains(err.Error(), "close failed") {
		t.Errorf("Close = %v", err)
	}
	f.mu.Lock()
	got := strings.Join(f.calls, "; ")
	f.mu.Unlock()
	if got != "describe; bind w[1]; bind w[2]; connect tcp://a,tcp://b; ready; close" {
		t.Errorf("calls = %s", got)
	}
}

// serveFake serves f over a real gRPC connection with desc (the service, or
// a variant of it) and returns a Client; everything stops at cleanup.
func serveFake(t *testing.T, f Server, desc *grpc.ServiceDesc) *Client {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	srv.RegisterService(desc, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return &Client{cc: cc}
}

// TestHealthOverGRPC: the node's verdict travels as a HealthStatus (not a
// gRPC error), and a Health that runs until its ctx is done still answers
// before the caller's deadline, because the service hands it an earlier one.
func TestHealthOverGRPC(t *testing.T) {
	const deadline = 500 * time.Millisecond
	for _, tc := range []struct {
		name   string
		health func(context.Context) error
		want   string // HealthStatus.Error
	}{
		{"ok", nil, ""},
		{"error text", func(context.Context) error { return errors.New("stuck on message 7 for 2m0s") }, "stuck on message 7 for 2m0s"},
		{"hangs past the deadline", func(ctx context.Context) error {
			<-ctx.Done() // e.g. plugins' Actor giving up on a node's Health
			return fmt.Errorf("Health did not return: %w", ctx.Err())
		}, "Health did not return: context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := serveFake(t, &fake{health: tc.health}, &serviceDesc)
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			st, err := c.Health(ctx)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("Health call failed after %v: %v", took, err)
			}
			if st.Error != tc.want {
				t.Errorf("Health = %+v, want error %q", st, tc.want)
			}
			if took >= deadline {
				t.Errorf("Health answered after %v, not before the caller's deadline %v", took, deadline)
			}
		})
	}
}

// TestHealthOfOlderPlugin: a plugin built before Health existed answers
// Unimplemented, which is healthy (its process answered); a plugin that
// does not answer at all is a failed call.
func TestHealthOfOlderPlugin(t *testing.T) {
	old := serviceDesc
	old.Methods = nil
	for _, m := range serviceDesc.Methods {
		if m.MethodName != "Health" {
			old.Methods = append(old.Methods, m)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := serveFake(t, &fake{}, &old).Health(ctx)
	if err != nil || st.Error != "" {
		t.Errorf("Health of an older plugin = %+v, %v; want healthy", st, err)
	}

	stuck := make(chan struct{})
	defer close(stuck)
	c := serveFake(t, &fake{health: func(context.Context) error { <-stuck; return nil }}, &serviceDesc)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if st, err := c.Health(short); err == nil {
		t.Errorf("Health of a plugin that never answers = %+v, want a failed call", st)
	}
}

// TestCheckOverGRPC: the configurations reach Server.Check and its answers
// come back in order; a plugin built before Check existed answers
// Unimplemented, which Client.Check reports as ErrUnsupported.
func TestCheckOverGRPC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := func(name, prefix string) CheckConfig {
		v, err := EncodeValue(cty.ObjectVal(map[string]cty.Value{"prefix": cty.StringVal(prefix)}))
		if err != nil {
			t.Fatal(err)
		}
		return CheckConfig{Kind: "upper", Name: name, Attrs: v}
	}
	req := &CheckRequest{Configs: []CheckConfig{cfg("a", "ok"), cfg("b[1]", "bad")}}
	r, err := serveFake(t, &fake{}, &serviceDesc).Check(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]AttrProblem{nil, {{Attr: "prefix", Msg: `must not be "bad" (b[1])`}}}
	if len(r.Problems) != 2 || len(r.Problems[0]) != 0 || len(r.Problems[1]) != 1 || r.Problems[1][0] != want[1][0] {
		t.Errorf("Check = %+v, want %+v", r.Problems, want)
	}

	old := serviceDesc
	old.Methods = nil
	for _, m := range serviceDesc.Methods {
		if m.MethodName != "Check" {
			old.Methods = append(old.Methods, m)
		}
	}
	if r, err := serveFake(t, &fake{}, &old).Check(ctx, req); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Check of an older plugin = %+v, %v; want ErrUnsupported", r, err)
	}
}

// TestTapOverGRPC: the Tap stream carries the attach event, then messages
// with their skip counts, until the caller cancels; a plugin without Tap
// (an older one) is ErrUnsupported; a refused tap is its error.
func TestTapOverGRPC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := serveFake(t, &fake{stop: make(chan struct{})}, &serviceDesc)
	tctx, tcancel := context.WithCancel(ctx)
	var got []TapEvent
	err := c.Tap(tctx, &TapRequest{Socket: "in", Ring: 4}, func(ev *TapEvent) {
		got = append(got, *ev)
		if len(got) == 2 {
			tcancel()
		}
	})
	tcancel()
	if err != nil {
		t.Fatalf("Tap = %v", err)
	}
	if len(got) != 2 || !got[0].Attached || !got[1].Msg || !got[1].Out || got[1].Time != 42 || got[1].Skipped != 3 ||
		len(got[1].Frames) != 2 || string(got[1].Frames[0]) != "a" || len(got[1].Frames[1]) != 0 {
		t.Errorf("events = %+v", got)
	}
	if err := c.Tap(ctx, &TapRequest{Socket: "nope"}, func(*TapEvent) {}); err == nil || !strings.Contains(err.Error(), `no socket "nope"`) {
		t.Errorf("Tap of an unknown socket = %v", err)
	}
	old := serviceDesc
	old.Streams = old.Streams[:1]
	oc := serveFake(t, &fake{stop: make(chan struct{})}, &old)
	if err := oc.Tap(ctx, &TapRequest{Socket: "in"}, func(*TapEvent) {}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Tap of an older plugin = %v, want ErrUnsupported", err)
	}
}
