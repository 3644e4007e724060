package builtin

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/internal/lockedbuf"
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

func TestRegisterRejectsDuplicates(t *testing.T) {
	var reg plugins.Registry
	if err := Register(&reg); err != nil {
		t.Fatal(err)
	}
	if err := Register(&reg); err == nil {
		t.Fatal("registering the built-ins twice succeeded")
	}
	for _, k := range reg.Kinds() {
		if k.Doc == "" {
			t.Errorf("%s has no Doc", k.Name)
		}
		for _, a := range k.Attrs {
			if a.Doc == "" || a.Required() {
				t.Errorf("%s.%s: doc %q required %v", k.Name, a.Name, a.Doc, a.Required())
			}
		}
		for _, s := range k.Sockets {
			if s.Doc == "" || len(s.Types) == 0 {
				t.Errorf("%s socket %s: doc %q types %v", k.Name, s.Name, s.Doc, s.Types)
			}
		}
		// Every kind builds from its defaults alone.
		attrs, err := k.Defaults(cty.NilVal)
		if err != nil {
			t.Errorf("%s: %v", k.Name, err)
			continue
		}
		if _, err := k.New(plugins.Config{Name: k.Name, Attrs: attrs}); err != nil {
			t.Errorf("%s: New with defaults: %v", k.Name, err)
		}
	}
}

func TestKindConfigErrorsNameTheAttribute(t *testing.T) {
	var reg plugins.Registry
	if err := Register(&reg); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind, attr string
		val        cty.Value
		want       string
	}{
		{"hello-server", "work", cty.StringVal("soon"), `attribute "work": invalid duration "soon"`},
		{"hello-client", "requests", cty.NumberIntVal(0), `attribute "requests": must be at least 1`},
		{"weather-publisher", "rate", cty.NumberIntVal(-1), `attribute "rate": must not be negative`},
		{"weather-client", "zip", cty.StringVal("NYC"), `attribute "zip": want 1 to 5 digits`},
		{"weather-client", "updates", cty.NumberIntVal(0), `attribute "updates": must be at least 1`},
		{"ventilator", "tasks", cty.NumberIntVal(0), `attribute "tasks": must be at least 1`},
		{"ventilator", "max_work", cty.StringVal("500us"), `attribute "max_work": must be at least 1ms`},
		{"ventilator", "max_work", cty.StringVal("-1s"), `attribute "max_work": duration "-1s" must not be negative`},
		{"sink", "tasks", cty.NumberIntVal(-3), `attribute "tasks": must be at least 1`},
		{"generate", "size", cty.NumberIntVal(-1), `attribute "size": must not be negative`},
		{"generate", "messages", cty.NumberIntVal(-1), `attribute "messages": must not be negative`},
		{"count", "expect", cty.NumberIntVal(-1), `attribute "expect": must not be negative`},
		{"print", "format", cty.StringVal("xml"), `attribute "format": want "text", "hex" or "json"`},
		{"hello-client", "requests", cty.NumberFloatVal(1.5), `attribute "requests": value must be a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.attr, func(t *testing.T) {
			k, _ := reg.Lookup(tt.kind)
			var sc socket.Context
			defer sc.Close()
			var socks []plugins.SocketSpec
			for _, d := range k.Sockets {
				if !d.Optional {
					socks = append(socks, plugins.SocketSpec{Name: d.Name, Type: d.Types[0]})
				}
			}
			_, err := plugins.NewActor(k, plugins.Spec{Name: "n[0]", Sockets: socks,
				Attrs: cty.ObjectVal(map[string]cty.Value{tt.attr: tt.val})}, &sc, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "n[0]: ") {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestKindChecks: every kind whose New rejects a configuration has a Check
// that rejects it first, with *plugins.AttrError values naming the
// attribute (so validation can point at it), and New says the same. The
// first four are the promises of issue 11 item 5.
func TestKindChecks(t *testing.T) {
	var reg plugins.Registry
	if err := Register(&reg); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind  string
		attrs map[string]cty.Value
		want  []plugins.AttrError // Msg: a substring
	}{
		{"generate", map[string]cty.Value{"size": cty.NumberFloatVal(1e12)}, []plugins.AttrError{{Attr: "size", Msg: "must be at most 64 MiB (67108864), got 1000000000000"}}},
		{"generate", map[string]cty.Value{"size": cty.NumberIntVal(-1)}, []plugins.AttrError{{Attr: "size", Msg: "must not be negative, got -1"}}},
		{"generate", map[string]cty.Value{"rate": cty.NumberIntVal(-5)}, []plugins.AttrError{{Attr: "rate", Msg: "must not be negative, got -5"}}},
		{"ventilator", map[string]cty.Value{"max_work": cty.StringVal("soon")}, []plugins.AttrError{{Attr: "max_work", Msg: `invalid duration "soon"`}}},
		// Every problem at once, not the first only.
		{"generate", map[string]cty.Value{"messages": cty.NumberIntVal(-1), "size": cty.NumberIntVal(-2), "rate": cty.NumberIntVal(-3)},
			[]plugins.AttrError{{Attr: "messages", Msg: "got -1"}, {Attr: "size", Msg: "got -2"}, {Attr: "rate", Msg: "got -3"}}},
		{"ventilator", map[string]cty.Value{"tasks": cty.NumberIntVal(0), "max_work": cty.StringVal("500us")},
			[]plugins.AttrError{{Attr: "tasks", Msg: "at least 1"}, {Attr: "max_work", Msg: "at least 1ms"}}},
		{"weather-client", map[string]cty.Value{"zip": cty.StringVal("NYC"), "updates": cty.NumberIntVal(0)},
			[]plugins.AttrError{{Attr: "zip", Msg: "1 to 5 digits"}, {Attr: "updates", Msg: "at least 1"}}},
		{"hello-server", map[string]cty.Value{"work": cty.StringVal("-1s")}, []plugins.AttrError{{Attr: "work", Msg: "must not be negative"}}},
		{"hello-client", map[string]cty.Value{"requests": cty.NumberFloatVal(1.5)}, []plugins.AttrError{{Attr: "requests", Msg: "whole number"}}},
		{"weather-publisher", map[string]cty.Value{"rate": cty.NumberIntVal(-1)}, []plugins.AttrError{{Attr: "rate", Msg: "must not be negative"}}},
		{"sink", map[string]cty.Value{"tasks": cty.NumberIntVal(0)}, []plugins.AttrError{{Attr: "tasks", Msg: "at least 1"}}},
		{"count", map[string]cty.Value{"expect": cty.NumberIntVal(-1)}, []plugins.AttrError{{Attr: "expect", Msg: "must not be negative"}}},
		{"print", map[string]cty.Value{"format": cty.StringVal("xml")}, []plugins.AttrError{{Attr: "format", Msg: `got "xml"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			k, _ := reg.Lookup(tt.kind)
			if k.Check == nil {
				t.Fatalf("kind %q has no Check", tt.kind)
			}
			attrs, err := k.Defaults(cty.ObjectVal(tt.attrs))
			if err != nil {
				t.Fatal(err)
			}
			cfg := plugins.Config{Name: "n", Attrs: attrs}
			err = k.Check(cfg)
			got := plugins.AttrErrors(err)
			if len(got) != len(tt.want) {
				t.Fatalf("Check = %v, want %d problems %+v", err, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if got[i].Attr != w.Attr || !strings.Contains(got[i].Msg, w.Msg) {
					t.Errorf("problem %d = %+v, want attribute %q with %q", i, *got[i], w.Attr, w.Msg)
				}
			}
			if _, nerr := k.New(cfg); nerr == nil || nerr.Error() != err.Error() {
				t.Errorf("New = %v, want the same error as Check: %v", nerr, err)
			}
		})
	}
	// Defaults pass every Check.
	for _, k := range reg.Kinds() {
		if k.Check == nil {
			continue
		}
		attrs, _ := k.Defaults(cty.NilVal)
		if err := k.Check(plugins.Config{Name: k.Name, Attrs: attrs}); err != nil {
			t.Errorf("%s: Check of the defaults: %v", k.Name, err)
		}
	}
}

func TestHello(t *testing.T) {
	for _, tr := range transports {
		for _, types := range [][2]socket.Type{{socket.REP, socket.REQ}, {socket.ROUTER, socket.REQ}, {socket.REP, socket.DEALER}, {socket.ROUTER, socket.DEALER}} {
			t.Run(fmt.Sprintf("%s/%s-%s", tr, types[0], types[1]), func(t *testing.T) {
				res := runTopology(t, 20*time.Second, []tnode{
					{name: "server", kind: "hello-server", sockets: []plugins.SocketSpec{sock("in", types[0], endpoint(t, tr, "in"), 0)}},
					{name: "client", kind: "hello-client", attrs: map[string]cty.Value{"requests": cty.NumberIntVal(3)},
						sockets: []plugins.SocketSpec{sock("out", types[1], "", 1)}, connect: map[string][]string{"out": {"server.in"}}},
				}, nil)
				if got, want := res.output("client"), "Received reply 0 [ World ]\nReceived reply 1 [ World ]\nReceived reply 2 [ World ]\n"; got != want {
					t.Errorf("client printed %q, want %q", got, want)
				}
				if got, want := res.output("server"), strings.Repeat("Received request: Hello\n", 3); got != want {
					t.Errorf("server printed %q, want %q", got, want)
				}
			})
		}
	}
}

func TestHelloServerWorkAndReply(t *testing.T) {
	res := runTopology(t, 20*time.Second, []tnode{
		{name: "server", kind: "hello-server", attrs: map[string]cty.Value{"reply": cty.StringVal("Mundo"), "work": cty.StringVal("20ms")},
			sockets: []plugins.SocketSpec{sock("in", socket.REP, endpoint(t, "inproc", "in"), 0)}},
		{name: "client", kind: "hello-client", attrs: map[string]cty.Value{"requests": cty.NumberIntVal(2), "message": cty.StringVal("Hola")},
			sockets: []plugins.SocketSpec{sock("out", socket.REQ, "", 1)}, connect: map[string][]string{"out": {"server.in"}}},
	}, nil)
	if got := res.output("client"); got != "Received reply 0 [ Mundo ]\nReceived reply 1 [ Mundo ]\n" {
		t.Errorf("client printed %q", got)
	}
	if got := res.output("server"); got != "Received request: Hola\nReceived request: Hola\n" {
		t.Errorf("server printed %q", got)
	}
}

func TestPipelineFairShare(t *testing.T) {
	const workers, tasks = 4, 100
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			nodes := []tnode{
				{name: "ventilator", kind: "ventilator",
					attrs: map[string]cty.Value{"tasks": cty.NumberIntVal(tasks), "max_work": cty.StringVal("4ms")},
					sockets: []plugins.SocketSpec{
						sock("out", socket.PUSH, endpoint(t, tr, "tasks"), workers),
						sock("sink", socket.PUSH, "", 1),
					},
					connect: map[string][]string{"sink": {"sink.in"}}},
				{name: "sink", kind: "sink", attrs: map[string]cty.Value{"tasks": cty.NumberIntVal(tasks)},
					sockets: []plugins.SocketSpec{sock("in", socket.PULL, endpoint(t, tr, "results"), workers+1)}},
			}
			for i := range workers {
				nodes = append(nodes, tnode{
					name: fmt.Sprintf("worker[%d]", i), kind: "worker",
					sockets: []plugins.SocketSpec{sock("in", socket.PULL, "", 1), sock("out", socket.PUSH, "", 1)},
					connect: map[string][]string{"in": {"ventilator.out"}, "out": {"sink.in"}},
				})
			}
			res := runTopology(t, 30*time.Second, nodes, nil)
			if !regexp.MustCompile(`^Total expected cost: \d+ msec\n$`).MatchString(res.output("ventilator")) {
				t.Errorf("ventilator printed %q", res.output("ventilator"))
			}
			if !regexp.MustCompile(`^Total elapsed time: \d+ msec\n$`).MatchString(res.output("sink")) {
				t.Errorf("sink printed %q", res.output("sink"))
			}
			total := uint64(0)
			for i := range workers {
				name := fmt.Sprintf("worker[%d]", i)
				got := res.stats[name]["in"].MsgsIn
				total += got
				// A fair share is 25% ± 5% of the tasks.
				if got < tasks*20/100 || got > tasks*30/100 {
					t.Errorf("%s got %d of %d tasks, want a fair share", name, got, tasks)
				}
				if out := res.output(name); out != "" {
					t.Errorf("%s printed %q", name, out)
				}
			}
			if total != tasks {
				t.Errorf("workers got %d tasks in all, want %d", total, tasks)
			}
			// Every result, and the start message unless every result
			// overtook it.
			if got := res.stats["sink"]["in"].MsgsIn; got != tasks+1 && got != tasks {
				t.Errorf("sink received %d messages, want %d", got, tasks+1)
			}
		})
	}
}

var averageRE = regexp.MustCompile(`^Average temperature for zipcode '(\d+)' was (-?\d+)F\n$`)

func checkAverage(t *testing.T, out, zip string) {
	t.Helper()
	m := averageRE.FindStringSubmatch(out)
	if m == nil || m[1] != zip {
		t.Fatalf("weather-client printed %q", out)
	}
	if temp, _ := strconv.Atoi(m[2]); temp < -80 || temp > 134 {
		t.Fatalf("average %d out of the publisher's range", temp)
	}
}

func TestWeather(t *testing.T) {
	for _, tr := range transports {
		for _, pt := range []socket.Type{socket.PUB, socket.XPUB} {
			t.Run(tr+"/"+string(pt), func(t *testing.T) {
				// The seed's default zip gets 1/99999 of the traffic; one
				// update keeps the race-enabled run short.
				res := runTopology(t, 60*time.Second, []tnode{
					{name: "publisher", kind: "weather-publisher", sockets: []plugins.SocketSpec{sock("out", pt, endpoint(t, tr, "weather"), 1)}},
					{name: "client", kind: "weather-client", attrs: map[string]cty.Value{"updates": cty.NumberIntVal(1)},
						sockets: []plugins.SocketSpec{sock("in", socket.SUB, "", 1)}, connect: map[string][]string{"in": {"publisher.out"}}},
				}, nil)
				checkAverage(t, res.output("client"), "10001")
			})
		}
	}
}

// The subscription filters: a print node subscribed to "99" sees only
// zipcodes 99000..99999, each line in the seed's "%05d %d %d" format.
func TestWeatherFilterAndFormat(t *testing.T) {
	updateRE := regexp.MustCompile(`^(\d{5}) (-?\d+) (\d+)$`)
	res := runTopology(t, 30*time.Second, []tnode{
		{name: "publisher", kind: "weather-publisher", sockets: []plugins.SocketSpec{sock("out", socket.PUB, endpoint(t, "tcp", "weather"), 2)}},
		{name: "print", kind: "print", sockets: []plugins.SocketSpec{{Name: "in", Type: socket.SUB, Subscribe: []string{"99"}, Expect: 1}},
			connect: map[string][]string{"in": {"publisher.out"}}},
		{name: "client", kind: "weather-client", attrs: map[string]cty.Value{"zip": cty.StringVal("1"), "updates": cty.NumberIntVal(50)},
			sockets: []plugins.SocketSpec{sock("in", socket.SUB, "", 1)}, connect: map[string][]string{"in": {"publisher.out"}}},
	}, func(r *result) bool { return r.out["print"].Lines() >= 20 && r.out["client"].Lines() >= 1 })
	checkAverage(t, res.output("client"), "1")
	for _, l := range strings.Split(strings.TrimSpace(res.output("print")), "\n") {
		m := updateRE.FindStringSubmatch(l)
		if m == nil || !strings.HasPrefix(m[1], "99") {
			t.Fatalf("print got %q, which the filter should have dropped or is malformed", l)
		}
		temp, _ := strconv.Atoi(m[2])
		hum, _ := strconv.Atoi(m[3])
		if temp < -80 || temp > 134 || hum < 10 || hum > 59 {
			t.Fatalf("update %q out of range", l)
		}
	}
}

func TestProxyStreamerWithCapture(t *testing.T) {
	const n = 200
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			res := runTopology(t, 30*time.Second, []tnode{
				{name: "gen", kind: "generate", attrs: map[string]cty.Value{"messages": cty.NumberIntVal(n)},
					sockets: []plugins.SocketSpec{sock("out", socket.PUSH, "", 1)}, connect: map[string][]string{"out": {"proxy.frontend"}}},
				{name: "proxy", kind: "proxy", sockets: []plugins.SocketSpec{
					sock("frontend", socket.PULL, endpoint(t, tr, "front"), 0),
					sock("backend", socket.PUSH, endpoint(t, tr, "back"), 1),
					sock("capture", socket.PUSH, endpoint(t, tr, "capture"), 1),
				}},
				{name: "count", kind: "count", attrs: map[string]cty.Value{"expect": cty.NumberIntVal(n)},
					sockets: []plugins.SocketSpec{sock("in", socket.PULL, "", 1)}, connect: map[string][]string{"in": {"proxy.backend"}}},
				{name: "captured", kind: "count", attrs: map[string]cty.Value{"expect": cty.NumberIntVal(n)},
					sockets: []plugins.SocketSpec{sock("in", socket.PULL, "", 1)}, connect: map[string][]string{"in": {"proxy.capture"}}},
			}, nil)
			for _, c := range []string{"count", "captured"} {
				if !strings.HasPrefix(res.output(c), fmt.Sprintf("Received %d messages in ", n)) {
					t.Errorf("%s printed %q", c, res.output(c))
				}
			}
		})
	}
}

func TestProxyQueue(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			nodes := []tnode{
				{name: "proxy", kind: "proxy", sockets: []plugins.SocketSpec{
					sock("frontend", socket.ROUTER, endpoint(t, tr, "front"), 0),
					sock("backend", socket.DEALER, endpoint(t, tr, "back"), 2),
				}},
			}
			for i := range 2 {
				nodes = append(nodes,
					tnode{name: fmt.Sprintf("client[%d]", i), kind: "hello-client", attrs: map[string]cty.Value{"requests": cty.NumberIntVal(5)},
						sockets: []plugins.SocketSpec{sock("out", socket.REQ, "", 1)}, connect: map[string][]string{"out": {"proxy.frontend"}}},
					tnode{name: fmt.Sprintf("server[%d]", i), kind: "hello-server",
						sockets: []plugins.SocketSpec{sock("in", socket.REP, "", 1)}, connect: map[string][]string{"in": {"proxy.backend"}}},
				)
			}
			res := runTopology(t, 30*time.Second, nodes, nil)
			requests := 0
			for i := range 2 {
				var want strings.Builder
				for j := range 5 {
					fmt.Fprintf(&want, "Received reply %d [ World ]\n", j)
				}
				if got := res.output(fmt.Sprintf("client[%d]", i)); got != want.String() {
					t.Errorf("client[%d] printed %q", i, got)
				}
				requests += strings.Count(res.output(fmt.Sprintf("server[%d]", i)), "Received request: Hello\n")
			}
			if requests != 10 {
				t.Errorf("servers saw %d requests, want 10", requests)
			}
		})
	}
}

// The forwarder passes subscriptions upstream (XPUB -> XSUB -> PUB) and
// updates downstream.
func TestProxyForwarder(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			res := runTopology(t, 30*time.Second, []tnode{
				{name: "publisher", kind: "weather-publisher", sockets: []plugins.SocketSpec{sock("out", socket.PUB, endpoint(t, tr, "weather"), 1)}},
				{name: "proxy", kind: "proxy", sockets: []plugins.SocketSpec{
					sock("frontend", socket.XSUB, "", 1),
					sock("backend", socket.XPUB, endpoint(t, tr, "back"), 1),
				}, connect: map[string][]string{"frontend": {"publisher.out"}}},
				{name: "client", kind: "weather-client", attrs: map[string]cty.Value{"zip": cty.StringVal("2"), "updates": cty.NumberIntVal(20)},
					sockets: []plugins.SocketSpec{sock("in", socket.SUB, "", 1)}, connect: map[string][]string{"in": {"proxy.backend"}}},
			}, nil)
			checkAverage(t, res.output("client"), "2")
			// Subscriptions reached the publisher, so it filtered: the proxy
			// forwarded far fewer updates than the publisher made... unless
			// the publisher filters by itself, which is the point.
			if st := res.stats["publisher"]["out"]; st.Subscribers != 1 {
				t.Errorf("publisher stats %+v: want 1 subscriber (the proxy)", st)
			}
		})
	}
}

func TestGenerateCount(t *testing.T) {
	const n = 500
	countRE := regexp.MustCompile(fmt.Sprintf(`^Received %d messages in \d+\.\d{3} s \(\d+ msgs/s\)\n$`, n))
	genRE := regexp.MustCompile(fmt.Sprintf(`^Sent %d messages of 16 bytes in \d+\.\d{3} s \(\d+ msgs/s\)\n$`, n))
	for _, tr := range transports {
		for _, types := range [][2]socket.Type{{socket.PUSH, socket.PULL}, {socket.PUB, socket.SUB}, {socket.DEALER, socket.DEALER}, {socket.PAIR, socket.PAIR}} {
			t.Run(fmt.Sprintf("%s/%s-%s", tr, types[0], types[1]), func(t *testing.T) {
				res := runTopology(t, 30*time.Second, []tnode{
					{name: "gen", kind: "generate", attrs: map[string]cty.Value{"messages": cty.NumberIntVal(n)},
						sockets: []plugins.SocketSpec{sock("out", types[0], endpoint(t, tr, "gen"), 1)}},
					{name: "count", kind: "count", attrs: map[string]cty.Value{"expect": cty.NumberIntVal(n)},
						sockets: []plugins.SocketSpec{sock("in", types[1], "", 1)}, connect: map[string][]string{"in": {"gen.out"}}},
				}, nil)
				if !countRE.MatchString(res.output("count")) {
					t.Errorf("count printed %q", res.output("count"))
				}
				if !genRE.MatchString(res.output("gen")) {
					t.Errorf("generate printed %q", res.output("gen"))
				}
				if got := res.stats["count"]["in"].BytesIn; got != n*16 {
					t.Errorf("count received %d bytes, want %d", got, n*16)
				}
			})
		}
	}
}

func TestGenerateRate(t *testing.T) {
	// 30 messages at 300 msgs/s take about 0.1 s.
	start := time.Now()
	runTopology(t, 30*time.Second, []tnode{
		{name: "gen", kind: "generate", attrs: map[string]cty.Value{"messages": cty.NumberIntVal(30), "rate": cty.NumberIntVal(300), "size": cty.NumberIntVal(3)},
			sockets: []plugins.SocketSpec{sock("out", socket.PUSH, endpoint(t, "inproc", "gen"), 1)}},
		{name: "count", kind: "count", attrs: map[string]cty.Value{"expect": cty.NumberIntVal(30)},
			sockets: []plugins.SocketSpec{sock("in", socket.PULL, "", 1)}, connect: map[string][]string{"in": {"gen.out"}}},
	}, nil)
	if el := time.Since(start); el < 90*time.Millisecond {
		t.Errorf("30 messages at 300/s took only %v", el)
	}
}

// count with expect = 0 runs until stopped, then prints what it saw.
func TestCountForeverPrintsOnStop(t *testing.T) {
	res := runTopology(t, 30*time.Second, []tnode{
		{name: "gen", kind: "generate", attrs: map[string]cty.Value{"messages": cty.NumberIntVal(10)},
			sockets: []plugins.SocketSpec{sock("out", socket.PUSH, endpoint(t, "inproc", "gen"), 1)}},
		{name: "count", kind: "count", sockets: []plugins.SocketSpec{sock("in", socket.PULL, "", 1)}, connect: map[string][]string{"in": {"gen.out"}}},
	}, func(r *result) bool { return r.actors["count"].Stats()["in"].MsgsIn == 10 })
	if out := res.output("count"); !strings.HasPrefix(out, "Received 10 messages in ") {
		t.Errorf("count printed %q", out)
	}
}

func TestPrint(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			res := runTopology(t, 30*time.Second, []tnode{
				{name: "gen", kind: "generate", attrs: map[string]cty.Value{"messages": cty.NumberIntVal(3), "size": cty.NumberIntVal(4)},
					sockets: []plugins.SocketSpec{sock("out", socket.PUSH, endpoint(t, tr, "gen"), 1)}},
				{name: "print", kind: "print", sockets: []plugins.SocketSpec{sock("in", socket.PULL, "", 1)}, connect: map[string][]string{"in": {"gen.out"}}},
			}, func(r *result) bool { return r.out["print"].Lines() >= 3 })
			if got := res.output("print"); got != "abcd\nabcd\nabcd\n" {
				t.Errorf("print printed %q", got)
			}
		})
	}
}

func TestFormatMsg(t *testing.T) {
	m := socket.Msg{[]byte("id"), {}, []byte("héllo"), {0xff, 0x00, 'a'}}
	for _, tt := range []struct{ format, want string }{
		{"text", `id |  | héllo | 0xff0061`},
		{"hex", `6964 |  | 68c3a96c6c6f | ff0061`},
		{"json", `["id","","héllo",{"base64":"/wBh"}]`},
	} {
		if got := formatMsg(tt.format, m); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.format, got, tt.want)
		}
	}
	if got := formatMsg("text", socket.Msg{[]byte("tab\there\n")}); got != "0x"+"7461620968657265"+"0a" {
		t.Errorf("control character: got %q", got)
	}
}

// Results that overtake the ventilator's start message are counted; the
// late start message is not.
func TestSinkStartMessageOvertaken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var reg plugins.Registry
	if err := Register(&reg); err != nil {
		t.Fatal(err)
	}
	var sc socket.Context
	defer sc.Close()
	var out lockedbuf.Buffer
	k, _ := reg.Lookup("sink")
	a, err := plugins.NewActor(k, plugins.Spec{Name: "sink", Attrs: cty.ObjectVal(map[string]cty.Value{"tasks": cty.NumberIntVal(3)}),
		Sockets: []plugins.SocketSpec{sock("in", socket.PULL, "inproc://"+t.Name(), 0)}}, &sc, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	push, err := sc.NewSocket(socket.PUSH, socket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer push.Close()
	if err := push.Connect("inproc://" + t.Name()); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"", "", "0", ""} {
		if err := push.Send(ctx, socket.Msg{[]byte(m)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.Stats()["in"].MsgsIn; got != 4 {
		t.Errorf("sink read %d messages, want all 4 (3 results and the start)", got)
	}
	if !regexp.MustCompile(`^Total elapsed time: \d+ msec\n$`).MatchString(out.String()) {
		t.Errorf("sink printed %q", out.String())
	}
}

// TestGenerateLargeMessages: large messages arrive whole, with the
// generated pattern, and batches stay small (1024 messages of 4 MiB would
// be one 4 GiB allocation).
func TestGenerateLargeMessages(t *testing.T) {
	const n, size = 3, 4 << 20
	res := runTopology(t, 30*time.Second, []tnode{
		{name: "gen", kind: "generate", attrs: map[string]cty.Value{"messages": cty.NumberIntVal(n), "size": cty.NumberIntVal(size)},
			sockets: []plugins.SocketSpec{sock("out", socket.PUSH, endpoint(t, "inproc", "gen"), 1)}},
		{name: "count", kind: "count", attrs: map[string]cty.Value{"expect": cty.NumberIntVal(n)},
			sockets: []plugins.SocketSpec{sock("in", socket.PULL, "", 1)}, connect: map[string][]string{"in": {"gen.out"}}},
	}, nil)
	if got := res.stats["count"]["in"].BytesIn; got != n*size {
		t.Errorf("count received %d bytes, want %d", got, n*size)
	}
}

// TestGenerateCountReuse: from 1 KiB up (4 KiB over inproc) generate sends from reused frame
// buffers (AllocFrame, SendRelease) and count gives every message back
// (Release); over tcp and inproc every byte still arrives.
func TestGenerateCountReuse(t *testing.T) {
	for _, tc := range []struct {
		tr   string
		size int
	}{{"tcp", 1 << 10}, {"tcp", 64 << 10}, {"inproc", 1 << 10}, {"inproc", 64 << 10}} {
		tr, size := tc.tr, tc.size
		t.Run(fmt.Sprintf("%s/%d", tr, size), func(t *testing.T) {
			const n = 300
			res := runTopology(t, 30*time.Second, []tnode{
				{name: "gen", kind: "generate", attrs: map[string]cty.Value{"messages": cty.NumberIntVal(n), "size": cty.NumberIntVal(int64(size))},
					sockets: []plugins.SocketSpec{sock("out", socket.PUSH, endpoint(t, tr, "gen"), 1)}},
				{name: "count", kind: "count", attrs: map[string]cty.Value{"expect": cty.NumberIntVal(n)},
					sockets: []plugins.SocketSpec{sock("in", socket.PULL, "", 1)}, connect: map[string][]string{"in": {"gen.out"}}},
			}, nil)
			if got := res.stats["count"]["in"].BytesIn; got != uint64(n*size) {
				t.Errorf("count received %d bytes, want %d", got, n*size)
			}
		})
	}
}
